package layers

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// imageFS is what every view of one walk shares.
type imageFS struct {
	t     *tree
	infos []Info
	store *storage
	// root is set for FromDir: contents are read from the directory, through
	// os.Root so that nothing outside it can be reached.
	root *os.Root

	closeOnce sync.Once
	closeErr  error
}

// view is an FS at one layer.
type view struct {
	f   *imageFS
	top int
}

var _ FS = (*view)(nil)

// Attr is what FileInfo.Sys returns for the files of an FS.
type Attr struct {
	UID, GID int
	// Layer is the index of the layer that wrote this version of the path.
	Layer int
}

type fileInfo struct {
	name string
	v    version
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.v.size }
func (i *fileInfo) Mode() fs.FileMode  { return i.v.mode }
func (i *fileInfo) ModTime() time.Time { return time.Unix(i.v.mtime, 0) }
func (i *fileInfo) IsDir() bool        { return i.v.mode.IsDir() }
func (i *fileInfo) Sys() any {
	return &Attr{UID: int(i.v.uid), GID: int(i.v.gid), Layer: int(i.v.layer)}
}

func (i *fileInfo) Type() fs.FileMode          { return i.v.mode.Type() }
func (i *fileInfo) Info() (fs.FileInfo, error) { return i, nil }
func (i *fileInfo) String() string             { return fs.FormatDirEntry(i) }

func baseName(name string) string {
	if name == "." {
		return "."
	}
	_, b := splitName(name)
	return b
}

func (v *view) resolve(op, name string, follow bool) (uint32, *version, error) {
	if !fs.ValidPath(name) {
		return 0, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, ver, err := v.f.t.resolve(name, v.top, follow)
	if err != nil {
		return 0, nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return n, ver, nil
}

func (v *view) Stat(name string) (fs.FileInfo, error) {
	_, ver, err := v.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: baseName(name), v: *ver}, nil
}

func (v *view) Lstat(name string) (fs.FileInfo, error) {
	_, ver, err := v.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return &fileInfo{name: baseName(name), v: *ver}, nil
}

func (v *view) ReadLink(name string) (string, error) {
	_, ver, err := v.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if ver.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return v.f.t.link(ver.ref), nil
}

// entries lists the directory n as it stood after layer top, sorted by name.
func (v *view) entries(n uint32) []fs.DirEntry {
	t := v.f.t
	var es []fs.DirEntry
	for c := t.node(n).child; c != 0; c = t.node(c).next {
		if cv := t.at(c, v.top); cv.exists() {
			es = append(es, &fileInfo{name: t.nameString(c), v: *cv})
		}
	}
	slices.SortFunc(es, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return es
}

func (v *view) ReadDir(name string) ([]fs.DirEntry, error) {
	n, ver, err := v.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !ver.mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return v.entries(n), nil
}

// contents opens the contents of the regular file n.
func (f *imageFS) contents(n uint32, ver *version) (fileReader, io.Closer, error) {
	switch {
	case ver.size == 0:
		return bytes.NewReader(nil), nil, nil
	case f.root != nil:
		file, err := openRegular(f.root, f.t.path(n))
		if err != nil {
			return nil, nil, err
		}
		return file, file, nil
	case ver.ref == 0:
		return nil, nil, ErrNotCaptured
	}
	return f.store.reader(ver.ref), nil, nil
}

func (v *view) Open(name string) (fs.File, error) {
	n, ver, err := v.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	info := &fileInfo{name: baseName(name), v: *ver}
	switch {
	case ver.mode.IsDir():
		return &dirFile{info: info, entries: v.entries(n)}, nil
	case ver.mode.IsRegular():
		r, c, err := v.f.contents(n, ver)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &regFile{fileReader: r, closer: c, info: info}, nil
	}
	return &specialFile{info: info}, nil
}

func (v *view) ReadFile(name string) ([]byte, error) {
	f, err := v.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rf, ok := f.(*regFile)
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("not a regular file")}
	}
	b := make([]byte, rf.info.v.size)
	if _, err := io.ReadFull(rf, b); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

func (v *view) History(name string) []Change {
	if !fs.ValidPath(name) {
		return nil
	}
	n, ok := v.f.t.lookup(name)
	if !ok {
		return nil
	}
	return v.f.t.history(n)
}

func (v *view) Layers() []Info { return slices.Clone(v.f.infos) }

func (v *view) Top() int { return v.top }

func (v *view) At(i int) FS {
	return &view{f: v.f, top: max(min(i, len(v.f.infos)-1), -1)}
}

func (v *view) LocalPath(name string) (string, error) {
	n, ver, err := v.resolve("localpath", name, true)
	if err != nil {
		return "", err
	}
	if !ver.mode.IsRegular() {
		return "", &fs.PathError{Op: "localpath", Path: name, Err: errors.New("not a regular file")}
	}
	open := func() (io.ReadCloser, error) {
		r, c, err := v.f.contents(n, ver)
		if err != nil {
			return nil, err
		}
		return &regFile{fileReader: r, closer: c}, nil
	}
	p, err := v.f.store.localCopy(localKey{node: n, ref: ver.ref}, v.f.t.nameString(n), open)
	if err != nil {
		return "", &fs.PathError{Op: "localpath", Path: name, Err: err}
	}
	return p, nil
}

func (v *view) Close() error {
	f := v.f
	f.closeOnce.Do(func() {
		f.closeErr = f.store.close()
		if f.root != nil {
			f.closeErr = errors.Join(f.closeErr, f.root.Close())
		}
	})
	return f.closeErr
}

type regFile struct {
	fileReader
	closer io.Closer
	info   *fileInfo
}

func (f *regFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *regFile) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// specialFile is a device, FIFO or socket: only its metadata is known.
type specialFile struct{ info *fileInfo }

func (f *specialFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *specialFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: f.info.name, Err: errors.New("not a regular file")}
}
func (f *specialFile) Close() error { return nil }

type dirFile struct {
	info    *fileInfo
	entries []fs.DirEntry
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		es := d.entries
		d.entries = nil
		return es, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	es := d.entries[:n:n]
	d.entries = d.entries[n:]
	return es, nil
}
