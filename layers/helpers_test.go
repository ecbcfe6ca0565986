package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ent is one tar entry of a test layer.
type ent struct {
	name string
	typ  byte // tar type flag; 0 means a regular file
	body string
	link string
	mode int64
}

func file(name, body string) ent   { return ent{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) ent          { return ent{name: name, typ: tar.TypeDir} }
func symlink(name, to string) ent  { return ent{name: name, typ: tar.TypeSymlink, link: to} }
func hardlink(name, to string) ent { return ent{name: name, typ: tar.TypeLink, link: to} }

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// mkTar writes entries as a real tar stream with archive/tar.
func mkTar(t testing.TB, es ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Typeflag: typ, Name: e.name, Linkname: e.link, Mode: mode, ModTime: epoch, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %s: %v", e.name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ggcrLayer makes a real layer with go-containerregistry, which computes
// the digest and diffID the walk verifies.
func ggcrLayer(t testing.TB, tarball_ []byte, c compression.Compression) v1.Layer {
	t.Helper()
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarball_)), nil }
	opts := []tarball.LayerOption{tarball.WithCompressedCaching}
	if c != compression.None {
		opts = append(opts, tarball.WithCompression(c))
	}
	l, err := tarball.LayerFromOpener(opener, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageBlobs builds an image from the layers with mutate and returns its
// layers as the walk's blobs, as the image package does.
func imageBlobs(t testing.TB, c compression.Compression, layers ...[]byte) []Blob {
	t.Helper()
	var ls []v1.Layer
	for _, l := range layers {
		ls = append(ls, ggcrLayer(t, l, c))
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var blobs []Blob
	for i, l := range got {
		blobs = append(blobs, blobOfLayer(t, i, l, c))
	}
	return blobs
}

func blobOfLayer(t testing.TB, i int, l v1.Layer, c compression.Compression) Blob {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	diff, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	size, err := l.Size()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := l.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	info := Info{Index: i, Digest: d.String(), DiffID: diff.String(), Size: size, MediaType: string(mt)}
	open := l.Compressed
	if c == compression.None {
		open = l.Uncompressed
		info.Digest = diff.String()
	}
	return Blob{Info: info, Open: open}
}

// rawBlob serves b as stored, with no digests to verify.
func rawBlob(b []byte) Blob {
	return Blob{Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

func wantAll(string, fs.FileMode, int64, []byte) bool { return true }

// warnings collects Options.Warn calls.
type warnings struct {
	mu   sync.Mutex
	errs []error
}

func (w *warnings) add(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

func walk(t testing.TB, opts Options, blobs ...Blob) (FS, error) {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	fsys, err := Walk(context.Background(), blobs, opts)
	if err == nil {
		t.Cleanup(func() { fsys.Close() })
	}
	return fsys, err
}

func mustWalk(t testing.TB, opts Options, blobs ...Blob) FS {
	t.Helper()
	fsys, err := walk(t, opts, blobs...)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return fsys
}

func readString(t testing.TB, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("ReadFile %s: %v", name, err)
	}
	return string(b)
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}
