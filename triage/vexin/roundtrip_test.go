package vexin

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/report"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/triage/supersede"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// TestRoundTrip scans a real image from a registry on 127.0.0.1 (Debian
// bookworm, a Go binary /app/keep and one /app/server that a later layer
// replaces with a fixed build) against the shared data, gives its Debian
// findings every status and justification in turn, renders the findings
// with Vigil's openvex and cyclonedx-json writers, and applies each output
// to fresh copies of the findings: every finding must get back the status
// and justification it was written with.
//
// Findings of one vulnerability on components sharing a purl (x/text in
// /app/keep, untriaged, and in the replaced /app/server,
// component_not_present) must stay apart, and component_not_present must
// survive CycloneDX, whose codes cannot say it.
func TestRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian image and Go binaries the first time")
	}
	db := vulndbtest.DB(t)
	old, fixed := testimage.TextProgram(t, "v0.3.5"), testimage.TextProgram(t, "v0.39.0")
	img := testimage.Build(t, testimage.DebianImage(t), []v1.Layer{
		testimage.LayerFromFiles(t, []testimage.File{
			{Path: "app", Type: testimage.Dir},
			{Path: "app/server", Body: string(old), Mode: 0o755},
			{Path: "app/keep", Body: string(old), Mode: 0o755},
		}),
		testimage.LayerFromFiles(t, []testimage.File{{Path: "app/server", Body: string(fixed), Mode: 0o755}}),
	}, []string{"COPY build/ /app/", "COPY server-fixed /app/server"}, nil)
	host := testimage.Registry(t)
	testimage.Push(t, host, "vigiltest/vexin:1", img)

	res, err := scan.Run(t.Context(), host+"/vigiltest/vexin:1", scan.Options{
		Layers: layers.Options{TempDir: t.TempDir()},
		DB:     db,
		Triage: []triage.Provider{supersede.Provider{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	findings := res.Findings

	// Every Debian finding gets a verdict in turn, one in nine none.
	templates := []*vex.Verdict{
		{Status: vex.NotAffected, Justification: vex.ComponentNotPresent},
		{Status: vex.NotAffected, Justification: vex.VulnerableCodeNotPresent},
		{Status: vex.NotAffected, Justification: vex.VulnerableCodeNotInExecutePath},
		{Status: vex.NotAffected, Justification: vex.VulnerableCodeCannotBeControlledByAdversary},
		{Status: vex.NotAffected, Justification: vex.InlineMitigationsAlreadyExist},
		{Status: vex.Affected},
		{Status: vex.Fixed},
		{Status: vex.UnderInvestigation},
		nil,
	}
	n := 0
	for i := range findings {
		f := &findings[i]
		if f.Component.Type != "deb" || f.Verdict != nil {
			continue
		}
		if tmpl := templates[n%len(templates)]; tmpl != nil {
			v := *tmpl
			v.Impact = "set by the round-trip test"
			v.Evidence = []vex.Evidence{{Kind: "test", Detail: "verdict " + string(v.Status)}}
			v.By = "triage/roundtrip"
			f.Verdict = &v
		}
		n++
	}
	if n < len(templates) {
		t.Fatalf("%d Debian findings: too few to give each verdict; matching against the shared data is broken", n)
	}
	removed := 0
	for i := range findings {
		if v := findings[i].Verdict; v != nil && v.By == "triage/supersede" {
			removed++
		}
	}
	if removed == 0 {
		t.Fatal("supersede judged no finding: the replaced /app/server should have x/text findings that are not present")
	}

	doc := &report.Document{
		Inventory: res.Inventory,
		Tool:      report.ToolInfo{Name: "vigil", Version: "test"},
		Created:   time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Findings:  findings,
	}
	for _, format := range []string{"openvex", "cyclonedx-json"} {
		t.Run(format, func(t *testing.T) {
			w, err := report.New(format, report.Options{})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), format+".json")
			out, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(out, doc); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			p, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			fresh := slices.Clone(findings)
			for i := range fresh {
				fresh[i].Verdict = nil
			}
			st, err := triage.Run(t.Context(), &triage.Input{Inventory: res.Inventory}, fresh, []triage.Provider{p})
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Warnings) > 0 {
				t.Errorf("warnings: %v", st.Warnings)
			}
			for i := range fresh {
				got := verdictString(fresh[i].Verdict)
				if want := written(format, findings[i].Verdict); got != want {
					t.Errorf("%s on %s (%s): read back as %q, want %q", findings[i].ID, findings[i].Component.PURL, findings[i].Component.Ref, got, want)
				}
				if v := fresh[i].Verdict; v != nil && v.By != "vex:"+path {
					t.Errorf("%s: By %q", findings[i].ID, v.By)
				}
			}
		})
	}
}

// written is what a writer states for verdict v: openvex says affected
// where triage said nothing, since the version match stands.
func written(format string, v *vex.Verdict) string {
	if v == nil && format == "openvex" {
		return string(vex.Affected)
	}
	return verdictString(v)
}
