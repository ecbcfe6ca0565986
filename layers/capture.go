package layers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// content is the kept contents of one version of a file.
type content struct {
	data []byte // in memory; nil when spilled
	off  int64  // offset in the spill file
	size int64
}

// storage owns the walk's private temporary directory: the spill file that
// holds large captured contents back to back, and the copies LocalPath
// hands out. The directory is created on first need, so a walk that keeps
// only small files never touches the disk.
type storage struct {
	parent string

	// contents and the spill file are written by the walk only, before the
	// FS is returned, and only read afterwards.
	contents store[content]
	captured int64
	spill    *os.File
	spillEnd int64

	mu     sync.Mutex
	dir    string
	local  map[localKey]string
	closed bool
}

type localKey struct{ node, ref uint32 }

func newStorage(parent string) *storage {
	s := &storage{parent: parent}
	s.contents.add(content{}) // ref 0 means "not captured"
	return s
}

func (s *storage) tempDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", os.ErrClosed
	}
	if s.dir == "" {
		d, err := os.MkdirTemp(s.parent, "vigil-layers-")
		if err != nil {
			return "", err
		}
		s.dir = d
	}
	return s.dir, nil
}

// capture collects the contents of one file as the walk streams it.
type capture struct {
	s    *storage
	mem  []byte
	off  int64
	n    int64
	size int64
}

// begin starts capturing a file of size bytes, in memory up to maxMem.
func (s *storage) begin(size, maxMem int64) (*capture, error) {
	c := &capture{s: s, size: size}
	if size <= maxMem {
		c.mem = make([]byte, 0, size)
		return c, nil
	}
	if s.spill == nil {
		dir, err := s.tempDir()
		if err != nil {
			return nil, err
		}
		if s.spill, err = os.OpenFile(filepath.Join(dir, "spill"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return nil, err
		}
	}
	c.off = s.spillEnd
	return c, nil
}

var errOverflow = errors.New("file holds more bytes than its header says")

func (c *capture) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.size {
		return 0, errOverflow
	}
	if c.mem != nil {
		c.mem = append(c.mem, p...)
	} else if _, err := c.s.spill.WriteAt(p, c.off+c.n); err != nil {
		return 0, fmt.Errorf("spill captured file: %w", err)
	}
	c.n += int64(len(p))
	return len(p), nil
}

// finish checks the file was complete and returns its reference.
func (c *capture) finish() (uint32, error) {
	if c.n != c.size {
		return 0, io.ErrUnexpectedEOF
	}
	if c.mem == nil {
		c.s.spillEnd += c.size
	}
	c.s.captured += c.size
	return c.s.contents.add(content{data: c.mem, off: c.off, size: c.size}), nil
}

// fileReader is what reading a file of an FS offers: debug/elf and
// debug/buildinfo need ReadAt, archive/zip needs ReadAt and the size.
type fileReader interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

func (s *storage) reader(ref uint32) fileReader {
	c := s.contents.at(ref)
	if c.data != nil || c.size == 0 {
		return bytes.NewReader(c.data)
	}
	return io.NewSectionReader(s.spill, c.off, c.size)
}

// localCopy returns a private copy of a file's contents under the temporary
// directory, written from open on first request and reused afterwards.
func (s *storage) localCopy(k localKey, base string, open func() (io.ReadCloser, error)) (string, error) {
	dir, err := s.tempDir()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.local[k]; ok {
		return p, nil
	}
	// Each copy gets its own directory so that libraries writing beside
	// the file (SQLite journals) do not meet each other. base is one
	// cleaned name component: it cannot leave that directory.
	d := filepath.Join(dir, "local", strconv.FormatUint(uint64(k.node), 10)+"-"+strconv.FormatUint(uint64(k.ref), 10))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(d, base)
	if err := writeFrom(p, open); err != nil {
		os.Remove(p)
		return "", err
	}
	if s.local == nil {
		s.local = make(map[localKey]string)
	}
	s.local[k] = p
	return p, nil
}

func writeFrom(p string, open func() (io.ReadCloser, error)) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

func (s *storage) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.spill != nil {
		errs = append(errs, s.spill.Close())
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}
