package vexin

import (
	"os"
	"path/filepath"
	"testing"

	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
)

func FuzzOpenVEX(f *testing.F) {
	fuzz(f, "testdata/openvex/*.json", "testdata/bad/openvex-*.json")
}

func FuzzCycloneDX(f *testing.F) {
	fuzz(f, "testdata/cyclonedx/*.json", "testdata/bad/cdx-*.json", "testdata/bad/sbom.json")
}

// fuzz seeds f with the files matching patterns and checks that any input
// either fails to parse or yields statements whose verdicts, applied to the
// fixture, are well formed.
func fuzz(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		files, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sts, err := parse("fuzz.json", data)
		if err != nil {
			return
		}
		p := &Provider{byVuln: map[string][]*statement{}}
		p.add(sts)
		inv := fixtureInventory()
		findings := fixtureFindings(inv)
		js, err := p.Judge(t.Context(), &triage.Input{Inventory: inv}, findings)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			v := j.Verdict
			switch {
			case v.By != "vex:fuzz.json":
				t.Errorf("By %q", v.By)
			case v.Status != vex.NotAffected && v.Status != vex.Affected && v.Status != vex.Fixed && v.Status != vex.UnderInvestigation:
				t.Errorf("status %q", v.Status)
			case v.Justification != "" && (v.Status != vex.NotAffected || !govex.Justification(v.Justification).Valid()):
				t.Errorf("justification %q with status %q", v.Justification, v.Status)
			case len(v.Evidence) != 1:
				t.Errorf("evidence %+v", v.Evidence)
			}
		}
	})
}
