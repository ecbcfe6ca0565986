package python

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/golden"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

// TestCatalogDebian catalogs real Debian python3-* packages, which ship
// egg-info (requests, urllib3, six, certifi) and dist-info (PyYAML, pip)
// directories under usr/lib/python3/dist-packages. The expected version of
// each distribution is the upstream part of the Debian package version.
func TestCatalogDebian(t *testing.T) {
	tests := []struct {
		deb, name, declared, license, format, topLevel string
	}{
		{"python3-requests", "requests", "requests", "Apache 2.0", "egg-info", "requests"},
		{"python3-urllib3", "urllib3", "urllib3", "MIT", "egg-info", "urllib3"},
		{"python3-six", "six", "six", "MIT", "egg-info", "six"},
		{"python3-certifi", "certifi", "certifi", "MPL-2.0", "egg-info", "certifi"},
		{"python3-yaml", "pyyaml", "PyYAML", "MIT", "dist-info", "_yaml,yaml"},
		{"python3-pip", "pip", "pip", "MIT", "dist-info", "pip"},
	}
	names := make([]string, len(tests))
	for i, tt := range tests {
		names[i] = tt.deb
	}
	debs := testimage.AptDownload(t, names...)
	root := t.TempDir()
	for _, deb := range debs {
		testimage.ExtractDeb(t, deb, root)
	}
	fsys, err := layers.FromDir(root, layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	comps, err := Cataloger{}.Catalog(t.Context(), fsys, inventory.Environment{})
	if err != nil {
		t.Errorf("Catalog: %v", err)
	}
	if len(comps) != len(tests) {
		t.Errorf("got %d components, want %d", len(comps), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.deb, func(t *testing.T) {
			version := upstreamVersion(t, debs[i])
			i := slices.IndexFunc(comps, func(c inventory.Component) bool { return c.Name == tt.name })
			if i < 0 {
				t.Fatalf("no component %s", tt.name)
			}
			c := comps[i]
			if c.Version != version || c.PURL != "pkg:pypi/"+tt.name+"@"+version || c.Type != "pypi" || c.Cataloger != "python" {
				t.Errorf("got %s %s %s (type %s, cataloger %s), want version %s", c.Name, c.Version, c.PURL, c.Type, c.Cataloger, version)
			}
			if !slices.Equal(c.Licenses, []string{tt.license}) {
				t.Errorf("licenses %q, want %q", c.Licenses, tt.license)
			}
			if c.Metadata[MetaName] != tt.declared || c.Metadata[MetaFormat] != tt.format || c.Metadata[MetaTopLevel] != tt.topLevel {
				t.Errorf("metadata %v", c.Metadata)
			}
			dir := "/usr/lib/python3/dist-packages/" + tt.declared + "-" + version + "." + tt.format
			wantLoc := dir + "/PKG-INFO"
			if tt.format == "dist-info" {
				wantLoc = dir + "/METADATA"
			}
			if !slices.Equal(c.Locations, []string{wantLoc}) {
				t.Errorf("locations %v, want %s", c.Locations, wantLoc)
			}
			if tt.format == "egg-info" {
				if len(c.Files) != 0 {
					t.Errorf("egg-info with %d files", len(c.Files))
				}
				return
			}
			checkRecord(t, root, c.Files)
		})
	}
}

// checkRecord verifies the files of a dist-info against the extracted
// package: every digest RECORD lists must be the digest of the file.
func checkRecord(t *testing.T, root string, files []inventory.File) {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("no files from RECORD")
	}
	digests := 0
	for _, f := range files {
		if f.Digest == "" {
			continue
		}
		algo, _, _ := strings.Cut(f.Digest, ":")
		if algo != "sha256" {
			t.Errorf("%s: digest %s", f.Path, f.Digest)
			continue
		}
		// Debian strips compiled extension modules after the wheel's
		// RECORD was written, and moves some files (pip's scripts)
		// elsewhere: only Python sources keep their recorded digests.
		if !strings.HasSuffix(f.Path, ".py") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil {
			t.Error(err)
			continue
		}
		if sum := sha256.Sum256(b); "sha256:"+hex.EncodeToString(sum[:]) != f.Digest {
			t.Errorf("%s: RECORD says %s, file is sha256:%x", f.Path, f.Digest, sum)
		}
		digests++
	}
	if digests == 0 {
		t.Error("no RECORD digest could be checked against a file")
	}
}

var debRevision = regexp.MustCompile(`^(?:\d+:)?(.*?)(?:\+(?:dfsg|ds)[^-]*)?(?:-[^-]+)?$`)

// upstreamVersion is the upstream part of a .deb's version: no epoch, no
// Debian revision, no +dfsg repack marker.
func upstreamVersion(t *testing.T, deb string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-f", deb, "Version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return debRevision.FindStringSubmatch(strings.TrimSpace(string(out)))[1]
}

func TestWants(t *testing.T) {
	tests := []struct {
		name string
		mode os.FileMode
		want bool
	}{
		{"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA", 0o644, true},
		{"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD", 0o644, true},
		{"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/top_level.txt", 0o644, true},
		{"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/WHEEL", 0o644, false},
		{"usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", 0o644, true},
		{"usr/lib/python3/dist-packages/six-1.16.0.egg-info/top_level.txt", 0o644, true},
		{"usr/lib/python3/dist-packages/six-1.16.0.egg-info/requires.txt", 0o644, false},
		{"usr/lib/python3.11/site-packages/legacy-1.0-py3.11.egg-info", 0o644, true},
		{"opt/app/foo-1.0-py3.egg/EGG-INFO/PKG-INFO", 0o644, true},
		{"usr/lib/python3/dist-packages/yaml/METADATA", 0o644, false},
		{"usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA", os.ModeSymlink, false},
		{"PKG-INFO", 0o644, false},
	}
	for _, tt := range tests {
		if got := (Cataloger{}).Wants(tt.name, tt.mode, 0, nil); got != tt.want {
			t.Errorf("Wants(%s, %v) = %v, want %v", tt.name, tt.mode, got, tt.want)
		}
	}
}

// TestCatalogLayout covers the places distributions live that Debian's
// packages do not: a single-file egg-info, an unzipped egg, a virtualenv, a
// dist-info without RECORD, and broken metadata next to good metadata.
func TestCatalogLayout(t *testing.T) {
	yaml, err := os.ReadFile(filepath.Join("testdata", "pyyaml-6.0.METADATA"))
	if err != nil {
		t.Fatal(err)
	}
	six, err := os.ReadFile(filepath.Join("testdata", "six-1.16.0.PKG-INFO"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	files := map[string][]byte{
		"opt/venv/lib/python3.11/site-packages/PyYAML-6.0.dist-info/METADATA":    yaml,
		"usr/lib/python3.11/site-packages/six-1.16.0-py3.11.egg-info":            six,
		"opt/eggs/six-1.16.0-py3.egg/EGG-INFO/PKG-INFO":                          six,
		"usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA":            []byte("Metadata-Version: 2.1\nName: broken\n"),
		"usr/lib/python3/dist-packages/empty-1.0.dist-info/RECORD":               nil,
		"usr/lib/python3/dist-packages/badrecord-1.0.dist-info/METADATA":         []byte("Name: badrecord\nVersion: 1.0\n"),
		"usr/lib/python3/dist-packages/badrecord-1.0.dist-info/RECORD":           []byte("a.py,sha256=!!!,3\n"),
		"proc/1/root/usr/lib/python3/dist-packages/ghost-1.0.dist-info/METADATA": []byte("Name: ghost\nVersion: 1.0\n"),
	}
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := layers.FromDir(root, layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	comps, err := Cataloger{}.Catalog(t.Context(), fsys, inventory.Environment{})

	var got []string
	for _, c := range comps {
		got = append(got, c.PURL+" "+c.Locations[0]+" "+c.Metadata[MetaFormat])
	}
	slices.Sort(got)
	want := []string{
		"pkg:pypi/badrecord@1.0 /usr/lib/python3/dist-packages/badrecord-1.0.dist-info/METADATA dist-info",
		"pkg:pypi/pyyaml@6.0 /opt/venv/lib/python3.11/site-packages/PyYAML-6.0.dist-info/METADATA dist-info",
		"pkg:pypi/six@1.16.0 /opt/eggs/six-1.16.0-py3.egg/EGG-INFO/PKG-INFO egg-info",
		"pkg:pypi/six@1.16.0 /usr/lib/python3.11/site-packages/six-1.16.0-py3.11.egg-info egg-info",
	}
	if !slices.Equal(got, want) {
		t.Errorf("components:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each skipped distribution is named in the joined error.
	for _, frag := range []string{"broken-1.0.dist-info/METADATA", "empty-1.0.dist-info/METADATA", "badrecord-1.0.dist-info/RECORD"} {
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("error %v does not name %s", err, frag)
		}
	}
}

// TestParseMetadata compares the components parsed from testdata with golden
// files: real METADATA and PKG-INFO files from Debian packages and edge cases
// (PEP 639 expressions, classifiers only, pasted license text, a stray line,
// CRLF line ends).
func TestParseMetadata(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		if strings.HasSuffix(in, ".json") || strings.HasSuffix(in, ".RECORD") {
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var result any
			if comp, err := ParseMetadata(bytes.NewReader(b)); err != nil {
				result = map[string]string{"error": err.Error()}
			} else {
				result = comp
			}
			golden.JSON(t, in+".golden.json", result, *update)
		})
	}
}

func TestParseRecord(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "pyyaml-6.0.RECORD"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := ParseRecord(bytes.NewReader(b), "/usr/lib/python3/dist-packages")
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, filepath.Join("testdata", "pyyaml-6.0.RECORD.golden.json"), files, *update)

	bad := []struct{ name, in string }{
		{"hash without algorithm", "a.py,=abc,1\n"},
		{"hash not base64", "a.py,sha256=@@@,1\n"},
		{"unterminated quote", "\"a.py,sha256=abc,1\n"},
	}
	for _, tt := range bad {
		if _, err := ParseRecord(strings.NewReader(tt.in), "/"); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"PyYAML":             "pyyaml",
		"zope.interface":     "zope-interface",
		"Foo__Bar-._baz":     "foo-bar-baz",
		"typing_extensions":  "typing-extensions",
		"ruamel.yaml.clib":   "ruamel-yaml-clib",
		"already-normalized": "already-normalized",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMetadata(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil && !strings.HasSuffix(in, ".json") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		comp, err := ParseMetadata(bytes.NewReader(b))
		if err == nil && (comp.Name == "" || comp.Version == "" || comp.PURL == "") {
			t.Errorf("component without name, version or purl: %+v", comp)
		}
		ParseRecord(bytes.NewReader(b), "/")
	})
}
