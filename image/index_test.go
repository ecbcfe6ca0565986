package image

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vigilsec/vigil/internal/testimage"
)

// multiArch is an index of linux/amd64 and linux/arm64/v8 images plus an
// attestation manifest, as buildx pushes them.
func multiArch(t *testing.T) (v1.ImageIndex, map[string]v1.Hash) {
	t.Helper()
	digests := map[string]v1.Hash{}
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img := fixture(t, p.Architecture)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests[p.String()] = d
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	att := testimage.Build(t, nil, nil, nil, nil)
	adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}})
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	return idx, digests
}

func TestMultiArch(t *testing.T) {
	idx, digests := multiArch(t)
	host := testimage.Registry(t)
	ref, err := name.ParseReference(host+"/multi:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	// An OCI layout whose index.json points at the index, as skopeo and
	// buildx write multi-platform layouts.
	dir := filepath.Join(t.TempDir(), "oci")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		platform string
		want     string // platform whose image is chosen
		err      string
	}{
		{platform: "", want: "linux/amd64"},
		{platform: "linux/arm64", want: "linux/arm64/v8"},
		{platform: "linux/arm64/v8", want: "linux/arm64/v8"},
		{platform: "linux/arm64/v7", err: "no image for platform linux/arm64/v7; available: linux/amd64, linux/arm64/v8"},
		{platform: "linux/s390x", err: "no image for platform linux/s390x; available: linux/amd64, linux/arm64/v8"},
	}
	for _, src := range []string{"registry:" + host + "/multi:1", "oci-dir:" + dir} {
		for _, tt := range tests {
			t.Run(src+"/"+tt.platform, func(t *testing.T) {
				s, err := Open(context.Background(), src, Options{Platform: tt.platform})
				if tt.err != "" {
					if err == nil || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("error %v, want one containing %q", err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if s.Info.Digest != digests[tt.want].String() {
					t.Errorf("chose %s (%s/%s), want the %s image %s", s.Info.Digest, s.Info.OS, s.Info.Arch, tt.want, digests[tt.want])
				}
				wantArch := strings.Split(tt.want, "/")[1]
				if s.Info.Arch != wantArch {
					t.Errorf("arch %s, want %s", s.Info.Arch, wantArch)
				}
			})
		}
	}
}

// TestLayoutNames picks among several images of one OCI layout by their
// org.opencontainers.image.ref.name, as skopeo's oci:DIR:NAME does.
func TestLayoutNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "oci")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		img := fixture(t, arch)
		if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "app-" + arch})); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests[arch] = d.String()
	}
	tests := []struct {
		ref, wantDigest, err string
	}{
		{ref: "oci-dir:" + dir + ":app-arm64", wantDigest: digests["arm64"]},
		{ref: "oci-dir:" + dir + ":app-amd64", wantDigest: digests["amd64"]},
		{ref: "oci-dir:" + dir + ":nope", err: `no manifest named "nope"; names: app-amd64, app-arm64`},
		{ref: "oci-dir:" + dir, err: "name one as PATH:NAME (names: app-amd64, app-arm64)"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			s, err := Open(context.Background(), tt.ref, Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Info.Digest != tt.wantDigest {
				t.Errorf("digest %s, want %s", s.Info.Digest, tt.wantDigest)
			}
		})
	}
}

// TestDockerArchiveTags picks among several images of one docker save.
func TestDockerArchiveTags(t *testing.T) {
	amd, arm := fixture(t, "amd64"), fixture(t, "arm64")
	p := filepath.Join(t.TempDir(), "two.tar")
	tags := map[name.Tag]v1.Image{}
	for tag, img := range map[string]v1.Image{"vigil.test/a:1": amd, "vigil.test/b:2": arm} {
		tt, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		tags[tt] = img
	}
	if err := tarball.MultiWriteToFile(p, tags); err != nil {
		t.Fatal(err)
	}
	armCfg, _ := arm.ConfigName()
	s, err := Open(context.Background(), "docker-archive:"+p+":vigil.test/b:2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Info.Config != armCfg.String() || s.Info.Arch != "arm64" {
		t.Errorf("tag b:2 opened config %s arch %s, want %s arm64", s.Info.Config, s.Info.Arch, armCfg)
	}
	for ref, want := range map[string]string{
		p:                              "archive holds 2 images; name one as docker-archive:PATH:TAG (tags: vigil.test/a:1, vigil.test/b:2)",
		"docker-archive:" + p + ":c:3": "no image tagged c:3; tags: vigil.test/a:1, vigil.test/b:2",
	} {
		if _, err := Open(context.Background(), ref, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", ref, err, want)
		}
	}
}
