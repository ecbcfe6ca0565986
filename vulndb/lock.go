package vulndb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tempPrefix starts the name of everything an update writes in the database
// directory before it is complete. Whatever still has it when the lock is
// next taken was left by an update that died.
const tempPrefix = ".tmp-"

const lockName = "lock"

// Lock is the update lock of a database directory: one update at a time
// writes there. It is an advisory file lock, released by the kernel when
// its holder dies, so a crashed update never leaves a lock to break.
// Readers do not take it: they only ever see whole database files.
type Lock struct {
	dir string
	f   *os.File
}

// LockDir takes the update lock of dir, creating dir if needed, and waits
// for another update to finish until ctx is done. It then removes the
// temporary files an interrupted update left behind.
func LockDir(ctx context.Context, dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("database directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("database lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("database lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("database %s is being updated by another process: %w", dir, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	l := &Lock{dir: dir, f: f}
	if err := l.removeLeftovers(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lock) removeLeftovers() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("database directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.RemoveAll(filepath.Join(l.dir, e.Name())); err != nil {
				return fmt.Errorf("remove what an interrupted update left: %w", err)
			}
		}
	}
	return nil
}

// Dir is the database directory.
func (l *Lock) Dir() string { return l.dir }

// TempDir makes a directory for an update's downloads inside the database
// directory; it is removed by the next LockDir if the update dies.
func (l *Lock) TempDir() (string, error) {
	return os.MkdirTemp(l.dir, tempPrefix+"download-")
}

// Close releases the lock.
func (l *Lock) Close() error {
	return l.f.Close()
}
