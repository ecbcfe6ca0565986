//go:build linux

package sensor

import (
	"cmp"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/event"
	"github.com/vigilsec/vigil/runtime/internal/fanotify"
)

// writeWatcher reports the files one container writes, for the light
// backend on kernels without the timestamp tracepoints its BPF file
// programs use (Linux < 6.13), from a fanotify group of its own: mount
// marks on each of the container's mounts for FAN_CLOSE_WRITE. The kernel
// checks those marks only when a file opened for writing is closed, and a
// file already reported gets an ignore mark on its inode, so a workload
// rewriting the same file pays a mark lookup (about 200 ns a close here),
// not an event. One group per
// container is what attributes an event to it: the writer may be gone by
// the time the event is read.
//
// What it cannot see, compared with the sys_enter program: failed opens,
// unlink, chmod, rename and mkdir (fanotify reports those only with
// FAN_REPORT_FID on inode or filesystem marks, and a filesystem mark on a
// container whose root is a host directory would watch the host).
type writeWatcher struct {
	f      *os.File
	mntns  uint32
	window time.Duration // 0: every write is reported

	mu       sync.Mutex
	reported map[fileKey]bool // since the last flush of the ignore marks
	flushed  time.Time
}

type fileKey struct{ dev, ino uint64 }

const writeMask = unix.FAN_CLOSE_WRITE

// maxIgnored bounds the inode ignore marks (kernel memory, and the user's
// fs.fanotify.max_user_marks) one container can make the sensor add between
// flushes; beyond it, writes are reported unfolded.
const maxIgnored = 4096

// pseudoFS are file systems whose writes are not the container's files.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true, "mqueue": true,
	"securityfs": true, "debugfs": true, "tracefs": true, "bpf": true, "fusectl": true, "configfs": true,
}

func newWriteWatcher(t Target, window time.Duration) (*writeWatcher, error) {
	if t.PID <= 0 {
		return nil, fmt.Errorf("the light sensor needs a container PID to read its mounts")
	}
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fanotify_init: %w", err)
	}
	w := &writeWatcher{
		f:        os.NewFile(uintptr(fd), "fanotify"), // non-blocking: Close interrupts Read
		mntns:    t.MntNS,
		window:   window,
		reported: map[fileKey]bool{},
		flushed:  time.Now(),
	}
	if err := w.markMounts(t.PID, t.MntNS); err != nil {
		w.f.Close()
		return nil, err
	}
	return w, nil
}

// markMounts marks every mount of the container that holds files. Each
// mount point is opened inside the container's root, so a symlink the
// container planted on a mount point's path cannot send the mark to a host
// mount.
func (w *writeWatcher) markMounts(pid int, mntns uint32) error {
	mounts, err := fileMounts(pid, mntns)
	if err != nil {
		return err
	}
	root := "/proc/" + strconv.Itoa(pid) + "/root"
	marked := 0
	var firstErr error
	for _, m := range mounts {
		f, err := container.OpenInRoot(root, m.Mountpoint)
		if err == nil {
			err = mark(w.f, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, writeMask, f)
			f.Close()
		}
		if err != nil {
			// A mount point that is gone or not openable (a socket bind
			// mount) leaves the others watched.
			firstErr = cmp.Or(firstErr, fmt.Errorf("mark mount %s of PID %d: %w", m.Mountpoint, pid, err))
			continue
		}
		marked++
	}
	if marked == 0 {
		return cmp.Or(firstErr, fmt.Errorf("PID %d has no mount to watch", pid))
	}
	return nil
}

// mark calls fanotify_mark on the file f itself: a NULL path with f as the
// directory fd, which unix.FanotifyMark cannot express (it passes "" and
// the kernel then looks the empty name up).
func mark(group *os.File, flags uint, mask uint64, f *os.File) error {
	_, _, e := unix.Syscall6(unix.SYS_FANOTIFY_MARK, group.Fd(), uintptr(flags), uintptr(mask), f.Fd(), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func (w *writeWatcher) Close() error { return w.f.Close() }

// run reads the group until it is closed, sending an Open event for each
// file written. emit returns false when the sensor is closing.
func (w *writeWatcher) run(procs *procCache, emit func(event.Event) bool, drop func()) {
	fanotify.Read(w.f, 64<<10, func(m unix.FanotifyEventMetadata) bool {
		if m.Mask&unix.FAN_Q_OVERFLOW != 0 {
			drop()
		}
		if m.Fd < 0 {
			return true
		}
		f := os.NewFile(uintptr(m.Fd), "fanotify event")
		defer f.Close()
		ev, ok := w.event(m, f, procs)
		return !ok || emit(ev)
	})
}

// event turns a record into an event, or reports false for a file already
// reported within the window.
func (w *writeWatcher) event(m unix.FanotifyEventMetadata, f *os.File, procs *procCache) (event.Event, bool) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return event.Event{}, false
	}
	if w.window > 0 && w.seen(fileKey{dev: st.Dev, ino: st.Ino}, f) {
		return event.Event{}, false
	}
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return event.Event{}, false
	}
	pid := uint32(m.Pid)
	pi := procs.get(pid)
	// fanotify does not say who wrote; /proc/PID is owned by the process's
	// effective user while it lives.
	uid := uint32(0)
	var pst unix.Stat_t
	if unix.Stat("/proc/"+strconv.FormatUint(uint64(pid), 10), &pst) == nil {
		uid = pst.Uid
	}
	return event.Event{
		Time:    time.Now(),
		Kind:    event.Open,
		MntNS:   w.mntns,
		Path:    p,
		Syscall: -1,
		Flags:   unix.O_WRONLY,
		Proc:    event.Process{PID: pid, UID: uid, Exe: pi.exe, Args: pi.args},
	}, true
}

// seen reports whether the file was reported since the last flush, and if
// not, remembers it and tells the kernel to stop reporting it. Ignore marks
// are flushed once per window, so a file written all the time is reported
// about once per window, as the eBPF backend does.
func (w *writeWatcher) seen(k fileKey, f *os.File) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.flushed) >= w.window {
		// FAN_MARK_FLUSH without MOUNT or FILESYSTEM removes the inode
		// marks only, which are the ignore marks.
		_ = unix.FanotifyMark(int(w.f.Fd()), unix.FAN_MARK_FLUSH, 0, unix.AT_FDCWD, "/")
		clear(w.reported)
		w.flushed = time.Now()
	}
	if w.reported[k] {
		return true
	}
	if len(w.reported) < maxIgnored {
		w.reported[k] = true
		// The ignore mark survives modification: a file opened for writing
		// is modified, and that would clear a plain ignore mask.
		_ = mark(w.f, unix.FAN_MARK_ADD|unix.FAN_MARK_IGNORED_MASK|unix.FAN_MARK_IGNORED_SURV_MODIFY, writeMask, f)
	}
	return false
}
