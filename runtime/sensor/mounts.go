//go:build linux

package sensor

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// mountTable turns where a changed file is in its file system (the device
// and the names up to that file system's root, as the light backend's BPF
// file programs report it) into its path in one container, through the
// container's mounts: a mount of device D whose root in D is R, mounted at
// P, shows D's file R/x at P/x. A device the container has no mount of is
// not the container's file: under overlayfs, each write in the container
// changes the overlay's file, which maps, and the upper layer's, which
// lives on a host file system the container does not see.
type mountTable struct {
	pid   int
	mntns uint32

	mu     sync.Mutex
	mounts []mountEntry // longest root first
	loaded time.Time
}

type mountEntry struct {
	major, minor int
	root         string // the mount's root within its file system
	point        string // where it is mounted in the container
}

// reloadEvery bounds how often a device the table does not know makes it
// read the container's mounts again (it may have mounted something since).
const reloadEvery = 2 * time.Second

func newMountTable(t Target) (*mountTable, error) {
	if t.PID <= 0 {
		return nil, fmt.Errorf("the light sensor needs a container PID to read its mounts")
	}
	m := &mountTable{pid: t.PID, mntns: t.MntNS}
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

func (t *mountTable) load() error {
	ms, err := fileMounts(t.pid, t.mntns)
	if err != nil {
		return err
	}
	t.mounts, t.loaded = mountEntries(ms), time.Now()
	return nil
}

// fileMounts returns the mounts that hold files (not on a pseudo file
// system) of process pid, which must be in mount namespace mntns: a PID
// that was reused by a process elsewhere is refused, not read. The
// namespace is checked and the mounts read through one open /proc/PID, so
// that a reuse between the two cannot go unnoticed (the directory of a
// process that exited reads as gone, even when its number is taken).
func fileMounts(pid int, mntns uint32) ([]*mountinfo.Info, error) {
	proc, err := os.Open("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return nil, fmt.Errorf("mounts of PID %d: %w", pid, err)
	}
	defer proc.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(int(proc.Fd()), "ns/mnt", &st, 0); err != nil {
		return nil, fmt.Errorf("mount namespace of PID %d: %w", pid, err)
	}
	if st.Ino != uint64(mntns) {
		return nil, fmt.Errorf("PID %d is in mount namespace %d, not %d: it exited and its PID was reused", pid, st.Ino, mntns)
	}
	fd, err := unix.Openat(int(proc.Fd()), "mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("mounts of PID %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), "mountinfo")
	defer f.Close()
	ms, err := mountinfo.GetMountsFromReader(f, func(m *mountinfo.Info) (skip, stop bool) {
		return pseudoFS[m.FSType], false
	})
	if err != nil {
		return nil, fmt.Errorf("mounts of PID %d: %w", pid, err)
	}
	return ms, nil
}

// mountEntries orders mounts longest root first, so that the first match
// is the closest one.
func mountEntries(ms []*mountinfo.Info) []mountEntry {
	var out []mountEntry
	for _, m := range ms {
		out = append(out, mountEntry{major: m.Major, minor: m.Minor, root: m.Root, point: m.Mountpoint})
	}
	slices.SortStableFunc(out, func(a, b mountEntry) int { return len(b.root) - len(a.root) })
	return out
}

// resolve returns the container path of a file given the device (kernel
// encoding, major << 20 | minor) and its names, leaf first; complete says
// whether the names reach the file system's root. Names that stop short of
// the root (a path deeper than the sensor reads) give "/…/" and the names
// read, on a device the container has mounted: still reported, as a path
// no profile holds, rather than dropped where an attacker could hide.
func (t *mountTable) resolve(dev uint32, names []string, complete bool) (string, bool) {
	major, minor := int(dev>>20), int(dev&0xfffff)
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := resolveIn(t.mounts, major, minor, names, complete)
	if !ok && time.Since(t.loaded) >= reloadEvery && t.load() == nil {
		p, ok = resolveIn(t.mounts, major, minor, names, complete)
	}
	return p, ok
}

func resolveIn(mounts []mountEntry, major, minor int, names []string, complete bool) (string, bool) {
	var b strings.Builder
	for i := len(names) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(names[i])
	}
	fsPath := b.String()
	if fsPath == "" {
		fsPath = "/"
	}
	for _, m := range mounts {
		if m.major != major || m.minor != minor {
			continue
		}
		if !complete {
			return "/…" + fsPath, true
		}
		rest, ok := under(fsPath, m.root)
		if !ok {
			continue
		}
		if rest == "" {
			return m.point, true
		}
		return strings.TrimSuffix(m.point, "/") + rest, true
	}
	return "", false
}

// under returns what p has beyond root ("" when p is root, else starting
// with "/"), and whether p is root or below it.
func under(p, root string) (string, bool) {
	if root == "/" {
		if p == "/" {
			return "", true
		}
		return p, true
	}
	if p == root {
		return "", true
	}
	if strings.HasPrefix(p, root) && p[len(root)] == '/' {
		return p[len(root):], true
	}
	return "", false
}

// splitNames splits a record's names, each ending in a NUL. A last name
// without its NUL was cut by the record's end and is left out.
func splitNames(b []byte) []string {
	var names []string
	for len(b) > 0 {
		i := slices.Index(b, 0)
		if i < 0 {
			break
		}
		names = append(names, string(b[:i]))
		b = b[i+1:]
	}
	return names
}
