package image

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/testimage"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref, scheme, arg string
		err              string
	}{
		{ref: "registry:alpine:3.19", scheme: SchemeRegistry, arg: "alpine:3.19"},
		{ref: "docker-archive:/tmp/x.tar:app:1", scheme: SchemeDockerArchive, arg: "/tmp/x.tar:app:1"},
		{ref: "oci-dir:/tmp/layout", scheme: SchemeOCIDir, arg: "/tmp/layout"},
		{ref: "dir:/", scheme: SchemeDir, arg: "/"},
		{ref: "alpine:3.19", arg: "alpine:3.19"},
		{ref: "localhost:5000/app", arg: "localhost:5000/app"},
		{ref: "ghcr.io/org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000", arg: "ghcr.io/org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"},
		{ref: "oci-dri:/tmp/x", err: `unknown scheme "oci-dri"; valid schemes are registry:, docker-archive:, oci-archive:, oci-dir:, dir:`},
		{ref: "docker:alpine", err: "a Docker daemon is not supported"},
		{ref: "dir:", err: "nothing after the scheme"},
		{ref: "", err: "no image named"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			scheme, arg, err := parseRef(tt.ref)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || scheme != tt.scheme || arg != tt.arg {
				t.Fatalf("got %q %q %v, want %q %q", scheme, arg, err, tt.scheme, tt.arg)
			}
		})
	}
}

func TestLayerHistory(t *testing.T) {
	made := func(s string) v1.History { return v1.History{CreatedBy: s} }
	empty := func(s string) v1.History { return v1.History{CreatedBy: s, EmptyLayer: true} }
	tests := []struct {
		name    string
		history []v1.History
		layers  int
		want    []string
	}{
		{"matched", []v1.History{made("a"), empty("e"), made("b")}, 2, []string{"a", "b"}},
		{"short", []v1.History{empty("e"), made("a")}, 3, []string{"a", "", ""}},
		{"long", []v1.History{made("a"), made("b"), made("c")}, 2, []string{"a", "b"}},
		{"none", nil, 1, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := layerHistory(tt.history, tt.layers)
			for i, w := range tt.want {
				var g string
				if got[i] != nil {
					g = got[i].CreatedBy
				}
				if g != w {
					t.Errorf("layer %d: %q, want %q", i, g, w)
				}
			}
		})
	}
}

// TestOpenSchemes opens one image through every scheme, named explicitly
// and detected, and checks what Open reports against the image itself.
func TestOpenSchemes(t *testing.T) {
	img := fixture(t, "amd64")
	dockerTar := testimage.WriteDockerArchive(t, img, "vigil.test/app:1")
	layoutDir := testimage.WriteOCILayout(t, img)
	ociTar := testimage.WriteOCIArchive(t, img)
	host := testimage.Registry(t)
	testimage.Push(t, host, "app:1", img)
	rootfs := t.TempDir()

	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref, scheme, name string
		// sameManifest is false for docker-archive, which stores no
		// manifest: the digest is of one derived from the archive.
		sameManifest bool
	}{
		{"registry:" + host + "/app:1", SchemeRegistry, host + "/app:1", true},
		{host + "/app:1", SchemeRegistry, host + "/app:1", true},
		{"docker-archive:" + dockerTar, SchemeDockerArchive, dockerTar, false},
		{"docker-archive:" + dockerTar + ":vigil.test/app:1", SchemeDockerArchive, dockerTar, false},
		{dockerTar, SchemeDockerArchive, dockerTar, false},
		{"oci-archive:" + ociTar, SchemeOCIArchive, ociTar, true},
		{ociTar, SchemeOCIArchive, ociTar, true},
		{"oci-dir:" + layoutDir, SchemeOCIDir, layoutDir, true},
		{layoutDir, SchemeOCIDir, layoutDir, true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			src, err := Open(context.Background(), tt.ref, Options{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			info := src.Info
			if info.Ref != tt.ref || info.Scheme != tt.scheme || info.Name != tt.name {
				t.Errorf("ref, scheme, name = %q %q %q; want %q %q %q", info.Ref, info.Scheme, info.Name, tt.ref, tt.scheme, tt.name)
			}
			raw, err := src.Image.RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			if tt.sameManifest && (info.Digest != digest.String() || sha(raw) != info.Digest) {
				t.Errorf("digest %s, want %s", info.Digest, digest)
			}
			checkFixture(t, src)
		})
	}
	t.Run("dir", func(t *testing.T) {
		for _, ref := range []string{"dir:" + rootfs, rootfs} {
			src, err := Open(context.Background(), ref, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if src.Info.Scheme != SchemeDir || src.Dir != rootfs || src.Image != nil || len(src.Layers) != 0 {
				t.Errorf("%s: %+v", ref, src)
			}
		}
	})
}

// checkFixture checks a Source opened from fixture(t, "amd64").
func checkFixture(t *testing.T, src *Source) {
	t.Helper()
	img := src.Image
	cfgName, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	info := src.Info
	if info.Config != cfgName.String() || info.OS != "linux" || info.Arch != "amd64" {
		t.Errorf("config %s os %s arch %s; want %s linux amd64", info.Config, info.OS, info.Arch, cfgName)
	}
	if info.BaseName != baseName || info.BaseDigest != baseDigest {
		t.Errorf("base %q %q, want %q %q", info.BaseName, info.BaseDigest, baseName, baseDigest)
	}
	if len(src.Layers) != 2 || src.Config == nil || src.Manifest == nil {
		t.Fatalf("%d layers, config %v, manifest %v", len(src.Layers), src.Config != nil, src.Manifest != nil)
	}
	want := []struct{ createdBy, comment string }{
		{"ADD rootfs.tar /", ""},
		{"COPY app /app", "buildkit.dockerfile.v0"},
	}
	for i, b := range src.Layers {
		li := b.Info
		if li.Index != i || li.DiffID != src.Config.RootFS.DiffIDs[i].String() || li.Digest != src.Manifest.Layers[i].Digest.String() || li.Size != src.Manifest.Layers[i].Size || li.MediaType == "" {
			t.Errorf("layer %d info %+v disagrees with manifest %+v", i, li, src.Manifest.Layers[i])
		}
		if li.CreatedBy != want[i].createdBy || li.Comment != want[i].comment {
			t.Errorf("layer %d history %q %q, want %q %q", i, li.CreatedBy, li.Comment, want[i].createdBy, want[i].comment)
		}
		files := readBlob(t, b)
		if len(files) != len(fixtureFiles[i]) {
			t.Errorf("layer %d has %d entries, want %d", i, len(files), len(fixtureFiles[i]))
		}
		for name, body := range fixtureFiles[i] {
			if got, ok := files[name]; !ok || got != body {
				t.Errorf("layer %d %s = %q (present %v), want %q", i, name, got, ok, body)
			}
		}
	}
	if !src.Layers[0].Info.Created.Equal(testimage.Epoch) {
		t.Errorf("layer 0 created %v, want %v", src.Layers[0].Info.Created, testimage.Epoch)
	}
}

func TestOpenErrors(t *testing.T) {
	notTar := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notTar, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyTar := filepath.Join(t.TempDir(), "empty.tar")
	f, err := os.Create(emptyTar)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.TarDir(f, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tests := []struct {
		ref  string
		opts Options
		err  string
	}{
		{ref: notTar, err: "read tar " + notTar},
		{ref: emptyTar, err: "neither a docker-archive (no manifest.json) nor an oci-archive"},
		{ref: "dir:" + notTar, err: "not a directory"},
		{ref: "oci-dir:" + t.TempDir(), err: "not an OCI layout"},
		{ref: "docker-archive:" + emptyTar, err: "manifest.json is missing from the archive"},
		{ref: "./no/such/thing.tar", err: "neither an existing path nor an image reference"},
		{ref: "dir:/", opts: Options{Platform: "amd64"}, err: `platform "amd64": want os/arch`},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			_, err := Open(context.Background(), tt.ref, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}
