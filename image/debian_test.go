package image

import (
	"archive/tar"
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
)

// TestDebian opens a real Debian root filesystem image from a
// docker-archive and a registry and finds dpkg's database in its layer.
func TestDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian root filesystem the first time")
	}
	img := testimage.DebianImage(t)
	host := testimage.Registry(t)
	testimage.Push(t, host, "debian:bookworm", img)
	for _, ref := range []string{testimage.WriteDockerArchive(t, img, "vigil.test/debian:bookworm"), host + "/debian:bookworm"} {
		t.Run(ref, func(t *testing.T) {
			s, err := Open(context.Background(), ref, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Layers) != 1 || !strings.HasPrefix(s.Layers[0].Info.CreatedBy, "debootstrap") {
				t.Fatalf("layers %+v", s.Layers)
			}
			found := false
			walkBlob(t, s.Layers[0], func(h *tar.Header, r io.Reader) {
				if h.Name != "var/lib/dpkg/status" {
					return
				}
				sc := bufio.NewScanner(r)
				for sc.Scan() {
					found = found || sc.Text() == "Package: base-files"
				}
			})
			if !found {
				t.Error("no base-files in var/lib/dpkg/status")
			}
		})
	}
}
