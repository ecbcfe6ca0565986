package openvex

import (
	"bytes"
	"flag"
	"github.com/vigilsec/vigil/internal/golden"
	"strings"
	"testing"
	"time"

	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/reporttest"
	"github.com/vigilsec/vigil/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// write renders doc and parses it back with go-vex, checking every
// statement with go-vex's own validation.
func write(t *testing.T, doc *document.Document) ([]byte, *govex.VEX) {
	t.Helper()
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	v, err := govex.Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("go-vex cannot parse the output: %v\n%s", err, buf.Bytes())
	}
	for i := range v.Statements {
		if err := v.Statements[i].Validate(); err != nil {
			t.Errorf("statement %d (%s): %v", i, v.Statements[i].Vulnerability.Name, err)
		}
	}
	return buf.Bytes(), v
}

func TestGolden(t *testing.T) {
	out, _ := write(t, reporttest.Document())
	golden.Bytes(t, "testdata/fixture.golden.json", out, *update)
}

func TestFixture(t *testing.T) {
	doc := reporttest.Document()
	_, v := write(t, doc)
	if v.Author != "Vigil" || v.Version != 1 || !strings.HasPrefix(v.ID, "urn:uuid:") || !v.Timestamp.Equal(reporttest.Created) ||
		v.Context != govex.ContextLocator() || v.Tooling != "vigil-0.1.0" {
		t.Errorf("metadata = %+v", v.Metadata)
	}
	if len(v.Statements) != len(doc.Findings) {
		t.Fatalf("%d statements for %d findings", len(v.Statements), len(doc.Findings))
	}
	const imagePURL = "pkg:oci/payments@sha256:9a8c0e4bb1b3f6c8d2e7f10a4c5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c?arch=amd64&repository_url=ghcr.io%2Facme%2Fpayments&tag=1.4.2"
	for i, st := range v.Statements {
		f := &doc.Findings[i]
		if string(st.Vulnerability.Name) != f.ID || len(st.Products) != 1 {
			t.Fatalf("statement %d = %+v", i, st)
		}
		p := st.Products[0]
		if p.ID != imagePURL || p.Identifiers[govex.PURL] != imagePURL || p.Hashes[govex.SHA256] != "9a8c0e4bb1b3f6c8d2e7f10a4c5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c" {
			t.Errorf("%s product = %+v", f.ID, p.Component)
		}
		if len(p.Subcomponents) != 1 || p.Subcomponents[0].ID != f.Component.PURL {
			t.Errorf("%s subcomponents = %+v, want %s", f.ID, p.Subcomponents, f.Component.PURL)
		}
		// What a consumer asks: does this statement cover the image and
		// this package?
		if !st.Matches(f.ID, imagePURL, []string{f.Component.PURL}) {
			t.Errorf("%s does not match its image and package", f.ID)
		}
	}
	byName := map[string]govex.Statement{}
	for _, st := range v.Statements {
		byName[string(st.Vulnerability.Name)] = st
	}
	if st := byName["CVE-2024-9143"]; st.Status != govex.StatusAffected || st.ActionStatement != "Upgrade libssl3 (source package openssl) to 3.0.15-1~deb12u1 or later." {
		t.Errorf("fixable finding: %s %q", st.Status, st.ActionStatement)
	}
	if st := byName["CVE-2024-13176"]; st.Status != govex.StatusAffected || !strings.HasPrefix(st.ActionStatement, "No fix is available yet; ") {
		t.Errorf("unfixed finding: %s %q", st.Status, st.ActionStatement)
	}
	if st := byName["CVE-2025-22871"]; len(st.Vulnerability.Aliases) != 1 || st.Vulnerability.Aliases[0] != "GO-2025-3563" {
		t.Errorf("aliases = %v", st.Vulnerability.Aliases)
	}
	st := byName["CVE-2025-0395"]
	if st.Status != govex.StatusFixed || st.ActionStatement != "" || !strings.Contains(st.StatusNotes, "changelog /usr/share/doc/libc6/changelog.Debian.gz") ||
		!strings.Contains(st.StatusNotes, "triage/backport") {
		t.Errorf("backport verdict: %s, notes %q", st.Status, st.StatusNotes)
	}
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		verdict *vex.Verdict
		want    govex.Statement // status and the explanations only
	}{
		{nil, govex.Statement{Status: govex.StatusAffected, ActionStatement: "Upgrade libssl3 (source package openssl) to 3.0.15-1~deb12u1 or later."}},
		{&vex.Verdict{Status: vex.NotAffected, Justification: vex.VulnerableCodeNotInExecutePath, Impact: "not linked", By: "triage/symbols"},
			govex.Statement{Status: govex.StatusNotAffected, Justification: govex.VulnerableCodeNotInExecutePath, ImpactStatement: "not linked\n(triage/symbols)"}},
		{&vex.Verdict{Status: vex.NotAffected, Impact: "only with a flag we do not set", By: "vex:app.json"},
			govex.Statement{Status: govex.StatusNotAffected, ImpactStatement: "only with a flag we do not set\n(vex:app.json)"}},
		{&vex.Verdict{Status: vex.Affected, Impact: "reachable", By: "triage/symbols"},
			govex.Statement{Status: govex.StatusAffected, StatusNotes: "reachable\n(triage/symbols)", ActionStatement: "Upgrade libssl3 (source package openssl) to 3.0.15-1~deb12u1 or later."}},
		{&vex.Verdict{Status: vex.UnderInvestigation, By: "vex:app.json"},
			govex.Statement{Status: govex.StatusUnderInvestigation, StatusNotes: "(vex:app.json)"}},
		{&vex.Verdict{Status: vex.Fixed, Impact: "patched", By: "triage/backport"},
			govex.Statement{Status: govex.StatusFixed, StatusNotes: "patched\n(triage/backport)"}},
	}
	for _, tt := range tests {
		doc := reporttest.Document()
		doc.Findings = doc.Findings[:1]
		doc.Findings[0].Verdict = tt.verdict
		_, v := write(t, doc)
		got := v.Statements[0]
		if got.Status != tt.want.Status || got.Justification != tt.want.Justification || got.ImpactStatement != tt.want.ImpactStatement ||
			got.StatusNotes != tt.want.StatusNotes || got.ActionStatement != tt.want.ActionStatement {
			t.Errorf("verdict %+v: statement %s/%s impact %q notes %q action %q, want %+v",
				tt.verdict, got.Status, got.Justification, got.ImpactStatement, got.StatusNotes, got.ActionStatement, tt.want)
		}
	}
}

// TestInvalidVerdict shows the writer refuses what go-vex would reject
// rather than emit it.
func TestInvalidVerdict(t *testing.T) {
	doc := reporttest.Document()
	doc.Findings[0].Verdict = &vex.Verdict{Status: vex.NotAffected}
	var buf bytes.Buffer
	err := (Writer{}).Write(&buf, doc)
	if err == nil || !strings.Contains(err.Error(), doc.Findings[0].ID) {
		t.Errorf("not_affected without a reason: err = %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes before failing", buf.Len())
	}
}

func TestImageWithoutRegistry(t *testing.T) {
	doc := reporttest.Document()
	doc.Inventory.Source = image.Info{Scheme: "dir", Ref: "dir:/srv/rootfs", Name: "/srv/rootfs"}
	_, v := write(t, doc)
	if p := v.Statements[0].Products[0]; p.ID != "/srv/rootfs" || p.Identifiers != nil || p.Hashes != nil {
		t.Errorf("product = %+v", p.Component)
	}
}

func TestStableID(t *testing.T) {
	_, a := write(t, reporttest.Document())
	_, b := write(t, reporttest.Document())
	later := reporttest.Document()
	later.Created = later.Created.Add(time.Hour)
	_, c := write(t, later)
	if a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids %s, %s (same scan), %s (later scan)", a.ID, b.ID, c.ID)
	}
}
