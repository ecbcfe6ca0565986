package integrity_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/integrity"
	"github.com/vigilsec/vigil/hygiene/internal/hygienetest"
	"github.com/vigilsec/vigil/internal/testimage"
)

// TestCleanDebian: every file of a fresh debootstrap is as dpkg installed
// it, so every issue would be a false positive. The test also checks that
// the comparison ran at all: the base has hundreds of digests.
func TestCleanDebian(t *testing.T) {
	in, issues := hygienetest.Scan(t, testimage.DebianImage(t), integrity.New())
	for _, is := range issues["integrity"] {
		t.Errorf("false positive: %s: %s [%s]", is.Title, is.Message, is.Evidence)
	}
	digests := 0
	for _, c := range in.Inventory.Components {
		for _, f := range c.Files {
			if strings.HasPrefix(f.Digest, "md5:") {
				digests++
			}
		}
	}
	if digests < 1000 {
		t.Errorf("only %d md5 digests in the inventory: the comparison had nothing to compare", digests)
	}
}

func TestDirtyImage(t *testing.T) {
	img, _ := hygienetest.Dirty(t)
	in, all := hygienetest.Scan(t, img, integrity.New())
	names := map[string]string{}
	for _, c := range in.Inventory.Components {
		names[c.Ref] = c.Name
	}
	issues := all["integrity"]
	for _, is := range issues {
		t.Logf("%s %s %s layer=%d: %s [%s]", is.Severity, is.Path, is.Component, is.Layer.Index, is.Message, is.Evidence)
	}
	tests := []struct {
		path     string // as dpkg records it
		pkg      string
		severity hygiene.Severity
	}{
		// dpkg says /bin/hostname; the file is usr/bin/hostname (merged /usr).
		{"/bin/hostname", "hostname", hygiene.High},
		{"/" + hygienetest.TamperedConffile, "login", hygiene.Low},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var got *hygiene.Issue
			for i := range issues {
				if issues[i].Path == tt.path {
					got = &issues[i]
				}
			}
			if got == nil {
				t.Fatalf("no issue for %s", tt.path)
			}
			if got.Rule != integrity.Rule || got.Severity != tt.severity {
				t.Errorf("rule %s severity %s, want %s %s", got.Rule, got.Severity, integrity.Rule, tt.severity)
			}
			if !strings.Contains(got.Message, "package "+tt.pkg+" ") || names[got.Component] != tt.pkg {
				t.Errorf("package %s not named: component %q, %s", tt.pkg, got.Component, got.Message)
			}
			if got.Layer == nil || got.Layer.Index != hygienetest.TamperLayer {
				t.Errorf("layer %v, want %d", got.Layer, hygienetest.TamperLayer)
			}
		})
	}
	// Edited documentation is not tampering worth a report.
	if len(issues) != len(tests) {
		t.Errorf("%d issues, want %d", len(issues), len(tests))
	}
}

// TestDiversion: `dpkg-divert --local --rename --add /bin/hostname` moves
// the packaged file to /bin/hostname.distrib and frees /bin/hostname for a
// wrapper. The wrapper is not the package's file; the moved original is,
// and is checked where it now lives.
func TestDiversion(t *testing.T) {
	testimage.Require(t, "dpkg-divert")
	rootfs := testimage.Debootstrap(t, "bookworm", "minbase")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "var/lib/dpkg"), os.DirFS(filepath.Join(rootfs, "var/lib/dpkg"))); err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(filepath.Join(rootfs, "usr/bin/hostname"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/bin/hostname"), original, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dpkg-divert", "--admindir="+filepath.Join(dir, "var/lib/dpkg"), "--instdir="+dir, "--local", "--rename", "--add", "/bin/hostname")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	diversions, err := os.ReadFile(filepath.Join(dir, "var/lib/dpkg/diversions"))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := os.ReadFile(filepath.Join(dir, "usr/bin/hostname.distrib"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		moved string
		want  []string
	}{
		{"intact", string(moved), nil},
		{"moved file tampered with", "#!/bin/sh\necho pwned\n", []string{"/bin/hostname.distrib"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			layer := testimage.LayerFromFiles(t, []testimage.File{
				{Path: "usr/bin/hostname.distrib", Mode: 0o755, Body: tt.moved},
				{Path: "usr/bin/hostname", Mode: 0o755, Body: "#!/bin/sh\nexec /bin/hostname.distrib \"$@\"\n"},
				{Path: "var/lib/dpkg/diversions", Body: string(diversions)},
			})
			img := testimage.Build(t, testimage.DebianImage(t), []v1.Layer{layer}, []string{"RUN dpkg-divert --local --rename --add /bin/hostname"}, nil)
			_, all := hygienetest.Scan(t, img, integrity.New())
			var got []string
			for _, is := range all["integrity"] {
				t.Logf("%s: %s", is.Severity, is.Message)
				got = append(got, is.Path)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("issues at %q, want %q", got, tt.want)
			}
		})
	}
}
