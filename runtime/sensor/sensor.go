//go:build linux

// Package sensor observes what processes in watched containers do and turns
// it into events.
//
// The preferred backend is eBPF (tp_btf programs, CO-RE against the kernel's
// BTF, a ring buffer to user space) and filters in the kernel by mount
// namespace, so that only container processes cost anything. When the kernel
// cannot run it, New falls back to fanotify for exec and file writes and to
// polling /proc/<pid>/net for sockets, and says so; that backend cannot see
// the syscall set or capabilities.
//
// The light backend is eBPF without the sys_enter program, for always-on
// watching: tracing sys_enter costs every syscall of every process, so it
// takes file changes from the kernel's timestamp tracepoints (a file's
// ctime changes with its content, attributes and links, a directory's with
// its entries; resolved to container paths by mountTable), sockets from
// cgroup hooks and the syscall set from seccomp's audit records instead
// (seccompLog). It reports changes, not attempts: a failed open, or an
// open for writing that writes nothing, is not seen; a file created empty
// shows as a change of its directory (event.DirModify). Kernels before
// 6.13 have no timestamp tracepoints; there file writes come from fanotify
// (writeWatcher), which does not see unlink, chmod, rename or mkdir.
// Syscalls are seen only for a container run under a complain-mode
// seccomp profile.
package sensor

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilsec/vigil/runtime/event"
)

// ErrNotSupported is returned for what a backend cannot observe.
var ErrNotSupported = errors.New("not supported by this sensor backend")

// Target is a container to watch.
type Target struct {
	MntNS uint32 // mount namespace inode of the container's processes
	// PID is a process in the container (its init). The fanotify backend
	// marks /proc/PID/root and polls /proc/PID/net; eBPF needs only MntNS.
	PID int
}

// Sensor reports events of the targets it watches.
type Sensor interface {
	// Watch starts reporting events of t; Unwatch stops.
	Watch(t Target) error
	Unwatch(t Target) error
	// Events delivers events until Close. The channel is bounded; when the
	// reader falls behind, the sensor drops and counts (Stats), it never
	// blocks the workload.
	Events() <-chan event.Event
	// Syscalls returns the numbers of the syscalls processes in mntns made
	// since Watch. ErrNotSupported when the backend cannot tell.
	Syscalls(mntns uint32) ([]int, error)
	// Capabilities returns the numbers of the capabilities (CAP_*) the
	// kernel granted to processes in mntns since Watch. ErrNotSupported
	// when the backend or the kernel cannot tell.
	Capabilities(mntns uint32) ([]int, error)
	Stats() Stats
	// Backend names the mechanism: "ebpf", "light" or "fanotify".
	Backend() string
	Close() error
}

// Stats counts a sensor's work.
type Stats struct {
	Events uint64 // delivered on the Events channel
	Drops  uint64 // lost: ring buffer full (eBPF) or queue overflow
	// Suppressed counts repeats folded into an earlier event by in-kernel
	// deduplication (eBPF); they are reported as Event.Repeats. Light's
	// file changes are counted here when a CPU's cache of recent ones
	// hands them on, so the figure may trail by up to a window.
	Suppressed uint64
}

// Options configure New.
type Options struct {
	// Backend is "ebpf", "light", "fanotify" or "" to try eBPF and fall
	// back to fanotify.
	Backend string
	// RingBytes sizes the eBPF ring buffer (a power of two multiple of the
	// page size); 0 means 4 MiB.
	RingBytes int
	// Queue is the capacity of the Events channel; 0 means 4096.
	Queue int
	// DedupWindow is how long the eBPF backends fold repeats of a file or
	// socket event (same container, kind, executable and path or address;
	// for light's file changes, the file's dentry) into a count instead of
	// reporting them (light's fanotify fallback folds writes of one file,
	// without a count); 0 means DefaultDedupWindow, a negative value
	// reports every event.
	DedupWindow time.Duration
	// Logf receives messages about fallbacks and degraded operation.
	Logf func(format string, args ...any)
	// FanotifyWrites makes the light backend take file writes from
	// fanotify even where the kernel has the timestamp tracepoints, as it
	// does where it has not (Linux < 6.13).
	FanotifyWrites bool
}

// DefaultDedupWindow is the deduplication window when Options leave it 0.
// Learning and detection need the first occurrence of a behaviour; a
// second is short enough that a repeated write or connection still shows
// in an incident's count, long enough that a tight loop costs one event.
const DefaultDedupWindow = time.Second

// New starts a sensor. With Backend "" it probes eBPF support and falls back
// to fanotify with a message explaining why.
func New(opts Options) (Sensor, error) {
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.RingBytes <= 0 {
		opts.RingBytes = 4 << 20
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.DedupWindow == 0 {
		opts.DedupWindow = DefaultDedupWindow
	}
	switch opts.Backend {
	case "ebpf":
		return newEBPF(opts, false)
	case "light":
		return newEBPF(opts, true)
	case "fanotify":
		return newFanotify(opts)
	case "":
		s, err := newEBPF(opts, false)
		if err == nil {
			return s, nil
		}
		opts.Logf("eBPF sensor unavailable (%v); falling back to fanotify for exec and file writes and /proc/net polling for sockets; the syscall set and capabilities cannot be observed", err)
		return newFanotify(opts)
	default:
		return nil, fmt.Errorf("sensor backend %q: want ebpf, light or fanotify", opts.Backend)
	}
}

// procCache remembers the executable and argv of recently seen processes so
// that file and socket events carry them even when the process has exited.
// It is bounded: when full it starts over, which costs only a /proc read.
type procCache struct {
	mu sync.Mutex
	m  map[uint32]procInfo
}

type procInfo struct {
	exe  string
	args []string
}

const procCacheMax = 1 << 14

func (c *procCache) put(pid uint32, exe string, args []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= procCacheMax {
		c.m = make(map[uint32]procInfo)
	}
	c.m[pid] = procInfo{exe: exe, args: args}
}

func (c *procCache) get(pid uint32) procInfo {
	c.mu.Lock()
	p, ok := c.m[pid]
	c.mu.Unlock()
	if ok {
		return p
	}
	// Not seen exec: a process that was running before Watch, or that forked
	// without exec. /proc shows paths relative to the process's own root.
	exe, _ := os.Readlink("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/exe")
	p = procInfo{exe: strings.TrimSuffix(exe, " (deleted)"), args: readCmdline(pid)}
	c.put(pid, p.exe, p.args)
	return p
}

const maxCmdline = 4096

func readCmdline(pid uint32) []string {
	f, err := os.Open("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/cmdline")
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, maxCmdline)
	n, _ := f.Read(buf)
	return splitArgs(buf[:n])
}

// splitArgs splits a NUL-separated argv block.
func splitArgs(b []byte) []string {
	s := strings.TrimRight(string(b), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// resolvePath makes a path from a syscall argument absolute, as the process
// saw it: relative to its working directory or to the directory fd it
// passed. Best effort: when the process is gone the path stays relative.
func resolvePath(pid uint32, dfd int32, p string) string {
	if p == "" || strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	link := "/proc/" + strconv.FormatUint(uint64(pid), 10)
	if dfd == atFDCWD {
		link += "/cwd"
	} else {
		link += "/fd/" + strconv.Itoa(int(dfd))
	}
	base, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(base, "/") {
		return p
	}
	return path.Join(base, p)
}

const atFDCWD = -100

// execPath replaces a path that only names the file through /proc or an fd
// — busybox re-executes its applets as /proc/self/exe, fexecve uses
// /dev/fd/N — with the file the new process runs, as the container sees
// it. Best effort: a process that already exited keeps the raw path.
func execPath(pid uint32, p string) string {
	if !strings.HasPrefix(p, "/proc/") && !strings.HasPrefix(p, "/dev/fd/") {
		return p
	}
	exe, err := os.Readlink("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/exe")
	if err != nil || !strings.HasPrefix(exe, "/") {
		return p
	}
	return strings.TrimSuffix(exe, " (deleted)")
}
