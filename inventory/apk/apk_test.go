package apk

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/golden"

	"github.com/vigilsec/vigil/inventory/internal/catalogtest"

	"github.com/vigilsec/vigil/inventory"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

var alpine319 = inventory.Environment{Distro: &inventory.Distro{ID: "alpine", VersionID: "3.19.1", PrettyName: "Alpine Linux v3.19"}}

func catalogDir(t testing.TB, dir string, env inventory.Environment) ([]inventory.Component, error) {
	return catalogtest.Dir(t, Cataloger{}, dir, env)
}

func writeDB(t testing.TB, db string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, installedFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(db), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestParseInstalled(t *testing.T) {
	sha1of := func(s string) string {
		h := sha1.Sum([]byte(s))
		return "sha1:" + hex.EncodeToString(h[:])
	}
	tests := []struct {
		name string
		in   string
		want []record
	}{
		{
			name: "fields and files",
			in: "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\nm:Timo <t@example.org>\nU:https://musl.libc.org/\nc:0b8f\n" +
				"F:lib\nR:libc.musl-x86_64.so.1\na:0:0:777\nZ:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=\n\n",
			want: []record{{
				name: "musl", version: "1.2.4-r2", arch: "x86_64", license: "MIT", origin: "musl",
				maintainer: "Timo <t@example.org>", url: "https://musl.libc.org/", commit: "0b8f",
				// apk checksums a link by its target.
				files: []inventory.File{{Path: "/lib/libc.musl-x86_64.so.1", Digest: sha1of("ld-musl-x86_64.so.1")}},
				line:  1,
			}},
		},
		{
			name: "directories without files, M: lines, root directory",
			in:   "P:a\nV:1\nF:tmp\nM:0:0:1777\nF:\nR:top\nF:usr/bin\nR:x\nR:y\nZ:d41d8cd98f00b204e9800998ecf8427e\n",
			want: []record{{name: "a", version: "1", line: 1, files: []inventory.File{
				{Path: "/top"}, {Path: "/usr/bin/x"}, {Path: "/usr/bin/y", Digest: "md5:d41d8cd98f00b204e9800998ecf8427e"},
			}}},
		},
		{
			name: "Q2 is SHA-256",
			in:   "P:a\nV:1\nF:b\nR:c\nZ:Q2" + "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" + "\n",
			want: []record{{name: "a", version: "1", line: 1, files: []inventory.File{
				{Path: "/b/c", Digest: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
			}}},
		},
		{
			name: "f:S marks truncated SHA-256, not SHA-1: no digest",
			in:   "P:a\nV:1\nf:S\nF:b\nR:c\nZ:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=\n",
			want: []record{{name: "a", version: "1", line: 1, files: []inventory.File{{Path: "/b/c"}}}},
		},
		{
			name: "records split by short lines, no final newline",
			in:   "P:a\nV:1\n\n\nP:b\nV:2\nx\nP:c\nV:3",
			want: []record{{name: "a", version: "1", line: 1}, {name: "b", version: "2", line: 5}, {name: "c", version: "3", line: 8}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseInstalled(strings.NewReader(tt.in))
			if len(errs) > 0 {
				t.Fatal(errors.Join(errs...))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseInstalled =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseInstalledErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		good []string
		want string
	}{
		{"no version", "P:a\n\nP:b\nV:2\n", []string{"b"}, "record at line 1: no P: (name) or V: (version)"},
		{"not a field", "P:a\nV:1\njunk\n", []string{"a"}, `line 3: not a field: "junk"`},
		{"file before directory", "P:a\nV:1\nR:x\n", []string{"a"}, `line 3: file "x" before any F: directory`},
		{"checksum before file", "P:a\nV:1\nF:x\nZ:Q1aaaa\n", []string{"a"}, "line 4: checksum before any R: file"},
		{"bad base64", "P:a\nV:1\nF:x\nR:y\nZ:Q1!!!!\n", []string{"a"}, `line 5: /x/y: checksum "Q1!!!!" is not base64 of a sha1`},
		{"wrong length", "P:a\nV:1\nF:x\nR:y\nZ:Q1AAAA\n", []string{"a"}, `checksum "Q1AAAA" is not base64 of a sha1`},
		{"unknown type", "P:a\nV:1\nF:x\nR:y\nZ:Q9AAAA\n", []string{"a"}, `unknown checksum type "Q9AAAA"`},
		{"not a checksum", "P:a\nV:1\nF:x\nR:y\nZ:zz\n", []string{"a"}, `checksum "zz" is neither`},
		{"over-long line", "P:a\nV:1\nT:" + strings.Repeat("x", maxLine) + "\n", nil, "line 3: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseInstalled(strings.NewReader(tt.in))
			var names []string
			for _, r := range got {
				names = append(names, r.name)
			}
			if !slices.Equal(names, tt.good) {
				t.Errorf("packages = %q, want %q", names, tt.good)
			}
			if err := errors.Join(errs...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseInstalledStopsOnGarbage(t *testing.T) {
	_, errs := parseInstalled(strings.NewReader(strings.Repeat("garbage\n", 10000)))
	if len(errs) != maxErrors+2 || !strings.Contains(errs[len(errs)-1].Error(), "stopped at line") {
		t.Fatalf("got %d errors, last %v; want %d ending with the stop", len(errs), errs[len(errs)-1], maxErrors+2)
	}
}

// TestCatalogGolden catalogs the hand-made database described in
// testdata/README.md.
func TestCatalogGolden(t *testing.T) {
	comps, err := catalogDir(t, "testdata/alpine", alpine319)
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, "testdata/alpine.golden.json", comps, *update)
}

func TestCatalog(t *testing.T) {
	comps, err := catalogDir(t, "testdata/alpine", alpine319)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]inventory.Component{}
	for _, c := range comps {
		pkgs[c.Name] = c
	}
	tests := []struct {
		name, purl, source string
		licenses           []string
	}{
		{"musl", "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1", "musl", []string{"MIT"}},
		{"busybox-binsh", "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1&upstream=busybox", "busybox", []string{"GPL-2.0-only"}},
		{"libcrypto3", "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl", "openssl", []string{"Apache-2.0"}},
		{"ca-certificates-bundle", "pkg:apk/alpine/ca-certificates-bundle@20230506-r0?arch=x86_64&distro=alpine-3.19.1&upstream=ca-certificates", "ca-certificates", []string{"MPL-2.0 AND MIT"}},
	}
	for _, tt := range tests {
		c, ok := pkgs[tt.name]
		if !ok {
			t.Errorf("%s not found", tt.name)
			continue
		}
		if c.PURL != tt.purl || c.Source.Name != tt.source || c.Source.Version != c.Version || !slices.Equal(c.Licenses, tt.licenses) ||
			c.Type != "apk" || c.Namespace != "alpine" || c.Cataloger != "apk" || !slices.Equal(c.Locations, []string{"/lib/apk/db/installed"}) {
			t.Errorf("%s = %+v", tt.name, c)
		}
	}
	if len(pkgs) != 6 {
		t.Errorf("got %d packages, want the 6 of the database", len(pkgs))
	}

	// Digests decode to the SHA-1 apk computed: for links, of the target.
	h := sha1.Sum([]byte("/bin/busybox"))
	if got := pkgs["busybox-binsh"].Files; !slices.Equal(got, []inventory.File{{Path: "/bin/sh", Digest: "sha1:" + hex.EncodeToString(h[:])}}) {
		t.Errorf("busybox-binsh files = %+v", got)
	}
	// Directories alone (F:tmp, F:etc/network) are not files.
	for _, f := range pkgs["busybox"].Files {
		if f.Path == "/tmp" || f.Path == "/etc/network" || !strings.HasPrefix(f.Digest, "sha1:") {
			t.Errorf("busybox file %+v", f)
		}
	}
	if got := pkgs["musl"].Metadata[metaMaintainer]; got != "Timo Teräs <timo.teras@iki.fi>" {
		t.Errorf("musl maintainer = %q", got)
	}
}

func TestCatalogOtherDistros(t *testing.T) {
	db := "P:busybox-binsh\nV:1.36.1-r29\nA:aarch64\no:busybox\n\n"
	tests := []struct {
		env  inventory.Environment
		want string
	}{
		{inventory.Environment{}, "pkg:apk/alpine/busybox-binsh@1.36.1-r29?arch=aarch64&upstream=busybox"},
		{inventory.Environment{Distro: &inventory.Distro{ID: "wolfi", VersionID: "20230201"}},
			"pkg:apk/wolfi/busybox-binsh@1.36.1-r29?arch=aarch64&distro=wolfi-20230201&upstream=busybox"},
	}
	for _, tt := range tests {
		comps, err := catalogDir(t, writeDB(t, db), tt.env)
		if err != nil {
			t.Fatal(err)
		}
		if len(comps) != 1 || comps[0].PURL != tt.want {
			t.Errorf("Catalog = %+v, want purl %q", comps, tt.want)
		}
	}
}

func TestCatalogMissing(t *testing.T) {
	dir := t.TempDir()
	comps, err := catalogDir(t, dir, alpine319)
	if comps != nil || err != nil {
		t.Errorf("Catalog of an image without apk = %v, %v", comps, err)
	}
}

func TestCatalogPartial(t *testing.T) {
	comps, err := catalogDir(t, writeDB(t, "P:good\nV:1\nF:x\nR:y\nZ:bogus\n\nP:noversion\n\nP:also-good\nV:2\n"), alpine319)
	var names []string
	for _, c := range comps {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"good", "also-good"}) {
		t.Errorf("packages = %q", names)
	}
	for _, w := range []string{"read lib/apk/db/installed: line 5: /x/y: checksum", "read lib/apk/db/installed: record at line 7"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error = %v, want it to contain %q", err, w)
		}
	}
}

func TestCatalogNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, installedFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := catalogDir(t, dir, alpine319); err == nil || !strings.Contains(err.Error(), "lib/apk/db/installed: not a regular file") {
		t.Errorf("error = %v", err)
	}
}

// TestCatalogThroughWalk streams testdata/alpine as an image layer keeping
// only what Wants asks for, and expects the same result as from the directory.
func TestCatalogThroughWalk(t *testing.T) {
	catalogtest.ThroughWalk(t, Cataloger{}, "testdata/alpine", alpine319)
}

func TestWants(t *testing.T) {
	c := Cataloger{}
	for name, want := range map[string]bool{
		"lib/apk/db/installed":      true,
		"lib/apk/db/installed.new":  false,
		"lib/apk/db/scripts.tar":    false,
		"usr/lib/apk/db/installed":  false,
		"/lib/apk/db/installed":     false,
		"lib/apk/db/installed/file": false,
	} {
		if got := c.Wants(name, 0o644, 1, nil); got != want {
			t.Errorf("Wants(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzParseInstalled(f *testing.F) {
	b, err := os.ReadFile("testdata/alpine/" + installedFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("P:a\nV:1\nf:S\nF:\nR:x\nZ:Q2AAAA\nZ:d41d8cd98f00b204e9800998ecf8427e\n\nx\nP:b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		records, errs := parseInstalled(bytes.NewReader(b))
		if len(errs) > maxErrors+2 {
			t.Fatalf("%d errors, more than the bound", len(errs))
		}
		for _, r := range records {
			if r.name == "" || r.version == "" {
				t.Fatalf("record at line %d without name or version", r.line)
			}
			for _, f := range r.files {
				if !strings.HasPrefix(f.Path, "/") {
					t.Fatalf("relative path %q", f.Path)
				}
			}
		}
	})
}
