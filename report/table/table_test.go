package table

import (
	"bytes"
	"errors"
	"flag"
	"github.com/vigilsec/vigil/internal/golden"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/reporttest"
	"github.com/vigilsec/vigil/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func render(t *testing.T, inv *inventory.Inventory) string {
	t.Helper()
	doc := reporttest.Document()
	if inv != nil {
		// A document about this inventory alone: the fixture's findings
		// are about another.
		doc = &document.Document{Inventory: inv, Tool: doc.Tool, Created: doc.Created}
	}
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGolden(t *testing.T) {
	golden.Bytes(t, "testdata/fixture.golden", []byte(render(t, nil)), *update)
}

// rows returns the cells of the component rows, split on the column
// starts of the header line. tabwriter aligns code points, not bytes.
func rows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "NAME ") })
	if h < 0 {
		t.Fatalf("no header row in:\n%s", out)
	}
	header := lines[h]
	var starts []int
	for _, col := range []string{"NAME", "VERSION", "TYPE", "LAYER"} {
		starts = append(starts, strings.Index(header, col))
	}
	var out2 [][]string
	for _, line := range lines[h+1:] {
		if line == "" {
			break
		}
		l := []rune(line)
		var cells []string
		for i, s := range starts {
			end := len(l)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			if s > len(l) || end > len(l) {
				t.Fatalf("row %q is not aligned with header %q", l, header)
			}
			cells = append(cells, strings.TrimRight(string(l[s:end]), " "))
		}
		out2 = append(out2, cells)
	}
	return out2
}

func TestRowsSortedByTypeNameVersion(t *testing.T) {
	doc := reporttest.Document()
	inv := doc.Inventory
	// Shuffle away the fixture's order so the writer has to sort, and add
	// two versions of one package in descending order.
	slices.Reverse(inv.Components)
	inv.Components = append(inv.Components,
		inventory.Component{Type: "pypi", Name: "requests", Version: "2.32.3"},
		inventory.Component{Type: "pypi", Name: "requests", Version: "2.31.0"},
	)
	rs := rows(t, render(t, inv))
	if len(rs) != len(inv.Components) {
		t.Fatalf("%d rows for %d components", len(rs), len(inv.Components))
	}
	sorted := slices.IsSortedFunc(rs, func(a, b []string) int {
		return strings.Compare(a[2]+"\x00"+a[0]+"\x00"+a[1], b[2]+"\x00"+b[0]+"\x00"+b[1])
	})
	if !sorted {
		t.Errorf("rows are not sorted by type, name, version: %q", rs)
	}
}

func TestEqualRowsKeepInventoryOrder(t *testing.T) {
	// The same package found at two places: same type, name and version.
	inv := &inventory.Inventory{Components: []inventory.Component{
		{Type: "npm", Name: "left-pad", Version: "1.3.0", Layer: &layers.Info{Index: 2}},
		{Type: "npm", Name: "left-pad", Version: "1.3.0", Layer: &layers.Info{Index: 1}},
	}}
	rs := rows(t, render(t, inv))
	if len(rs) != 2 || rs[0][3] != "#2" || rs[1][3] != "#1" {
		t.Errorf("rows = %q, want layer #2 then #1", rs)
	}
}

func TestCells(t *testing.T) {
	tests := []struct {
		name string
		c    inventory.Component
		want []string
	}{
		{"npm scope", inventory.Component{Type: "npm", Namespace: "@babel", Name: "core", Version: "7.23.7"}, []string{"@babel/core", "7.23.7", "npm", "-"}},
		{"maven group", inventory.Component{Type: "maven", Namespace: "org.yaml", Name: "snakeyaml", Version: "2.2"}, []string{"org.yaml:snakeyaml", "2.2", "maven", "-"}},
		{"deb namespace is not shown", inventory.Component{Type: "deb", Namespace: "debian", Name: "bash", Version: "5.2.15-2+b7"}, []string{"bash", "5.2.15-2+b7", "deb", "-"}},
		{
			"layer",
			inventory.Component{Type: "golang", Name: "stdlib", Version: "go1.23.4", Layer: &layers.Info{Index: 3, DiffID: "sha256:f3c9a0d4b8e27e51c6a4d9b0e7f21c3d5a6b8e9f0a1c2d3e4f5a6b7c8d9e0f1a"}},
			[]string{"stdlib", "go1.23.4", "golang", "#3 f3c9a0d4b8e2"},
		},
		{"layer without diffID", inventory.Component{Type: "apk", Name: "musl", Version: "1.2.5-r0", Layer: &layers.Info{Index: 0}}, []string{"musl", "1.2.5-r0", "apk", "#0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := rows(t, render(t, &inventory.Inventory{Components: []inventory.Component{tt.c}}))
			if len(rs) != 1 || !slices.Equal(rs[0], tt.want) {
				t.Errorf("row = %q, want %q", rs, tt.want)
			}
		})
	}
}

func TestHostileTextIsEscaped(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"terminal escape", "evil\x1b[2J\x1b[31m", `evil\x1b[2J\x1b[31m`},
		{"tab breaks columns", "a\tb", `a\tb`},
		{"newline forges a row", "pkg\nroot 1.0 deb #0", `pkg\nroot 1.0 deb #0`},
		{"bidi override", "gnp.\u202eexe", `gnp.\u202eexe`},
		{"invalid UTF-8", "caf\xe9", `caf\xe9`},
		{"wide space forges alignment", "a\u2000b", `a\u2000b`},
		{"replacement character", "a\ufffdb", `a\ufffdb`},
		{"printable unicode is kept", "naïve-库", "naïve-库"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &inventory.Inventory{
				Distro:     &inventory.Distro{ID: "x", PrettyName: tt.in},
				Components: []inventory.Component{{Type: "deb", Name: tt.in, Version: tt.in}},
				Warnings:   []string{tt.in},
			}
			out := render(t, inv)
			for _, r := range out {
				if r != '\n' && (!unicode.IsPrint(r) || r == unicode.ReplacementChar) {
					t.Fatalf("output holds %U:\n%q", r, out)
				}
			}
			rs := rows(t, out)
			if len(rs) != 1 || rs[0][0] != tt.want || rs[0][1] != tt.want {
				t.Errorf("row = %q, want name and version %q", rs, tt.want)
			}
			if !strings.Contains(out, "Distro:      "+tt.want+"\n") || !strings.Contains(out, "  "+tt.want+"\n") {
				t.Errorf("distro or warning not escaped as %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	out := render(t, &inventory.Inventory{})
	for _, want := range []string{"Image:       unknown\n", "Distro:      unknown\n", "Layers:      0\n", "Components:  0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NAME") {
		t.Errorf("an empty inventory has a table header:\n%s", out)
	}
}

type failWriter struct{ after int }

var errFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errFull
	}
	f.after--
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	for after := range 4 {
		if err := (Writer{}).Write(&failWriter{after: after}, reporttest.Document()); !errors.Is(err, errFull) {
			t.Errorf("failing after %d writes: err = %v, want %v", after, err, errFull)
		}
	}
}

func TestGoldenShowSuppressed(t *testing.T) {
	var buf bytes.Buffer
	if err := (Writer{ShowSuppressed: true}).Write(&buf, reporttest.Document()); err != nil {
		t.Fatal(err)
	}
	golden.Bytes(t, "testdata/fixture-suppressed.golden", buf.Bytes(), *update)
}

// section returns the lines of out from the one equal to title up to the
// next blank line.
func section(out, title string) []string {
	lines := strings.Split(out, "\n")
	i := slices.Index(lines, title)
	if i < 0 {
		return nil
	}
	end := slices.Index(lines[i:], "")
	return lines[i+1 : i+end]
}

func TestVulnerabilities(t *testing.T) {
	tests := []struct {
		name           string
		showSuppressed bool
		want           []string // lines, each compared after collapsing spaces
	}{
		{"suppressed counted", false, []string{
			"ID SEVERITY FIX PRIORITY SUMMARY",
			"stdlib@go1.23.4 (golang, layer #1 f3c9a0d4b8e2, application)",
			"CVE-2025-22871 critical 1.23.8 90 kev,fix Request smuggling due to acceptance of invalid chunked data…",
			"openssl@3.0.14-1~deb12u2 (deb source of libssl3, layer #1 f3c9a0d4b8e2, application)",
			"CVE-2024-9143 medium 3.0.15-1~deb12u1 - Use of the low-level GF(2^m) elliptic curve APIs with untru…",
			"CVE-2024-13176 unknown not fixed - A timing side-channel which could potentially allow recover…",
			"Total: 3 (critical 1, high 0, medium 1, low 0, negligible 0, unknown 1); 2 suppressed (use --show-suppressed)",
		}},
		{"suppressed shown with evidence", true, []string{
			"ID SEVERITY FIX PRIORITY SUMMARY",
			"stdlib@go1.23.4 (golang, layer #1 f3c9a0d4b8e2, application)",
			"CVE-2025-22871 critical 1.23.8 90 kev,fix Request smuggling due to acceptance of invalid chunked data…",
			"openssl@3.0.14-1~deb12u2 (deb source of libssl3, layer #1 f3c9a0d4b8e2, application)",
			"CVE-2024-9143 medium 3.0.15-1~deb12u1 - Use of the low-level GF(2^m) elliptic curve APIs with untru…",
			"CVE-2024-13176 unknown not fixed - A timing side-channel which could potentially allow recover…",
			"glibc@2.36-9+deb12u10 (deb source of libc6, layer #0 8d853c8add5d, base image)",
			"CVE-2025-0395 unknown not fixed - suppressed (fixed, triage/backport): The installed glibc 2.…",
			"changelog /usr/share/doc/libc6/changelog.Debian.gz: glibc (2.36-9+deb12u10): Fix a buffer overflow in assert() (CVE-2025-0395).",
			"openssl@3.0.11-1~deb12u2 (deb source of libssl3, layer #0 8d853c8add5d, base image)",
			"CVE-2023-5678 medium 3.0.13-1~deb12u1 - suppressed (not_affected, triage/supersede): libssl3 3.0.11…",
			"layer sha256:8d853c8add5d1e7b0aafc4b68a3d9fb8e7a0da27970c2acf831fe63be4a0cd2c: added 3.0.11-1~deb12u2 in layer 0, replaced 3.0.11-1~deb12u2 by 3.0.14-1~deb12u2 in layer 1 by `COPY…",
			"Total: 3 (critical 1, high 0, medium 1, low 0, negligible 0, unknown 1); 2 suppressed, shown above",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := (Writer{ShowSuppressed: tt.showSuppressed}).Write(&buf, reporttest.Document()); err != nil {
				t.Fatal(err)
			}
			got := section(buf.String(), "Vulnerabilities:")
			for i := range got {
				got[i] = strings.Join(strings.Fields(got[i]), " ")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("vulnerabilities section:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestNoMatchNoVulnerabilitySection(t *testing.T) {
	doc := reporttest.Document()
	doc.Findings, doc.MatchStats = nil, nil
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Vulnerabilities:") {
		t.Errorf("a document without matching has a vulnerability section:\n%s", buf.String())
	}
	// Matching ran and found nothing: say so.
	doc.MatchStats = &match.Stats{}
	buf.Reset()
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	if got := section(buf.String(), "Vulnerabilities:"); !slices.Equal(got, []string{"Total: 0 (critical 0, high 0, medium 0, low 0, negligible 0, unknown 0)"}) {
		t.Errorf("vulnerabilities section = %q", got)
	}
}

func TestFixCell(t *testing.T) {
	for _, tt := range []struct {
		state match.FixState
		fixed string
		want  string
	}{
		{match.FixStateFixed, "1.2.3", "1.2.3"},
		{match.FixStateNotFixed, "", "not fixed"},
		{match.FixStateUnknown, "", "unknown"},
		{"", "", "unknown"},
	} {
		if got := fix(&match.Finding{FixState: tt.state, FixedVersion: tt.fixed}); got != tt.want {
			t.Errorf("fix(%s, %q) = %q, want %q", tt.state, tt.fixed, got, tt.want)
		}
	}
}

func TestHygiene(t *testing.T) {
	out := render(t, nil)
	got := section(out, "Hygiene:")
	for i := range got {
		got[i] = strings.Join(strings.Fields(got[i]), " ")
	}
	want := []string{
		"RULE SEVERITY LOCATION TITLE",
		"vigil/secret critical /root/.npmrc (added in layer #1, deleted in #2) npm access token in a deleted file",
		"vigil/modified-file high /usr/lib/x86_64-linux-gnu/libssl.so.3 (layer #1) package file changed after installation",
		"vigil/personal-email low config.Labels.maintainer personal e-mail address in the image config",
	}
	if !slices.Equal(got, want) {
		t.Errorf("hygiene section:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHostileFindingsAreEscaped(t *testing.T) {
	const evil = "x\x1b[2J\n\u202e\t"
	doc := reporttest.Document()
	f := &doc.Findings[0]
	f.ID, f.Summary, f.FixedVersion, f.Component.Ref, f.Component.Name = evil, evil, evil, "", evil
	f.Verdict = &vex.Verdict{Status: vex.NotAffected, Impact: evil, By: evil, Evidence: []vex.Evidence{{Kind: evil, Location: evil, Detail: evil}}}
	doc.Issues[0].Rule, doc.Issues[0].Path, doc.Issues[0].Title = evil, evil, evil
	var buf bytes.Buffer
	if err := (Writer{ShowSuppressed: true}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range buf.String() {
		if r != '\n' && (!unicode.IsPrint(r) || r == unicode.ReplacementChar) {
			t.Fatalf("output holds %U:\n%q", r, buf.String())
		}
	}
	if n := strings.Count(buf.String(), `x\x1b[2J\n\u202e\t`); n < 5 {
		t.Errorf("the hostile string appears escaped %d times, want at least 5:\n%s", n, buf.String())
	}
}

// FuzzHostileText puts arbitrary text in every string the image controls
// and checks the table never passes a terminal control through.
func FuzzHostileText(f *testing.F) {
	for _, s := range []string{"evil\x1b[2J", "a\tb\nc", "gnp.\u202eexe", "caf\xe9", "naïve-库"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := reporttest.Document()
		c := &doc.Inventory.Components[0]
		c.Name, c.Version, c.Type = s, s, s
		doc.Inventory.Warnings = []string{s}
		fd := &doc.Findings[0]
		fd.ID, fd.Summary, fd.FixedVersion, fd.Component.Name, fd.Component.Version = s, s, s, s, s
		fd.Verdict = &vex.Verdict{Status: vex.NotAffected, Impact: s, By: s, Evidence: []vex.Evidence{{Kind: s, Location: s, Detail: s}}}
		is := &doc.Issues[0]
		is.Rule, is.Path, is.Title, is.Severity = s, s, s, hygiene.Severity(s)
		var buf bytes.Buffer
		if err := (Writer{ShowSuppressed: true}).Write(&buf, doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range buf.String() {
			if r != '\n' && (!unicode.IsPrint(r) || r == unicode.ReplacementChar) {
				t.Fatalf("output holds %U", r)
			}
		}
	})
}

func TestGroupTitleOrigin(t *testing.T) {
	f := &match.Finding{Component: match.ComponentRef{Type: "deb", Name: "zlib1g", Version: "1:1.2.13.dfsg-1"}}
	tests := []struct {
		name      string
		base      bool
		baseKnown bool
		want      string
	}{
		{"base layer", true, true, ", base image)"},
		{"application layer of an image with a known base", false, true, ", application)"},
		{"no base boundary in the history", false, false, "layer #1 000000000001)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.Layer = &layers.Info{Index: 1, DiffID: "sha256:000000000001", Base: tc.base}
			if got := groupTitle(&group{findings: []*match.Finding{f}}, tc.baseKnown); !strings.HasSuffix(got, tc.want) {
				t.Errorf("groupTitle = %q, want suffix %q", got, tc.want)
			}
		})
	}
}

// TestRootCausesAndStories shows the binary packages of one source as one
// group with one row per vulnerability, and with Layers set, each package's
// story across the layers.
func TestRootCausesAndStories(t *testing.T) {
	infos := []layers.Info{
		{Index: 0, DiffID: "sha256:aaaaaaaaaaaa", CreatedBy: "/bin/sh -c #(nop) ADD file:deadbeef in /"},
		{Index: 1, DiffID: "sha256:bbbbbbbbbbbb", CreatedBy: "RUN apt-get update && apt-get install -y --only-upgrade openssl"},
	}
	src := &inventory.SourcePackage{Name: "openssl", Version: "3.0.15-1~deb12u1"}
	history := []inventory.LayerEvent{{Layer: 0, Op: layers.Added, Version: "3.0.11-1~deb12u2"}, {Layer: 1, Op: layers.Modified, Version: "3.0.15-1~deb12u1"}}
	comps := []inventory.Component{
		{Ref: "pkg-libssl3", Type: "deb", Name: "libssl3", Version: "3.0.15-1~deb12u1", Source: src, Layer: &infos[1], History: history},
		{Ref: "pkg-openssl", Type: "deb", Name: "openssl", Version: "3.0.15-1~deb12u1", Source: src, Layer: &infos[1], History: history},
	}
	finding := func(c *inventory.Component) match.Finding {
		return match.Finding{
			ID: "CVE-2024-13176", Component: match.ComponentRef{Ref: c.Ref, Type: c.Type, Name: c.Name, Version: c.Version, Source: src},
			RootCause: "deb/openssl@3.0.15-1~deb12u1", InstalledVersion: "3.0.15-1~deb12u1", FixState: match.FixStateNotFixed,
			Severity: match.SeverityMedium, Layer: c.Layer, Priority: &match.Priority{Score: 15, Factors: []string{"severity medium"}},
		}
	}
	doc := &document.Document{
		Inventory: &inventory.Inventory{Layers: infos, Components: comps},
		Tool:      document.ToolInfo{Name: "vigil"}, Created: time.Unix(0, 0),
		Findings: []match.Finding{finding(&comps[0]), finding(&comps[1])},
	}
	var buf bytes.Buffer
	if err := (Writer{Layers: true}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	got := section(buf.String(), "Vulnerabilities:")
	for i := range got {
		got[i] = strings.Join(strings.Fields(got[i]), " ")
	}
	want := []string{
		"ID SEVERITY FIX PRIORITY SUMMARY",
		"openssl@3.0.15-1~deb12u1 (deb source of libssl3, openssl, layer #1 bbbbbbbbbbbb)",
		"libssl3 3.0.15-1~deb12u1: added 3.0.11-1~deb12u2 in layer 0 by `ADD file:deadbeef in /`, replaced 3.0.11-1~deb12u2 by 3.0.15-1~deb12u1 in layer 1 by `RUN apt-get update && apt-get install -y --only-upgrade openssl`",
		"openssl 3.0.15-1~deb12u1: added 3.0.11-1~deb12u2 in layer 0 by `ADD file:deadbeef in /`, replaced 3.0.11-1~deb12u2 by 3.0.15-1~deb12u1 in layer 1 by `RUN apt-get update && apt-get install -y --only-upgrade openssl`",
		"CVE-2024-13176 medium not fixed 15",
		"Total: 1 (critical 0, high 0, medium 1, low 0, negligible 0, unknown 0)",
		"(2 findings in all: one root cause counts once, such as the binary packages of one source package)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("vulnerabilities section:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
