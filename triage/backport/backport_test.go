package backport

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/vigilsec/vigil/internal/golden"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// How a test file is stored in the image.
const (
	gzipped   = iota
	raw       // not compressed: not a gzip file
	truncated // gzip without its trailer (CRC and size)
	bomb      // generated: see bombChangelog
	manyCVEs  // generated: see manyCVEsChangelog
	symlink   // a symbolic link to src
)

type file struct {
	path string
	src  string // testdata file, or the link target
	how  int
}

type pkg struct {
	name, source string
	files        []string // dpkg's file list
}

type finding struct {
	id        string
	aliases   []string
	related   []string
	pkg       string
	installed string
	typ       string       // "deb" unless set
	verdict   *vex.Verdict // set before Judge
}

// TestJudge runs the provider on small images whose changelogs test one
// rule each. The golden files hold what the parser read of the first file
// (all CVEs kept) and the verdict on each finding; check them by hand when
// -update rewrites them.
func TestJudge(t *testing.T) {
	doc := func(p, base string) string { return "usr/share/doc/" + p + "/" + base }
	one := func(name, source string) []pkg {
		return []pkg{{name: name, source: source, files: []string{"/" + doc(name, "changelog.Debian.gz"), "/" + doc(name, "copyright")}}}
	}
	tests := []struct {
		name     string
		files    []file
		pkgs     []pkg
		findings []finding
	}{
		{
			name:  "multiline",
			files: []file{{doc("libexpat1", "changelog.Debian.gz"), "multiline.txt", gzipped}},
			pkgs:  one("libexpat1", "expat"),
			findings: []finding{
				{id: "CVE-2024-45490"}, // first line of a bullet
				{id: "CVE-2024-45492"}, // continuation line
				{id: "CVE-2024-50602"}, // lower case, in a nested bullet
				{id: "CVE-2022-40674"}, // bracketed reference line, not a "[ Name ]" line
				{id: "CVE-2022-43680"}, // after a "[ Name ]" line
				{id: "CVE-2024-99999"}, // named nowhere
			},
		},
		{
			name:  "revert",
			files: []file{{doc("libc6", "changelog.Debian.gz"), "revert.txt", gzipped}},
			pkgs:  one("libc6", "glibc"),
			findings: []finding{
				{id: "CVE-2023-4911", installed: "2.36-9+deb12u4"}, // the newest entry reverts it
				{id: "CVE-2023-4806", installed: "2.36-9+deb12u4"}, // reverted by the enclosing bullet
				{id: "CVE-2023-4527", installed: "2.36-9+deb12u4"}, // fixed, never reverted
				{id: "CVE-2023-0687", installed: "2.36-9+deb12u4"}, // "reverted" in the same bullet: left open
				{id: "CVE-2023-4911", installed: "2.36-9+deb12u3"}, // the revert is above this version
				{id: "CVE-2023-5156", installed: "2.36-9+deb12u4"}, // reverted, fixed again above
				{id: "CVE-2023-5156", installed: "2.36-9+deb12u5"}, // fixed again after the revert
			},
		},
		{
			name:  "above",
			files: []file{{doc("libcurl4", "changelog.Debian.gz"), "above.txt", gzipped}},
			pkgs:  one("libcurl4", "curl"),
			findings: []finding{
				{id: "CVE-2024-11053", installed: "7.88.1-10+deb12u8"}, // only above
				{id: "CVE-2024-7264", installed: "7.88.1-10+deb12u8"},  // at the installed version
				{id: "CVE-2024-2398", installed: "7.88.1-10+deb12u8"},  // below
			},
		},
		{
			name:  "versions",
			files: []file{{doc("login", "changelog.Debian.gz"), "versions.txt", gzipped}},
			pkgs:  one("login", "shadow"),
			findings: []finding{
				{id: "CVE-2023-4641", installed: "1:4.13+dfsg1-1+deb12u1"},  // 1:4.14.0-1 is above
				{id: "CVE-2023-29383", installed: "1:4.13+dfsg1-1+deb12u1"}, // equal, with epoch
				{id: "CVE-2023-0001", installed: "1:4.13+dfsg1-1+deb12u1"},  // ~bpo11+1 is below
				{id: "CVE-2023-0002", installed: "1:4.13+dfsg1-1+deb12u1"},  // no epoch: below
				{id: "CVE-2023-29383", installed: "1:4.13+dfsg1-1"},         // +deb12u1 is above
				{id: "CVE-2023-0001", installed: "1:4.13+dfsg1-1"},          // ~ sorts before the end
				{id: "CVE-2023-0002", installed: "4.13+dfsg1-1"},            // 4.13+dfsg1-2 is above
			},
		},
		{
			name:  "malformed",
			files: []file{{doc("libssl3", "changelog.Debian.gz"), "malformed.txt", gzipped}},
			pkgs:  one("libssl3", "openssl"),
			findings: []finding{
				{id: "CVE-2024-0001", installed: "3.0.15-1"}, // before any header
				{id: "CVE-2024-0002", installed: "3.0.15-1"}, // header without parentheses
				{id: "CVE-2024-0003", installed: "3.0.15-1"}, // space in the version
				{id: "CVE-2024-0004", installed: "3.0.15-1"}, // invalid version
				{id: "CVE-2024-0005", installed: "3.0.15-1"}, // no semicolon
				{id: "CVE-2024-0006", installed: "3.0.15-1"}, // no distribution
				{id: "CVE-2024-0007", installed: "3.0.15-1"}, // valid
				{id: "CVE-2024-0008", installed: "3.0.15-1"}, // a column-0 line
				{id: "CVE-2024-0009", installed: "3.0.15-1"}, // orphaned after it
				{id: "CVE-2024-0010", installed: "3.0.15-1"}, // no blank line after the header: valid
				{id: "CVE-2024-0011", installed: "3.0.15-1"}, // no trailer: valid
				{id: "CVE-2024-0012", installed: "3.0.15-1"}, // tab-indented: valid
				{id: "CVE-2024-0013", installed: "3.0.15-1"}, // after the emacs footer
			},
		},
		{
			name:     "empty",
			files:    []file{{doc("base-files", "changelog.gz"), "empty.txt", gzipped}},
			pkgs:     []pkg{{name: "base-files", source: "base-files", files: []string{"/" + doc("base-files", "changelog.gz")}}},
			findings: []finding{{id: "CVE-2024-0001", installed: "12.4+deb12u9"}},
		},
		{
			// dpkg lists the changelog, but a path-exclude (as in
			// debian:*-slim) kept it off the disk: no verdict, no error.
			name:     "excluded",
			files:    []file{{doc("base-files", "copyright"), "empty.txt", raw}},
			pkgs:     one("base-files", "base-files"),
			findings: []finding{{id: "CVE-2024-0001", installed: "12.4+deb12u9"}},
		},
		{
			name:     "native",
			files:    []file{{doc("base-files", "changelog.gz"), "native.txt", gzipped}},
			pkgs:     []pkg{{name: "base-files", source: "base-files"}}, // no file list: the conventional paths
			findings: []finding{{id: "CVE-2024-0001", installed: "12.4+deb12u9"}},
		},
		{
			name: "prefer-debian",
			files: []file{
				{doc("libfoo1", "changelog.Debian.gz"), "native.txt", gzipped},
				{doc("libfoo1", "changelog.gz"), "upstream.txt", gzipped},
			},
			pkgs: []pkg{{name: "libfoo1", source: "libfoo", files: []string{"/" + doc("libfoo1", "changelog.gz"), "/" + doc("libfoo1", "changelog.Debian.gz")}}},
			findings: []finding{
				{id: "CVE-2024-0001", installed: "12.4+deb12u9"},
				{id: "CVE-2024-0002", installed: "12.4+deb12u9"},
			},
		},
		{
			name:     "not-gzip",
			files:    []file{{doc("base-files", "changelog.gz"), "native.txt", raw}},
			pkgs:     one("base-files", "base-files"),
			findings: []finding{{id: "CVE-2024-0001", installed: "12.4+deb12u9"}},
		},
		{
			name:     "truncated-gzip",
			files:    []file{{doc("base-files", "changelog.Debian.gz"), "native.txt", truncated}},
			pkgs:     one("base-files", "base-files"),
			findings: []finding{{id: "CVE-2024-0001", installed: "12.4+deb12u9"}},
		},
		{
			name:  "gzip-bomb",
			files: []file{{doc("libbomb1", "changelog.Debian.gz"), "", bomb}},
			pkgs:  one("libbomb1", "bomb"),
			findings: []finding{
				{id: "CVE-2024-0001", installed: "1.0-2"}, // in the entry before the limit
				{id: "CVE-2024-0002", installed: "1.0-2"}, // in the entry the limit cuts
			},
		},
		{
			name:  "too-many-cves",
			files: []file{{doc("libmany1", "changelog.Debian.gz"), "", manyCVEs}},
			pkgs:  one("libmany1", "many"),
			findings: []finding{
				{id: "CVE-2024-0001", installed: "1.0-3"}, // in the entry before the limit
				{id: "CVE-2024-0002", installed: "1.0-3"}, // in the entry that passes it
				{id: "CVE-2024-0003", installed: "1.0-3"}, // in an entry after it
			},
		},
		{
			name:  "sibling",
			files: []file{{doc("foo-common", "changelog.Debian.gz"), "native.txt", gzipped}},
			pkgs: []pkg{
				{name: "libfoo1", source: "foo", files: []string{"/usr/lib/libfoo.so.1"}},
				{name: "foo-other", source: "other", files: []string{"/" + doc("foo-other", "changelog.Debian.gz")}},
				{name: "foo-common", source: "foo", files: []string{"/" + doc("foo-common", "changelog.Debian.gz")}},
			},
			findings: []finding{{id: "CVE-2024-0001", pkg: "libfoo1", installed: "12.4+deb12u9"}},
		},
		{
			name: "doc-symlink",
			files: []file{
				{doc("gcc-12-base", "changelog.Debian.gz"), "native.txt", gzipped},
				{"usr/share/doc/libgcc-s1", "gcc-12-base", symlink},
			},
			// gcc-12-base is not in the inventory: only the link finds it.
			pkgs:     []pkg{{name: "libgcc-s1", source: "gcc-12", files: []string{"/usr/share/doc/libgcc-s1"}}},
			findings: []finding{{id: "CVE-2024-0001", installed: "12.4+deb12u9"}},
		},
		{
			// A crafted database names a package "..": neither its
			// file list nor its name may lead out of the doc directory.
			name:     "hostile-name",
			files:    []file{{"usr/share/changelog.gz", "native.txt", gzipped}},
			pkgs:     []pkg{{name: "..", source: "x", files: []string{"/usr/share/doc/../changelog.gz"}}},
			findings: []finding{{id: "CVE-2024-0001", installed: "12.4+deb12u9"}},
		},
		{
			name:  "ids",
			files: []file{{doc("libcurl4", "changelog.Debian.gz"), "above.txt", gzipped}},
			pkgs:  one("libcurl4", "curl"),
			findings: []finding{
				// An advisory is fixed when every CVE it fixes is.
				{id: "DSA-9999-1", related: []string{"CVE-2024-7264", "CVE-2024-2398"}, installed: "7.88.1-10+deb12u8"},
				{id: "DSA-9998-1", related: []string{"CVE-2024-7264", "CVE-2024-11053"}, installed: "7.88.1-10+deb12u8"},
				// A CVE finding is fixed when its id or an alias is;
				// its Related advisories do not count.
				{id: "CVE-2099-0001", aliases: []string{"CVE-2024-2398"}, installed: "7.88.1-10+deb12u8"},
				{id: "CVE-2099-0002", related: []string{"CVE-2024-2398"}, installed: "7.88.1-10+deb12u8"},
				// Not a deb finding, or judged already: left alone.
				{id: "CVE-2024-2398", installed: "7.88.1-10+deb12u8", typ: "apk"},
				{id: "CVE-2024-2398", installed: "7.88.1-10+deb12u8", verdict: &vex.Verdict{Status: vex.NotAffected, By: "triage/supersede"}},
				// An installed version Debian's rules cannot parse.
				{id: "CVE-2024-2398", installed: "not a version"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := buildFS(t, tt.files)
			inv := &inventory.Inventory{}
			for _, p := range tt.pkgs {
				c := inventory.Component{Ref: "deb:" + p.name, Type: "deb", Name: p.name, Source: &inventory.SourcePackage{Name: p.source}}
				for _, f := range p.files {
					c.Files = append(c.Files, inventory.File{Path: f})
				}
				inv.Components = append(inv.Components, c)
			}
			var findings []match.Finding
			for _, f := range tt.findings {
				name := f.pkg
				if name == "" {
					name = tt.pkgs[0].name
				}
				typ := f.typ
				if typ == "" {
					typ = "deb"
				}
				installed := f.installed
				if installed == "" {
					installed = "2.5.0-1+deb12u1"
				}
				findings = append(findings, match.Finding{
					ID: f.id, Aliases: f.aliases, Related: f.related, InstalledVersion: installed, Verdict: f.verdict,
					Component: match.ComponentRef{Ref: "deb:" + name, Type: typ, Name: name},
				})
			}
			js, err := Provider{}.Judge(t.Context(), &triage.Input{FS: fsys, Inventory: inv}, findings)

			got := judged{Findings: map[string]*vex.Verdict{}}
			if err != nil {
				got.Error = err.Error()
			}
			for _, f := range findings {
				got.Findings[label(f)] = nil
			}
			for _, j := range js {
				if j.Finding < 0 || j.Finding >= len(findings) {
					t.Fatalf("judgement for finding %d of %d", j.Finding, len(findings))
				}
				k := label(findings[j.Finding])
				if got.Findings[k] != nil {
					t.Fatalf("two judgements for %s", k)
				}
				got.Findings[k] = &j.Verdict
			}
			if cl, _ := readChangelog(fsys, tt.files[0].path, nil); cl != nil && len(cl.entries) > 0 {
				got.Parsed = dump(cl)
			}
			golden.JSON(t, filepath.Join("testdata", "golden", tt.name+".json"), got, *update)
		})
	}
}

// judged is what a TestJudge case records.
type judged struct {
	// Parsed is what the parser kept of the case's first file.
	Parsed   []parsedEntry           `json:"parsed"`
	Findings map[string]*vex.Verdict `json:"findings"`
	Error    string                  `json:"error,omitempty"`
}

type parsedEntry struct {
	Header string       `json:"header"`
	Items  []parsedItem `json:"items"`
}

type parsedItem struct {
	Text   string   `json:"text"`
	CVEs   []string `json:"cves"`
	Revert bool     `json:"revert,omitempty"`
}

func dump(cl *changelog) []parsedEntry {
	out := []parsedEntry{}
	for _, e := range cl.entries {
		pe := parsedEntry{Header: e.header}
		for _, it := range e.items {
			text := it.text
			if len(text) > 200 {
				text = text[:200] + "…"
			}
			pe.Items = append(pe.Items, parsedItem{Text: text, CVEs: it.cves, Revert: it.revert})
		}
		out = append(out, pe)
	}
	return out
}

// label names a finding in a golden file: "CVE-… deb:pkg@version", with
// its type when not deb and [judged] when it came judged.
func label(f match.Finding) string {
	s := f.ID + " " + f.Component.Ref + "@" + f.InstalledVersion
	if f.Component.Type != "deb" {
		s += " (" + f.Component.Type + ")"
	}
	if f.Verdict != nil {
		s += " [judged]"
	}
	return s
}

// buildFS writes files into a directory and reads it as an image root, the
// way the scan does for a dir: source, keeping what Wants asks for.
func buildFS(t *testing.T, files []file) layers.FS {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.how == symlink {
			if err := os.Symlink(f.src, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var body []byte
		switch f.how {
		case bomb:
			body = bombChangelog(t)
		case manyCVEs:
			body = manyCVEsChangelog(t)
		case raw:
			body = readTestdata(t, f.src)
		case gzipped:
			body = testimage.Gzip(t, readTestdata(t, f.src))
		case truncated:
			body = testimage.Gzip(t, readTestdata(t, f.src))
			body = body[:len(body)-8]
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := layers.FromDir(root, layers.Options{Want: Provider{}.Wants, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bombChangelog is a gzip file of well under 1 MiB that decompresses to
// more than maxDecompressed: a complete entry naming CVE-2024-0001, then an
// entry naming CVE-2024-0002 whose bullet goes on past the limit.
func bombChangelog(t testing.TB) []byte {
	t.Helper()
	head := "bomb (1.0-2) unstable; urgency=medium\n\n  * Fix CVE-2024-0001.\n\n -- A <a@example.org>  Mon, 02 Dec 2024 10:00:00 +0000\n\n" +
		"bomb (1.0-1) unstable; urgency=medium\n\n  * Fix CVE-2024-0002, with a long story:\n"
	filler := "    and so on and so forth\n"
	return testimage.Gzip(t, []byte(head+strings.Repeat(filler, maxDecompressed/len(filler)+1)))
}

// manyCVEsChangelog names CVE-2024-0001 in a first entry, then
// CVE-2024-0002 in more than maxMentions bullets of a second entry, then
// CVE-2024-0003 in a third.
func manyCVEsChangelog(t testing.TB) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("many (1.0-3) unstable; urgency=medium\n\n  * Fix CVE-2024-0001.\n\n -- A <a@example.org>  Mon, 02 Dec 2024 10:00:00 +0000\n\n")
	b.WriteString("many (1.0-2) unstable; urgency=medium\n\n")
	for range maxMentions + 1 {
		b.WriteString("  * Fix CVE-2024-0002 again.\n")
	}
	b.WriteString("\n -- A <a@example.org>  Mon, 02 Dec 2024 10:00:00 +0000\n\n")
	b.WriteString("many (1.0-1) unstable; urgency=medium\n\n  * Fix CVE-2024-0003.\n\n -- A <a@example.org>  Mon, 02 Dec 2024 10:00:00 +0000\n")
	return testimage.Gzip(t, []byte(b.String()))
}

// BenchmarkHostile reads the two hostile changelogs of TestJudge, which
// stop at the limits, with one CVE wanted as Judge would.
func BenchmarkHostile(b *testing.B) {
	for _, tt := range []struct {
		name string
		body []byte
	}{{"gzip-bomb", bombChangelog(b)}, {"too-many-cves", manyCVEsChangelog(b)}} {
		fsys := fstest.MapFS{"changelog.Debian.gz": {Data: tt.body}}
		wanted := func(id string) bool { return id == "CVE-2024-0002" }
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(tt.body)))
			for b.Loop() {
				if _, err := readChangelog(fsys, "changelog.Debian.gz", wanted); err == nil {
					b.Fatal("no error at the limit")
				}
			}
		})
	}
}

func TestWants(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"usr/share/doc/libc6/changelog.Debian.gz", true},
		{"usr/share/doc/base-files/changelog.gz", true},
		{"usr/share/doc/libc6/changelog.Debian.amd64.gz", false}, // binNMU entries only
		{"usr/share/doc/libc6/NEWS.Debian.gz", false},
		{"usr/share/doc/libc6/sub/changelog.gz", false},
		{"usr/share/doc//changelog.gz", false},
		{"usr/share/doc/changelog.gz", false},
		{"usr/local/share/doc/x/changelog.gz", false},
		{"usr/share/doc/libc6/changelog.Debian.gz.bak", false},
		{"usr/share/doc/../changelog.gz", false},
		{"usr/share/doc/./changelog.gz", false},
	}
	for _, tt := range tests {
		if got := (Provider{}).Wants(tt.name, 0o644, 100, nil); got != tt.want {
			t.Errorf("Wants(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	long := "* " + strings.Repeat("word ", 200) + "(CVE-2024-0001) " + strings.Repeat("more ", 200)
	tests := []struct {
		name, text, id string
	}{
		{"short", "* Fix CVE-2024-0001.", "CVE-2024-0001"},
		{"long", long, "CVE-2024-0001"},
		{"lower case", strings.ToLower(long), "CVE-2024-0001"},
		{"at the start", "* CVE-2024-0001 " + strings.Repeat("x", 1000), "CVE-2024-0001"},
		{"at the end", strings.Repeat("x", 1000) + " CVE-2024-0001", "CVE-2024-0001"},
		{"invalid UTF-8", "* \xff\xfe " + long, "CVE-2024-0001"},
	}
	for _, tt := range tests {
		q := quote(tt.text, tt.id)
		if !strings.Contains(strings.ToUpper(q), tt.id) {
			t.Errorf("%s: quote %q lacks %s", tt.name, q, tt.id)
		}
		if n := utf8.RuneCountInString(q); n > maxQuote+2 {
			t.Errorf("%s: quote has %d runes, more than %d", tt.name, n, maxQuote+2)
		}
		if !utf8.ValidString(q) {
			t.Errorf("%s: quote %q is not valid UTF-8", tt.name, q)
		}
		if len(tt.text) <= maxQuote && q != tt.text {
			t.Errorf("%s: short text quoted as %q", tt.name, q)
		}
	}
}
