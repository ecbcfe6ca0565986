//go:build linux

// Package container finds the containers running on this host and maps
// their mount namespaces — the key the runtime sensor reports — to container
// ids and images.
//
// It reads the state directories of OCI runtimes: runc's own root
// (/run/runc, also what CRI-O uses), the roots containerd and Docker give
// runc (/run/containerd/runc/<namespace>, /run/docker/runtime-runc/moby).
// Image names come from the bundle's config.json annotations, or Docker's
// container config, best effort.
package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Errors callers match on.
var (
	ErrNotFound   = errors.New("container not found")
	ErrNotRunning = errors.New("container is not running")
)

// Container is a running container as this host sees it.
type Container struct {
	ID      string
	Runtime string // state root it was found in, e.g. "/run/runc"
	Image   string // image reference, "" when no source names it
	InitPID int
	// StartTime is the init process's start time in clock ticks after boot
	// (/proc/PID/stat field 22); with InitPID it identifies the process
	// across PID reuse.
	StartTime   uint64
	MntNS       uint32 // mount namespace inode of the init process
	Rootfs      string // host path of the root file system
	Bundle      string
	Cgroup      string // host path of its cgroup v2 directory, "" if none
	Annotations map[string]string
}

// DefaultRoots are the runtime state roots searched by List. A glob is
// expanded.
var DefaultRoots = []string{
	"/run/runc",
	"/run/containerd/runc/*",
	"/run/docker/runtime-runc/*",
}

// List returns the running containers under roots (DefaultRoots when none).
// Containers whose init has exited, or whose PID now belongs to another
// process, are left out. A state file that does not parse is an error
// naming it, unless at least one container was found: state directories
// are written concurrently by runtimes and one torn file must not hide the
// rest.
func List(roots ...string) ([]Container, error) {
	if len(roots) == 0 {
		roots = DefaultRoots
	}
	var (
		out      []Container
		firstErr error
	)
	for _, pattern := range roots {
		dirs, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("state root %q: %w", pattern, err)
		}
		for _, root := range dirs {
			entries, err := os.ReadDir(root)
			if err != nil {
				continue // runtime not installed or not running
			}
			for _, e := range entries {
				if !e.IsDir() {
					continue
				}
				c, err := load(root, e.Name())
				switch {
				case err == nil:
					out = append(out, c)
				case errors.Is(err, ErrNotRunning) || errors.Is(err, fs.ErrNotExist):
				case firstErr == nil:
					firstErr = err
				}
			}
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Find returns the running container whose id is id, or starts with id when
// that prefix is unique.
func Find(id string, roots ...string) (Container, error) {
	if id == "" {
		return Container{}, fmt.Errorf("find container: empty id")
	}
	all, err := List(roots...)
	if err != nil {
		return Container{}, fmt.Errorf("find container %s: %w", id, err)
	}
	var match []Container
	for _, c := range all {
		if c.ID == id {
			return c, nil
		}
		if strings.HasPrefix(c.ID, id) {
			match = append(match, c)
		}
	}
	switch len(match) {
	case 0:
		return Container{}, fmt.Errorf("find container %s: %w (or %w)", id, ErrNotFound, ErrNotRunning)
	case 1:
		return match[0], nil
	}
	return Container{}, fmt.Errorf("find container %s: prefix matches %d containers", id, len(match))
}

// Alive reports, with an error saying why not, whether the container's init
// is still the process it was: same PID and same start time.
func (c Container) Alive() error {
	st, err := startTime(c.InitPID)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.ID, ErrNotRunning)
	}
	if st != c.StartTime {
		return fmt.Errorf("container %s: PID %d was reused by another process: %w", c.ID, c.InitPID, ErrNotRunning)
	}
	return nil
}

// maxStateFile bounds what is read from a runtime's state directory.
const maxStateFile = 8 << 20

// runcState is the subset of runc's libcontainer state.json used here.
type runcState struct {
	ID          string            `json:"id"`
	InitPID     int               `json:"init_process_pid"`
	InitStart   uint64            `json:"init_process_start"`
	CgroupPaths map[string]string `json:"cgroup_paths"`
	Config      struct {
		Rootfs string   `json:"rootfs"`
		Labels []string `json:"labels"`
	} `json:"config"`
}

func load(root, id string) (Container, error) {
	p := filepath.Join(root, id, "state.json")
	var st runcState
	if err := readJSON(p, &st); err != nil {
		return Container{}, err
	}
	if st.ID == "" || st.InitPID <= 0 {
		return Container{}, fmt.Errorf("runtime state %s: no id or init pid", p)
	}
	c := Container{
		ID: st.ID, Runtime: root, InitPID: st.InitPID, StartTime: st.InitStart,
		Rootfs: st.Config.Rootfs, Annotations: map[string]string{},
	}
	if err := c.Alive(); err != nil {
		return Container{}, err
	}
	ns, err := MntNS(c.InitPID)
	if err != nil {
		return Container{}, fmt.Errorf("container %s: %w", c.ID, err)
	}
	c.MntNS = ns
	// runc puts cgroup v2 (or the hybrid "unified" hierarchy) under "".
	c.Cgroup = st.CgroupPaths[""]
	for _, l := range st.Config.Labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "bundle" {
			c.Bundle = v
			continue
		}
		c.Annotations[k] = v
	}
	if c.Bundle != "" {
		var spec specs.Spec
		if err := readJSON(filepath.Join(c.Bundle, "config.json"), &spec); err == nil {
			for k, v := range spec.Annotations {
				c.Annotations[k] = v
			}
		}
	}
	c.Image = imageName(c.ID, c.Annotations)
	return c, nil
}

// imageAnnotations name the image, most specific first: containerd's CRI
// plugin, CRI-O, Podman/Buildah, and the OCI standard annotation.
var imageAnnotations = []string{
	"io.kubernetes.cri.image-name",
	"io.kubernetes.cri-o.ImageName",
	"io.podman.annotations.image",
	"org.opencontainers.image.ref.name",
	"org.opencontainers.image.base.name",
}

func imageName(id string, ann map[string]string) string {
	for _, k := range imageAnnotations {
		if v := ann[k]; v != "" {
			return v
		}
	}
	// Docker keeps the image in its own container config, not in the bundle.
	var dc struct {
		Config struct {
			Image string `json:"Image"`
		} `json:"Config"`
	}
	if readJSON(filepath.Join("/var/lib/docker/containers", filepath.Base(id), "config.v2.json"), &dc) == nil {
		return dc.Config.Image
	}
	return ""
}

func readJSON(p string, v any) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	if len(b) > maxStateFile {
		return fmt.Errorf("read %s: larger than %d bytes", p, maxStateFile)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", p, err)
	}
	return nil
}

// MntNS returns the mount namespace inode of a process.
func MntNS(pid int) (uint32, error) {
	var st unix.Stat_t
	p := "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
	if err := unix.Stat(p, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", p, err)
	}
	return uint32(st.Ino), nil
}

// startTime reads field 22 of /proc/PID/stat.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStartTime(b)
}

// parseStartTime extracts the start time from a /proc/PID/stat line. The
// command name (field 2) is in parentheses and may itself contain spaces
// and parentheses, so fields are counted after the last ')'.
func parseStartTime(b []byte) (uint64, error) {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); start time is field 22.
	const idx = 22 - 3
	if len(f) <= idx {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want > %d", len(f), idx)
	}
	v, err := strconv.ParseUint(f[idx], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc stat start time: %w", err)
	}
	return v, nil
}
