//go:build linux

package container

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Watch calls found for every running container under roots (DefaultRoots
// when none): first those running now, then each new one as soon as its
// runtime has written its state — for runc at `runc create`, so before the
// container's process starts — until ctx ends. A container is new when its
// id, init PID or init start time is: one re-created under the same id is
// reported again.
//
// It watches the state directories with inotify (runc creates
// ROOT/ID/ and renames state.json into it), and rescans every interval (0
// means 1s) as well: for roots created later, inotify queue overflows, or a
// host without inotify. found runs on Watch's goroutine.
func Watch(ctx context.Context, interval time.Duration, found func(Container), roots ...string) error {
	if len(roots) == 0 {
		roots = DefaultRoots
	}
	if interval <= 0 {
		interval = time.Second
	}
	changed := make(chan struct{}, 1)
	in, err := newInotify(changed)
	if err == nil {
		defer in.close()
	} // else polling alone still works
	seen := map[string]bool{}
	scan := func() {
		if in != nil {
			in.watch(roots)
		}
		cs, _ := List(roots...) // a torn state file is retried at the next scan
		now := make(map[string]bool, len(cs))
		for _, c := range cs {
			k := c.ID + "\x00" + strconv.Itoa(c.InitPID) + "\x00" + strconv.FormatUint(c.StartTime, 10)
			now[k] = true
			if !seen[k] {
				found(c)
			}
		}
		seen = now // forget the exited: memory stays bounded by what runs
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		scan()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-changed:
		}
	}
}

// inotify reports changes in runtime state directories on a channel.
type inotify struct {
	fd   int
	f    *os.File // the same fd, for reads; its Fd method would make it blocking
	done chan struct{}
}

// The changes that can mean a new container: a directory created in a
// root, a state file written or renamed into a container's directory.
const (
	rootMask      = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_ONLYDIR
	containerMask = unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE
)

func newInotify(changed chan<- struct{}) (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so reads wait in Go's poller and Close interrupts them.
	in := &inotify{fd: fd, f: os.NewFile(uintptr(fd), "inotify"), done: make(chan struct{})}
	go func() {
		defer close(in.done)
		buf := make([]byte, 64<<10)
		for {
			if _, err := in.f.Read(buf); err != nil {
				return // closed
			}
			// What changed does not matter: a scan finds out.
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}()
	return in, nil
}

// watch adds watches on the roots and the container directories in them.
// Adding a watch again only refreshes it; directories that are removed
// drop their watches by themselves.
func (in *inotify) watch(roots []string) {
	fd := in.fd
	for _, pattern := range roots {
		dirs, _ := filepath.Glob(pattern)
		for _, root := range dirs {
			if _, err := unix.InotifyAddWatch(fd, root, rootMask); err != nil {
				continue
			}
			entries, _ := os.ReadDir(root)
			for _, e := range entries {
				if e.IsDir() {
					unix.InotifyAddWatch(fd, filepath.Join(root, e.Name()), containerMask)
				}
			}
		}
	}
}

func (in *inotify) close() {
	in.f.Close()
	<-in.done
}
