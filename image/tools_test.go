package image

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vigilsec/vigil/internal/testimage"
)

// TestSkopeoArchives opens archives written by skopeo, the tool most
// pipelines use to move images into files. Its docker-archive stores
// layers uncompressed, as docker save does: each layer's Digest must then
// be its DiffID and Open must return the plain tar (readBlob checks both).
func TestSkopeoArchives(t *testing.T) {
	testimage.Require(t, "skopeo")
	layoutDir := testimage.WriteOCILayout(t, fixture(t, "amd64"))
	dir := t.TempDir()
	dockerTar := filepath.Join(dir, "docker.tar")
	ociTar := filepath.Join(dir, "oci.tar")
	for _, dst := range []string{"docker-archive:" + dockerTar + ":vigil.test/app:1", "oci-archive:" + ociTar + ":app"} {
		cmd := exec.CommandContext(t.Context(), "skopeo", "--insecure-policy", "copy", "oci:"+layoutDir, dst)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
	}
	tests := []struct {
		ref, scheme  string
		uncompressed bool
	}{
		{dockerTar, SchemeDockerArchive, true},
		{"docker-archive:" + dockerTar + ":vigil.test/app:1", SchemeDockerArchive, true},
		{ociTar, SchemeOCIArchive, false},
		{"oci-archive:" + ociTar + ":app", SchemeOCIArchive, false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			s, err := Open(context.Background(), tt.ref, Options{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Info.Scheme != tt.scheme {
				t.Errorf("scheme %s, want %s", s.Info.Scheme, tt.scheme)
			}
			for _, l := range s.Layers {
				if stored := l.Info.Digest == l.Info.DiffID; stored != tt.uncompressed {
					t.Errorf("layer %d digest %s diff_id %s; uncompressed archive: %v", l.Info.Index, l.Info.Digest, l.Info.DiffID, tt.uncompressed)
				}
				if tt.uncompressed && l.Info.MediaType != string(types.DockerUncompressedLayer) {
					t.Errorf("layer %d media type %s", l.Info.Index, l.Info.MediaType)
				}
			}
			checkFixture(t, s)
		})
	}
}
