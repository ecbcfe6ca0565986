package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
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

// readBlob does what the layer walk does with a Blob: it reads the bytes
// Open returns, checks them against Digest, decompresses them by magic
// number, checks the tar against DiffID and returns its files.
func readBlob(t testing.TB, b layers.Blob) map[string]string {
	t.Helper()
	rc, err := b.Open()
	if err != nil {
		t.Fatalf("layer %d: %v", b.Info.Index, err)
	}
	stored, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("layer %d: %v", b.Info.Index, err)
	}
	if got := sha(stored); got != b.Info.Digest {
		t.Errorf("layer %d: Open returned bytes with digest %s, Info.Digest is %s", b.Info.Index, got, b.Info.Digest)
	}
	tarBytes := decompress(t, stored)
	if got := sha(tarBytes); got != b.Info.DiffID {
		t.Errorf("layer %d: uncompressed digest %s, Info.DiffID is %s", b.Info.Index, got, b.Info.DiffID)
	}
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(tarBytes))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("layer %d: %v", b.Info.Index, err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = string(body)
	}
}

func decompress(t testing.TB, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		r, err = gzip.NewReader(bytes.NewReader(b))
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		r, err = zstd.NewReader(bytes.NewReader(b))
	default:
		return b
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeMulti(p string, tags map[name.Tag]v1.Image) error {
	return tarball.MultiWriteToFile(p, tags)
}
