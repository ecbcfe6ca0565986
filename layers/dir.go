package layers

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// FromDir returns the root filesystem in directory root as an FS of a
// single layer (index 0, no digests), for scanning an unpacked image or a
// host. The walk records metadata only: contents are read from disk when
// asked for, through os.Root, so symbolic links (resolved inside the tree,
// like an image's) and any change to the directory since cannot reach
// outside root. Options.Want is not used (every regular file is readable);
// Options.Observe sees every regular file.
//
// Symbolic links are never followed while walking. When root is "/", other
// file systems (and /proc, /sys, /dev) are not entered.
func FromDir(root string, opts Options) (FS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	return fromDir(abs, abs == "/", opts)
}

// fromDir is FromDir; wholeHost says root is the host's own root.
func fromDir(root string, wholeHost bool, opts Options) (FS, error) {
	opts = opts.withDefaults()
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	f := &imageFS{t: newTree(opts.Limits), infos: []Info{{}}, store: newStorage(opts.TempDir), root: r}
	if err := scan(f, wholeHost, &opts); err != nil {
		r.Close()
		return nil, fmt.Errorf("read directory %s: %w", root, err)
	}
	return &view{f: f, top: 0}, nil
}

func device(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true
}

func dirVersion(fi fs.FileInfo) version {
	v := version{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime().Unix()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v.uid, v.gid = st.Uid, st.Gid
	}
	if !v.mode.IsRegular() && v.mode&fs.ModeSymlink == 0 {
		v.size = 0
	}
	return v
}

func scan(f *imageFS, wholeHost bool, opts *Options) error {
	rfs := f.root.FS()
	top, err := f.root.Stat(".")
	if err != nil {
		return err
	}
	topDev, _ := device(top)
	b := &builder{t: f.t, warn: opts.Warn}
	entries := 0
	return fs.WalkDir(rfs, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			b.warnf("%s: %w", p, err)
			return nil
		}
		if p == "." {
			return b.root(dirVersion(top))
		}
		if wholeHost && d.IsDir() && (p == "proc" || p == "sys" || p == "dev") {
			return fs.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			b.warnf("%s: %w", p, err)
			return nil
		}
		if dev, ok := device(fi); wholeHost && d.IsDir() && ok && dev != topDev {
			return fs.SkipDir
		}
		if entries++; entries > opts.Limits.MaxEntries {
			return &LimitError{Limit: "MaxEntries", Value: int64(opts.Limits.MaxEntries), Detail: "directory entries"}
		}
		v := dirVersion(fi)
		switch {
		case v.mode&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(rfs, p)
			if err != nil || len(target) > maxLinkBytes {
				b.warnf("%s: unreadable symbolic link: %v", p, err)
				return nil
			}
			if v.ref, err = f.t.addLink(target); err != nil {
				return err
			}
		case v.mode.IsRegular() && opts.Observe != nil:
			if err := observeFile(f.root, p, fi, opts.Observe); err != nil {
				return fmt.Errorf("%s: observe: %w", p, err)
			}
		}
		return b.put(p, v)
	})
}

// openRegular opens a regular file under root. O_NONBLOCK: should the
// directory change under us and the file become a FIFO, opening it must
// not hang.
func openRegular(root *os.Root, name string) (*os.File, error) {
	file, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := file.Stat(); err != nil || !fi.Mode().IsRegular() {
		file.Close()
		return nil, fmt.Errorf("open %s: no longer a regular file", name)
	}
	return file, nil
}

func observeFile(root *os.Root, name string, fi fs.FileInfo, observe func(int, string, *tar.Header, io.Reader) error) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     fi.Size(),
		Mode:     int64(fi.Mode().Perm()),
		ModTime:  fi.ModTime(),
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	}
	r := &lazyFile{open: func() (*os.File, error) { return openRegular(root, name) }}
	defer r.close()
	return observe(0, name, hdr, r)
}

// lazyFile opens its file on first Read, so that observers that only look
// at names cost no open.
type lazyFile struct {
	open func() (*os.File, error)
	f    *os.File
	err  error
}

func (l *lazyFile) Read(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		l.f, l.err = l.open()
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Read(p)
}

func (l *lazyFile) close() {
	if l.f != nil {
		l.f.Close()
	}
}
