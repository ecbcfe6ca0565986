//go:build linux

package container

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Open opens a file by its path inside the container. The path is resolved
// with the container's root as "/" (openat2 RESOLVE_IN_ROOT), so an absolute
// symlink such as /bin/sh -> /bin/busybox stays in the container and can
// never reach the host. It uses /proc/PID/root, which includes the
// container's own mounts, while the init is alive, and Rootfs after.
func (c Container) Open(p string) (*os.File, error) {
	f, _, err := c.open(p)
	return f, err
}

// open also returns the root used, the prefix to strip from a host path of
// the opened file.
func (c Container) open(p string) (*os.File, string, error) {
	root := c.Rootfs
	if c.Alive() == nil {
		root = "/proc/" + strconv.Itoa(c.InitPID) + "/root"
	}
	if root == "" {
		return nil, "", fmt.Errorf("open %s in container %s: no root file system", p, c.ID)
	}
	f, err := OpenInRoot(root, p)
	if err != nil {
		return nil, "", fmt.Errorf("container %s: %w", c.ID, err)
	}
	if root == c.Rootfs {
		return f, root, nil
	}
	// Through /proc/PID/root the kernel names the file as the container
	// sees it: nothing to strip.
	return f, "", nil
}

// OpenInRoot opens p for reading, resolved with the directory root as "/"
// (openat2 RESOLVE_IN_ROOT): ".." and absolute symlinks, which a container
// controls, stay under root, and /proc magic links are refused. Through
// /proc/PID/root, root includes the container's own mounts.
func OpenInRoot(root, p string) (*os.File, error) {
	dir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", root, err)
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, p, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s in %s: %w", p, root, err)
	}
	return os.NewFile(uintptr(fd), p), nil
}

// maxHashed bounds how much of an executable is read to hash it.
const maxHashed = 512 << 20

// Hasher hashes executables inside a container, remembering results by
// device, inode, size and modification time so that a program run every
// second is read once.
type Hasher struct {
	c     Container
	mu    sync.Mutex
	cache map[fileID]string
}

type fileID struct {
	dev, ino uint64
	size     int64
	mtime    unix.Timespec
}

// NewHasher returns a Hasher for c.
func NewHasher(c Container) *Hasher { return &Hasher{c: c, cache: map[fileID]string{}} }

// Hash returns the file p resolves to inside the container and the hex
// SHA-256 of its content. It is a profile.Hasher.
func (h *Hasher) Hash(p string) (target, sum string, err error) {
	f, strip, err := h.c.open(p)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	target, err = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "", "", fmt.Errorf("resolve %s: %w", p, err)
	}
	target = "/" + strings.TrimPrefix(strings.TrimPrefix(target, strip), "/")
	sum, err = h.sum(f, p)
	return target, sum, err
}

func (h *Hasher) sum(f *os.File, p string) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", fmt.Errorf("stat %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", fmt.Errorf("hash %s: not a regular file", p)
	}
	if st.Size > maxHashed {
		return "", fmt.Errorf("hash %s: %d bytes, larger than %d", p, st.Size, maxHashed)
	}
	id := fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim}
	h.mu.Lock()
	sum, ok := h.cache[id]
	h.mu.Unlock()
	if ok {
		return sum, nil
	}
	d := sha256.New()
	if _, err := io.Copy(d, io.LimitReader(f, maxHashed)); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	sum = hex.EncodeToString(d.Sum(nil))
	h.mu.Lock()
	if len(h.cache) > 4096 {
		clear(h.cache)
	}
	h.cache[id] = sum
	h.mu.Unlock()
	return sum, nil
}
