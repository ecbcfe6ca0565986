package profile

import (
	"path"
	"strings"
	"time"

	"github.com/vigilsec/vigil/runtime/event"
)

// Hasher identifies an executable by its path inside the container: the
// file it resolves to after symlinks (also inside the container) and the
// hex SHA-256 of its content.
type Hasher func(path string) (target, sha256 string, err error)

// Learner builds a profile from the events of one container.
type Learner struct {
	p          Profile
	hash       Hasher
	table      *SyscallTable
	exes       map[Executable]bool
	dirs       map[string]bool
	listen     map[Port]bool
	peers      map[Peer]bool
	syscalls   map[string]bool
	caps       map[string]bool // nil until the sensor reports capabilities
	lastChange time.Time
}

// NewLearner starts a profile for container id running image. hash may be
// nil (no hashes recorded); table may be nil when syscalls are not observed.
func NewLearner(id, image string, hash Hasher, table *SyscallTable) *Learner {
	now := time.Now()
	l := &Learner{
		p:     Profile{Schema: Schema, Container: id, Image: image, Learned: Learned{Start: now}},
		hash:  hash,
		table: table,
		exes:  map[Executable]bool{}, dirs: map[string]bool{}, listen: map[Port]bool{},
		peers: map[Peer]bool{}, syscalls: map[string]bool{},
		lastChange: now,
	}
	if table != nil {
		l.p.Learned.Arch = table.Arch
	}
	return l
}

// LastChange is when the profile last grew.
func (l *Learner) LastChange() time.Time { return l.lastChange }

func (l *Learner) changed(added bool) bool {
	if added {
		l.lastChange = time.Now()
	}
	return added
}

// Observe adds what ev shows to the profile and reports whether it grew.
func (l *Learner) Observe(ev event.Event) bool {
	l.p.Learned.Events++
	switch {
	case ev.Kind == event.Exec:
		added := l.addExe(ev.Path)
		if ev.Interp != "" && ev.Interp != ev.Path {
			added = l.addExe(ev.Interp) || added
		}
		return l.changed(added)
	case ev.Kind.Writes():
		d := WriteDirOf(ev)
		return d != "" && l.changed(add(l.dirs, d))
	case ev.Kind == event.Listen || ev.Kind == event.Accept || ev.Kind == event.Bind && ev.Proto == "udp":
		if (ev.Proto != "tcp" && ev.Proto != "udp") || ev.Addr.Port() == 0 {
			return false
		}
		return l.changed(add(l.listen, Port{Proto: ev.Proto, Port: ev.Addr.Port()}))
	case ev.Kind == event.Connect:
		pe, ok := PeerOf(ev)
		return ok && l.changed(add(l.peers, pe))
	}
	return false
}

func (l *Learner) addExe(p string) bool {
	if p == "" {
		return false
	}
	e := Executable{Path: path.Clean(p)}
	if l.hash != nil {
		// A file gone already is still learned, by path only.
		if target, sum, err := l.hash(e.Path); err == nil {
			e.SHA256 = sum
			if target != e.Path {
				e.Target = target
			}
		}
	}
	return add(l.exes, e)
}

// AddSyscalls adds syscall numbers and reports whether the set grew.
// Numbers the table does not know are kept as "syscall_N" so they are not
// lost; Validate accepts that form.
func (l *Learner) AddSyscalls(nrs []int) bool {
	if l.table == nil {
		return false
	}
	added := false
	for _, nr := range nrs {
		added = add(l.syscalls, l.table.NameOrNumber(nr)) || added
	}
	return l.changed(added)
}

// AddCapabilities adds capability numbers and reports whether the set
// grew. The first call, even with none, says that capabilities are
// observed: the profile then lists them, possibly as an empty list.
func (l *Learner) AddCapabilities(nrs []int) bool {
	if l.caps == nil {
		l.caps = map[string]bool{}
	}
	added := false
	for _, nr := range nrs {
		added = add(l.caps, CapabilityName(nr)) || added
	}
	return l.changed(added)
}

// Profile returns the profile learned so far.
func (l *Learner) Profile() *Profile {
	p := &Profile{
		Schema: l.p.Schema, Container: l.p.Container, Image: l.p.Image, Learned: l.p.Learned,
		Executables: keys(l.exes), WriteDirs: keys(l.dirs), Listen: keys(l.listen), Peers: keys(l.peers),
	}
	p.Learned.End = time.Now()
	if l.table != nil {
		p.Syscalls = keys(l.syscalls)
	}
	if l.caps != nil {
		p.Capabilities = keys(l.caps)
	}
	p.normalize()
	return p
}

func add[K comparable](m map[K]bool, k K) bool {
	if m[k] {
		return false
	}
	m[k] = true
	return true
}

func keys[K comparable](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// WriteDir is the directory a write to p counts against, "" when p is
// relative (the sensor could not resolve the process's directory).
func WriteDir(p string) string {
	if !strings.HasPrefix(p, "/") {
		return ""
	}
	return path.Dir(path.Clean(p))
}

// WriteDirOf is the directory a writing event counts against: the
// directory itself when its entries changed, otherwise WriteDir(ev.Path).
func WriteDirOf(ev event.Event) string {
	if ev.Kind == event.DirModify {
		if !strings.HasPrefix(ev.Path, "/") {
			return ""
		}
		return path.Clean(ev.Path)
	}
	return WriteDir(ev.Path)
}

// PeerOf returns the outbound peer of a Connect event; ok is false for
// disconnects (AF_UNSPEC) and sockets of other families.
func PeerOf(ev event.Event) (Peer, bool) {
	switch ev.Proto {
	case "unix":
		return Peer{Proto: "unix", Addr: ev.Path}, ev.Path != ""
	case "tcp", "udp":
		if !ev.Addr.IsValid() || ev.Addr.Port() == 0 {
			return Peer{}, false
		}
		return Peer{Proto: ev.Proto, Addr: ev.Addr.String()}, true
	}
	return Peer{}, false
}
