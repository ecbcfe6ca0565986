package sarif

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/vigilsec/vigil/internal/golden"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/reporttest"
	"github.com/vigilsec/vigil/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func schema(t *testing.T) *jsonschema.Schema {
	return reporttest.Schema(t, "testdata/sarif-schema-2.1.0.json")
}

// write renders doc, validates it against the official schema and decodes
// it back.
func write(t *testing.T, sch *jsonschema.Schema, doc *document.Document) ([]byte, *log) {
	t.Helper()
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	reporttest.Validate(t, sch, buf.Bytes())
	var l log
	if err := json.Unmarshal(buf.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), &l
}

func TestGolden(t *testing.T) {
	out, _ := write(t, schema(t), reporttest.Document())
	golden.Bytes(t, "testdata/fixture.golden.json", out, *update)
}

func TestFixture(t *testing.T) {
	doc := reporttest.Document()
	_, l := write(t, schema(t), doc)
	if l.Version != "2.1.0" || len(l.Runs) != 1 {
		t.Fatalf("version %s, %d runs", l.Version, len(l.Runs))
	}
	r := l.Runs[0]
	if d := r.Tool.Driver; d.Name != "vigil" || d.Version != "0.1.0" || d.InformationURI == "" {
		t.Errorf("driver = %+v", d)
	}
	if len(r.Results) != len(doc.Findings)+len(doc.Issues) {
		t.Fatalf("%d results, want one per finding (%d) and issue (%d)", len(r.Results), len(doc.Findings), len(doc.Issues))
	}
	// Every result points at its rule, by id and index.
	ids := map[string]bool{}
	for _, rule := range r.Tool.Driver.Rules {
		if ids[rule.ID] {
			t.Errorf("rule %s twice", rule.ID)
		}
		ids[rule.ID] = true
	}
	for _, res := range r.Results {
		if res.RuleIndex >= len(r.Tool.Driver.Rules) || r.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s has rule index %d", res.RuleID, res.RuleIndex)
		}
		loc := res.Locations[0]
		if uri := loc.PhysicalLocation.ArtifactLocation.URI; uri == "" || strings.HasPrefix(uri, "/") || loc.PhysicalLocation.Region.StartLine != 1 {
			t.Errorf("%s: location %+v: GitHub wants a relative path and a line", res.RuleID, loc.PhysicalLocation)
		}
		if ll := loc.LogicalLocations; len(ll) != 1 || ll[0].Name != "ghcr.io/acme/payments:1.4.2" {
			t.Errorf("%s: logical locations %+v, want the image", res.RuleID, ll)
		}
		if len(res.PartialFingerprints[fingerprintKey]) != 32 {
			t.Errorf("%s: fingerprints %v", res.RuleID, res.PartialFingerprints)
		}
	}
	for _, id := range []string{"vigil/secret", "vigil/personal-email", "vigil/modified-file"} {
		if !ids[id] {
			t.Errorf("no rule %s", id)
		}
	}

	byRule := map[string]result{}
	for _, res := range r.Results {
		byRule[res.RuleID] = res
	}
	rule := func(id string) rule { return r.Tool.Driver.Rules[byRule[id].RuleIndex] }

	kev := byRule["CVE-2025-22871"]
	wantMsg := "stdlib go1.23.4 is affected by CVE-2025-22871 (critical severity, known to be exploited). Rebuild /usr/local/bin/payments with Go 1.23.8 or later. Introduced by layer #1 (" + reporttest.AppLayer.DiffID + "), which belongs to the application."
	if kev.Level != "error" || kev.Message.Text != wantMsg {
		t.Errorf("KEV result: level %s, message %q, want error, %q", kev.Level, kev.Message.Text, wantMsg)
	}
	if uri := kev.Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "usr/local/bin/payments" {
		t.Errorf("Go finding located at %s, want the binary", uri)
	}
	if p := rule("CVE-2025-22871").Properties; p["security-severity"] != "9.1" {
		t.Errorf("rule properties = %v, want security-severity 9.1", p)
	}
	if uri := byRule["CVE-2024-9143"].Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "var/lib/dpkg/status" {
		t.Errorf("deb finding located at %s, want the dpkg database", uri)
	}
	if h := rule("CVE-2024-9143").Help; h == nil || h.Text != "Upgrade libssl3 (source package openssl) to 3.0.15-1~deb12u1 or later." {
		t.Errorf("help = %+v", h)
	}
	if p := rule("CVE-2024-13176").Properties; p["security-severity"] != nil {
		t.Errorf("unknown severity has security-severity %v", p["security-severity"])
	}
	if byRule["CVE-2024-13176"].Level != "note" || byRule["CVE-2024-9143"].Level != "warning" {
		t.Errorf("levels: unknown %s, medium %s", byRule["CVE-2024-13176"].Level, byRule["CVE-2024-9143"].Level)
	}

	sup := byRule["CVE-2025-0395"].Suppressions
	if len(sup) != 1 || sup[0].Kind != "external" || sup[0].Status != "accepted" ||
		!strings.HasPrefix(sup[0].Justification, "The installed glibc 2.36-9+deb12u10 carries the fix") ||
		!strings.Contains(sup[0].Justification, "changelog /usr/share/doc/libc6/changelog.Debian.gz") {
		t.Errorf("suppressions = %+v", sup)
	}
	for _, id := range []string{"CVE-2024-9143", "CVE-2025-22871", "vigil/secret"} {
		if s := byRule[id].Suppressions; s != nil {
			t.Errorf("%s is suppressed: %+v", id, s)
		}
	}

	secret := byRule["vigil/secret"]
	if secret.Level != "error" || secret.Locations[0].PhysicalLocation.ArtifactLocation.URI != "root/.npmrc" || !strings.Contains(secret.Message.Text, "Layer #2 deletes it") {
		t.Errorf("secret result = %+v", secret)
	}
	if uri := byRule["vigil/personal-email"].Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "." {
		t.Errorf("a metadata issue is located at %q", uri)
	}
}

func TestLevels(t *testing.T) {
	for _, tt := range []struct {
		sev  match.Severity
		want string
	}{
		{match.SeverityCritical, "error"}, {match.SeverityHigh, "error"}, {match.SeverityMedium, "warning"},
		{match.SeverityLow, "note"}, {match.SeverityNegligible, "note"}, {match.SeverityUnknown, "note"},
	} {
		if got := level(tt.sev); got != tt.want {
			t.Errorf("level(%s) = %s, want %s", tt.sev, got, tt.want)
		}
	}
	for _, tt := range []struct {
		sev  hygiene.Severity
		want string
	}{
		{hygiene.Critical, "error"}, {hygiene.High, "error"}, {hygiene.Medium, "warning"}, {hygiene.Low, "note"}, {hygiene.Info, "note"},
	} {
		if got := issueLevel(tt.sev); got != tt.want {
			t.Errorf("issueLevel(%s) = %s, want %s", tt.sev, got, tt.want)
		}
	}
}

// TestFingerprints checks that a result keeps its fingerprint when what
// changes between two scans is not what it is about, and gets a new one
// when it is.
func TestFingerprints(t *testing.T) {
	sch := schema(t)
	fp := func(mutate func(*document.Document)) string {
		doc := reporttest.Document()
		mutate(doc)
		_, l := write(t, sch, doc)
		return l.Runs[0].Results[0].PartialFingerprints[fingerprintKey]
	}
	base := fp(func(*document.Document) {})
	tests := []struct {
		name   string
		mutate func(*document.Document)
		same   bool
	}{
		{"scanned later", func(d *document.Document) { d.Created = d.Created.Add(24 * time.Hour) }, true},
		{"rebuilt: new digest and layer", func(d *document.Document) {
			d.Inventory.Source.Digest = "sha256:00"
			d.Findings[0].Layer = nil
		}, true},
		{"severity rescored", func(d *document.Document) { d.Findings[0].Severity = match.SeverityHigh }, true},
		{"another vulnerability", func(d *document.Document) { d.Findings[0].ID = "CVE-2024-0001" }, false},
		{"another version", func(d *document.Document) { d.Findings[0].Component.PURL += "-1" }, false},
		{"another image", func(d *document.Document) { d.Inventory.Source.Name = "ghcr.io/acme/other:1" }, false},
	}
	for _, tt := range tests {
		if got := fp(tt.mutate); (got == base) != tt.same {
			t.Errorf("%s: fingerprint %s, before %s; want same = %v", tt.name, got, base, tt.same)
		}
	}
}

func TestOneRulePerVulnerability(t *testing.T) {
	doc := reporttest.Document()
	// The same CVE in a second package: one rule, two results, both fixes
	// in its help.
	second := doc.Findings[0]
	second.Component = match.ComponentRef{Ref: reporttest.Ref(doc.Inventory, "libc6"), Type: "deb", Name: "libc6", Version: "2.36-9+deb12u10"}
	second.FixedVersion = "2.36-9+deb12u11"
	doc.Findings = append(doc.Findings, second)
	_, l := write(t, schema(t), doc)
	n := 0
	for _, r := range l.Runs[0].Tool.Driver.Rules {
		if r.ID == second.ID {
			n++
			if !strings.Contains(r.Help.Text, "libssl3") || !strings.Contains(r.Help.Text, "libc6 to 2.36-9+deb12u11") {
				t.Errorf("help = %q, want both fixes", r.Help.Text)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d rules for %s", n, second.ID)
	}
}

func TestEmpty(t *testing.T) {
	doc := &document.Document{Inventory: &inventory.Inventory{}, Tool: document.ToolInfo{Name: "vigil"}, Created: reporttest.Created}
	out, l := write(t, schema(t), doc)
	if l.Runs[0].Results == nil || !bytes.Contains(out, []byte(`"results": []`)) {
		t.Errorf("no findings: results must be an empty array:\n%s", out)
	}
}

func TestNotSuppressedVerdicts(t *testing.T) {
	for _, st := range []vex.Status{vex.Affected, vex.UnderInvestigation} {
		doc := reporttest.Document()
		doc.Findings[0].Verdict = &vex.Verdict{Status: st, By: "test"}
		_, l := write(t, schema(t), doc)
		if s := l.Runs[0].Results[0].Suppressions; s != nil {
			t.Errorf("%s: suppressed %+v", st, s)
		}
	}
}

func TestHostilePaths(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/opt/my app/bin#1?x", "opt/my%20app/bin%231%3Fx"},
		{"/usr/lib/naïve\x1b[2J", "usr/lib/na%C3%AFve%1B%5B2J"},
		{"/a:b/c", "./a:b/c"}, // a first segment with a colon would read as a scheme
		{"//double/slash", "double/slash"},
	}
	sch := schema(t)
	for _, tt := range tests {
		doc := reporttest.Document()
		doc.Findings = doc.Findings[:1]
		doc.Issues = nil
		doc.Inventory.Components[2].Locations = []string{tt.path} // libssl3, the first finding's
		_, l := write(t, sch, doc)
		if got := l.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI; got != tt.want {
			t.Errorf("%q: uri %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestSchemaCatchesMistakes shows that the schema check can fail.
func TestSchemaCatchesMistakes(t *testing.T) {
	sch := schema(t)
	out, _ := write(t, sch, reporttest.Document())
	res := func(doc map[string]any, i int) map[string]any {
		return doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[i].(map[string]any)
	}
	reporttest.SchemaRejects(t, sch, out, []reporttest.Mutation{
		{Name: "level as severity", Mutate: func(doc map[string]any) { res(doc, 0)["level"] = "critical" }},
		{Name: "unknown suppression kind", Mutate: func(doc map[string]any) {
			res(doc, 2)["suppressions"].([]any)[0].(map[string]any)["kind"] = "triage"
		}},
		{Name: "wrong version", Mutate: func(doc map[string]any) { doc["version"] = "2.1" }},
		{Name: "message without text", Mutate: func(doc map[string]any) { res(doc, 0)["message"] = map[string]any{} }},
	})
}

// FuzzHostileText puts arbitrary text in what the image controls and checks
// the output stays valid SARIF.
func FuzzHostileText(f *testing.F) {
	for _, s := range []string{"/opt/my app/bin#1?x", "a:b", "\x00\xff", "%zz", "naïve-库\u202e"} {
		f.Add(s)
	}
	sch := reporttest.Schema(f, "testdata/sarif-schema-2.1.0.json")
	f.Fuzz(func(t *testing.T, s string) {
		doc := reporttest.Document()
		doc.Inventory.Components[2].Locations = []string{s}
		doc.Inventory.Source.Name = s
		fd := &doc.Findings[0]
		fd.ID, fd.Summary, fd.Component.PURL, fd.FixedVersion = s, s, s, s
		is := &doc.Issues[0]
		is.Rule, is.Path, is.Message, is.Evidence = s, s, s, s
		var buf bytes.Buffer
		if err := (Writer{}).Write(&buf, doc); err != nil {
			t.Fatal(err)
		}
		reporttest.Validate(t, sch, buf.Bytes())
	})
}
