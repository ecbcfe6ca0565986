package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
)

const (
	baseName   = "docker.io/library/debian:bookworm"
	baseDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
)

// fixture is a two-layer image with real file contents, a history that
// interleaves empty-layer entries the way Dockerfile builds write them, and
// base-image labels.
func fixture(t testing.TB, arch string) v1.Image {
	t.Helper()
	l0 := testimage.LayerFromFiles(t, []testimage.File{
		{Path: "etc", Type: testimage.Dir},
		{Path: "etc/os-release", Body: "ID=vigiltest\nARCH=" + arch + "\n"},
		{Path: "bin", Type: testimage.Dir},
		{Path: "bin/sh", Mode: 0o755, Body: "#!fake shell\n"},
	})
	l1 := testimage.LayerFromFiles(t, []testimage.File{
		{Path: "app", Type: testimage.Dir},
		{Path: "app/config", Body: "v=1\n"},
		{Path: "etc/os-release", Type: testimage.Whiteout},
	})
	img := testimage.Build(t, nil, []v1.Layer{l0, l1}, nil, map[string]string{
		annotationBaseName:   baseName,
		annotationBaseDigest: baseDigest,
	})
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = arch
	cf.History = []v1.History{
		{CreatedBy: "ADD rootfs.tar /", Created: v1.Time{Time: testimage.Epoch}},
		{CreatedBy: "ENV A=1", EmptyLayer: true},
		{CreatedBy: "COPY app /app", Comment: "buildkit.dockerfile.v0"},
		{CreatedBy: `CMD ["/bin/sh"]`, EmptyLayer: true},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// fixtureFiles is what the layers of fixture hold, bottom first.
var fixtureFiles = []map[string]string{
	{"etc/": "", "etc/os-release": "ID=vigiltest\nARCH=amd64\n", "bin/": "", "bin/sh": "#!fake shell\n"},
	{"app/": "", "app/config": "v=1\n", "etc/.wh.os-release": ""},
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// readBlob returns the files of a layer, checked as walkBlob checks them.
func readBlob(t testing.TB, b layers.Blob) map[string]string {
	t.Helper()
	files := map[string]string{}
	walkBlob(t, b, func(h *tar.Header, r io.Reader) {
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = string(body)
	})
	return files
}

// walkBlob does what the layer walk does with a Blob, streaming: it reads
// the bytes Open returns, checks them against Digest, decompresses them by
// magic number, checks the tar against DiffID, and shows fn every entry.
func walkBlob(t testing.TB, b layers.Blob, fn func(*tar.Header, io.Reader)) {
	t.Helper()
	rc, err := b.Open()
	if err != nil {
		t.Fatalf("layer %d: %v", b.Info.Index, err)
	}
	defer rc.Close()
	storedHash, tarHash := sha256.New(), sha256.New()
	br := bufio.NewReader(io.TeeReader(rc, storedHash))
	magic, _ := br.Peek(4)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		if r, err = gzip.NewReader(br); err != nil {
			t.Fatal(err)
		}
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(io.TeeReader(r, tarHash))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("layer %d: %v", b.Info.Index, err)
		}
		fn(h, tr)
	}
	// Drain the padding after the tar's end and the compressed stream's
	// trailer so that both digests cover every byte.
	if _, err := io.Copy(io.Discard, io.TeeReader(r, tarHash)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatal(err)
	}
	if got := hexSum(storedHash); got != b.Info.Digest {
		t.Errorf("layer %d: Open returned bytes with digest %s, Info.Digest is %s", b.Info.Index, got, b.Info.Digest)
	}
	if got := hexSum(tarHash); got != b.Info.DiffID {
		t.Errorf("layer %d: uncompressed digest %s, Info.DiffID is %s", b.Info.Index, got, b.Info.DiffID)
	}
}

func hexSum(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }
