package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Epoch is the modification time of every entry LayerFromFiles writes and
// the creation time Build records, so that images are reproducible.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// FileType is the kind of a layer entry.
type FileType uint8

const (
	// Reg is a regular file (the zero value).
	Reg FileType = iota
	// Dir is a directory.
	Dir
	// Symlink is a symbolic link to Linkname.
	Symlink
	// Hardlink is a hard link to Linkname, a path in the same layer.
	Hardlink
	// Whiteout deletes Path from the layers below (written as .wh.<name>).
	Whiteout
	// Opaque hides the contents the layers below had in directory Path
	// (written as <Path>/.wh..wh..opq).
	Opaque
)

// File is one entry of a layer LayerFromFiles builds. Path is relative to
// the image root ("usr/bin/app"). Mode holds the permission bits plus
// fs.ModeSetuid, fs.ModeSetgid and fs.ModeSticky; zero means 0755 for
// directories, 0777 for symbolic links and 0644 otherwise.
type File struct {
	Path     string
	Type     FileType
	Mode     fs.FileMode
	Body     string
	Linkname string
	UID, GID int
}

// LayerFromFiles returns a layer holding exactly files, in the order given,
// so tests can write layers real builders would not (whiteouts before the
// files they hide, duplicates, missing parent directories).
func LayerFromFiles(t testing.TB, files []File) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(f.header()); err != nil {
			t.Fatalf("LayerFromFiles %s: %v", f.Path, err)
		}
		if f.Type == Reg {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				t.Fatalf("LayerFromFiles %s: %v", f.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return layerFromBytes(t, buf.Bytes())
}

func (f File) header() *tar.Header {
	name := strings.TrimPrefix(f.Path, "/")
	h := &tar.Header{Name: name, Uid: f.UID, Gid: f.GID, ModTime: Epoch, Format: tar.FormatPAX, Linkname: f.Linkname}
	perm := f.Mode
	switch f.Type {
	case Reg:
		h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Body))
	case Dir:
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
		if perm == 0 {
			perm = 0o755
		}
	case Symlink:
		h.Typeflag, perm = tar.TypeSymlink, 0o777
	case Hardlink:
		h.Typeflag = tar.TypeLink
	case Whiteout:
		h.Typeflag, h.Name = tar.TypeReg, path.Join(path.Dir(name), ".wh."+path.Base(name))
	case Opaque:
		h.Typeflag, h.Name = tar.TypeReg, path.Join(name, ".wh..wh..opq")
	}
	if perm == 0 {
		perm = 0o644
	}
	h.Mode = tarMode(perm)
	return h
}

// tarMode converts Go mode bits to the octal ones tar headers carry.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

func layerFromBytes(t testing.TB, b []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// LayerFromDir returns a layer holding the tree under dir, as
// WriteDirTar writes it. The tar is produced again each time the layer is
// read, so dir must not change while the layer is in use.
func LayerFromDir(t testing.TB, dir string) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(WriteDirTar(pw, dir)) }()
		return pr, nil
	})
	if err != nil {
		t.Fatalf("LayerFromDir %s: %v", dir, err)
	}
	return l
}

// WriteDirTar writes the tree under dir as a layer tar that depends only on
// the tree: entries sorted by name, numeric owners without names, times
// truncated to seconds, hard links kept as links to the first name, and
// /dev, /proc and /sys present as empty directories as in real images.
// Sockets are skipped (tar cannot hold them).
func WriteDirTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		var link string
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		h.Name = rel
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		h.ModTime = fi.ModTime().Truncate(time.Second)
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		h.Format = tar.FormatPAX
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink > 1 {
			id := inode{uint64(st.Dev), st.Ino}
			if first, ok := seen[id]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				seen[id] = rel
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if h.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		if fi.IsDir() && (rel == "dev" || rel == "proc" || rel == "sys") {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tar %s: %w", dir, err)
	}
	return tw.Close()
}
