// Package profile holds what a container normally does — the executables it
// runs, where it writes, the ports it listens on, the peers it connects to,
// the syscalls it makes and the capabilities it uses — learned from runtime events, stored as JSON,
// and used to detect deviations and to generate confinement policies.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Schema identifies the profile format; Load rejects any other.
const Schema = "vigil.dev/runtime-profile/v1"

// Profile is a container's learned normal behaviour. Lists are sorted and
// free of duplicates.
type Profile struct {
	Schema    string  `json:"schema"`
	Container string  `json:"container,omitempty"`
	Image     string  `json:"image,omitempty"`
	Learned   Learned `json:"learned"`
	// Executables run, with the SHA-256 of the file in the container's root.
	Executables []Executable `json:"executables"`
	// WriteDirs are directories in which files were created, written,
	// removed, renamed or chmod'ed. A write is allowed in exactly these
	// directories, not in their subdirectories.
	WriteDirs []string `json:"writeDirs"`
	Listen    []Port   `json:"listen"`
	Peers     []Peer   `json:"peers"`
	// Syscalls are names (for the architecture in Learned.Arch). Nil when
	// the sensor could not observe them: then no syscall deviation is
	// reported and no seccomp profile can be generated.
	Syscalls []string `json:"syscalls"`
	// Capabilities are the capabilities (CAP_* names) the kernel granted
	// when the container's processes asked. Nil when the sensor could not
	// observe them: then no capability deviation is reported and generated
	// policies leave capabilities alone.
	Capabilities []string `json:"capabilities"`

	once sync.Once
	idx  index
}

// Learned records how a profile was made.
type Learned struct {
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Backend string    `json:"backend"` // sensor backend: "ebpf" or "fanotify"
	Arch    string    `json:"arch"`    // syscall table used, e.g. "x86_64"
	Events  uint64    `json:"events"`
	Drops   uint64    `json:"drops"` // events lost while learning: the profile may be incomplete
}

// Executable is a program the container ran.
type Executable struct {
	Path string `json:"path"` // as executed, inside the container
	// Target is the file Path resolved to when it differs (a symlink such
	// as /bin/sh -> /bin/busybox): what AppArmor and fanotify see.
	Target string `json:"target,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // of the file it resolved to
}

// Port is a listening socket.
type Port struct {
	Proto string `json:"proto"` // "tcp" or "udp"
	Port  uint16 `json:"port"`
}

// Peer is an outbound connection's destination.
type Peer struct {
	Proto string `json:"proto"` // "tcp", "udp" or "unix"
	// Addr is "ip:port" (IPv6 in brackets) or, for unix, the socket path.
	Addr string `json:"addr"`
}

func (p Port) String() string { return fmt.Sprintf("%s/%d", p.Proto, p.Port) }
func (p Peer) String() string { return p.Proto + ":" + p.Addr }

// maxProfile bounds the size of a profile file.
const maxProfile = 16 << 20

// Load reads and validates a profile file.
func Load(file string) (*Profile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("load profile: %w", err)
	}
	defer f.Close()
	p, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("load profile %s: %w", file, err)
	}
	return p, nil
}

// Parse decodes and validates a profile. Unknown fields are errors: a typo
// in a hand-edited profile must not silently widen or narrow it.
func Parse(r io.Reader) (*Profile, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxProfile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxProfile {
		return nil, fmt.Errorf("profile larger than %d bytes", maxProfile)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not a JSON profile: at byte %d: %w", se.Offset, err)
		}
		return nil, fmt.Errorf("decode profile: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode profile: trailing data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

var syscallName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate checks every entry and names the first bad one.
func (p *Profile) Validate() error {
	if p.Schema != Schema {
		return fmt.Errorf("profile schema %q: want %q", p.Schema, Schema)
	}
	for i, e := range p.Executables {
		if !absClean(e.Path) {
			return fmt.Errorf("executables[%d]: path %q is not an absolute clean path", i, e.Path)
		}
		if e.Target != "" && !absClean(e.Target) {
			return fmt.Errorf("executables[%d] (%s): target %q is not an absolute clean path", i, e.Path, e.Target)
		}
		if e.SHA256 != "" && !isHex(e.SHA256, 64) {
			return fmt.Errorf("executables[%d] (%s): sha256 %q is not 64 hex digits", i, e.Path, e.SHA256)
		}
	}
	for i, d := range p.WriteDirs {
		if !absClean(d) {
			return fmt.Errorf("writeDirs[%d]: %q is not an absolute clean path", i, d)
		}
	}
	for i, l := range p.Listen {
		if l.Proto != "tcp" && l.Proto != "udp" {
			return fmt.Errorf("listen[%d]: proto %q: want tcp or udp", i, l.Proto)
		}
		if l.Port == 0 {
			return fmt.Errorf("listen[%d]: port 0", i)
		}
	}
	for i, pe := range p.Peers {
		switch pe.Proto {
		case "tcp", "udp":
			if _, err := netip.ParseAddrPort(pe.Addr); err != nil {
				return fmt.Errorf("peers[%d]: %w", i, err)
			}
		case "unix":
			if pe.Addr == "" {
				return fmt.Errorf("peers[%d]: empty unix socket path", i)
			}
		default:
			return fmt.Errorf("peers[%d]: proto %q: want tcp, udp or unix", i, pe.Proto)
		}
	}
	for i, s := range p.Syscalls {
		if !syscallName.MatchString(s) {
			return fmt.Errorf("syscalls[%d]: %q is not a syscall name", i, s)
		}
	}
	for i, c := range p.Capabilities {
		if err := validCapability(c); err != nil {
			return fmt.Errorf("capabilities[%d]: %w", i, err)
		}
	}
	return nil
}

func absClean(p string) bool { return strings.HasPrefix(p, "/") && path.Clean(p) == p }

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Write encodes the profile as indented JSON.
func (p *Profile) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// index makes lookups O(1); a loaded profile is not modified afterwards.
type index struct {
	exes     map[string][]string // path -> hashes
	dirs     map[string]bool
	listen   map[Port]bool
	peers    map[Peer]bool
	syscalls map[string]bool
	caps     map[string]bool
}

func (p *Profile) index() *index {
	p.once.Do(func() {
		x := index{exes: map[string][]string{}, dirs: map[string]bool{}, listen: map[Port]bool{}, peers: map[Peer]bool{},
			syscalls: map[string]bool{}, caps: map[string]bool{}}
		for _, e := range p.Executables {
			x.exes[e.Path] = append(x.exes[e.Path], e.SHA256)
		}
		for _, d := range p.WriteDirs {
			x.dirs[d] = true
		}
		for _, l := range p.Listen {
			x.listen[l] = true
		}
		for _, pe := range p.Peers {
			x.peers[pe] = true
		}
		for _, s := range p.Syscalls {
			x.syscalls[s] = true
		}
		for _, c := range p.Capabilities {
			x.caps[c] = true
		}
		p.idx = x
	})
	return &p.idx
}

// KnownExecutable reports whether path was learned and, when sha256 is
// given and the profile recorded one, whether the content is the same.
func (p *Profile) KnownExecutable(path, sha256 string) (known, sameContent bool) {
	hashes, ok := p.index().exes[path]
	if !ok {
		return false, false
	}
	if sha256 == "" {
		return true, true
	}
	for _, h := range hashes {
		if h == "" || h == sha256 {
			return true, true
		}
	}
	return true, false
}

// KnownWriteDir reports whether writing in dir was learned.
func (p *Profile) KnownWriteDir(dir string) bool { return p.index().dirs[dir] }

// KnownListen reports whether the port was learned.
func (p *Profile) KnownListen(l Port) bool { return p.index().listen[l] }

// KnownPeer reports whether the peer was learned.
func (p *Profile) KnownPeer(pe Peer) bool { return p.index().peers[pe] }

// KnownSyscall reports whether the syscall was learned. With no syscall set
// (the sensor could not observe them) every syscall is known.
func (p *Profile) KnownSyscall(name string) bool {
	return p.Syscalls == nil || p.index().syscalls[name]
}

// KnownCapability reports whether the capability (a CAP_* name) was
// learned. With no capability set (the sensor could not observe them)
// every capability is known.
func (p *Profile) KnownCapability(name string) bool {
	return p.Capabilities == nil || p.index().caps[name]
}

// normalize sorts every list and removes duplicates.
func (p *Profile) normalize() {
	slices.SortFunc(p.Executables, func(a, b Executable) int {
		return strings.Compare(a.Path+"\x00"+a.SHA256, b.Path+"\x00"+b.SHA256)
	})
	p.Executables = slices.Compact(p.Executables)
	slices.Sort(p.WriteDirs)
	p.WriteDirs = slices.Compact(p.WriteDirs)
	slices.SortFunc(p.Listen, func(a, b Port) int {
		return strings.Compare(a.Proto, b.Proto)*65536 + int(a.Port) - int(b.Port)
	})
	p.Listen = slices.Compact(p.Listen)
	slices.SortFunc(p.Peers, func(a, b Peer) int { return strings.Compare(a.String(), b.String()) })
	p.Peers = slices.Compact(p.Peers)
	if p.Syscalls != nil {
		slices.Sort(p.Syscalls)
		p.Syscalls = slices.Compact(p.Syscalls)
	}
	if p.Capabilities != nil {
		slices.Sort(p.Capabilities)
		p.Capabilities = slices.Compact(p.Capabilities)
	}
}
