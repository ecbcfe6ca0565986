package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
)

// vigil runs the command in-process and returns stdout, stderr and the exit code.
func vigil(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestSBOMDebootstrapMatchesDpkgQuery is the foundation's acceptance test:
// the dpkg inventory Vigil reads from a real debootstrap image, through a
// docker-archive, must be exactly what dpkg-query says inside that root.
func TestSBOMDebootstrapMatchesDpkgQuery(t *testing.T) {
	testimage.Require(t, "root", "debootstrap", "chroot")
	rootfs := testimage.Debootstrap(t, "bookworm", "minbase")
	want, err := exec.Command("chroot", rootfs, "dpkg-query", "-W", "-f", "${Package} ${Version} ${Architecture}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query in %s: %v", rootfs, err)
	}
	archive := testimage.WriteDockerArchive(t, testimage.DebianImage(t), "vigil-test/debian:12")

	stdout, stderr, code := vigil(t, "sbom", "docker-archive:"+archive, "-o", "json", "-q")
	if code != 0 {
		t.Fatalf("vigil sbom exit %d: %s", code, stderr)
	}
	var doc struct {
		Inventory inventory.Inventory `json:"inventory"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("decode vigil json: %v\n%.500s", err, stdout)
	}
	var got []string
	for _, c := range doc.Inventory.Components {
		if c.Type != "deb" {
			continue
		}
		got = append(got, c.Name+" "+c.Version+" "+c.Arch)
		if c.Layer == nil || c.Layer.Index != 0 || !strings.HasPrefix(c.Layer.DiffID, "sha256:") {
			t.Errorf("%s: layer = %+v, want layer 0 with its diffID", c.Name, c.Layer)
		}
	}
	wantLines := strings.Split(strings.TrimSpace(string(want)), "\n")
	slices.Sort(got)
	slices.Sort(wantLines)
	if !slices.Equal(got, wantLines) {
		t.Errorf("dpkg inventory differs from dpkg-query:\nonly vigil: %v\nonly dpkg-query: %v", minus(got, wantLines), minus(wantLines, got))
	}
	if d := doc.Inventory.Distro; d == nil || d.ID != "debian" || d.VersionID != "12" || d.Codename != "bookworm" {
		t.Errorf("distro = %+v, want debian 12 bookworm", d)
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
