package scan_test

import (
	"slices"
	"testing"

	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

// TestTriage runs the whole pipeline with the default triage on the real
// Debian image with a Go application: every provider runs in order, every
// verdict names its provider and carries evidence, every finding is
// ranked, and the findings needing action come first.
func TestTriage(t *testing.T) {
	db := vulndbtest.DB(t)
	res, err := scan.Run(t.Context(), appImage(t), scan.Options{Layers: layers.Options{TempDir: t.TempDir()}, DB: db, Triage: scan.Triage()})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()

	var names []string
	for _, p := range res.Triage.Providers {
		names = append(names, p.Name)
	}
	if want := []string{"supersede", "backport", "reachability", "deploy"}; !slices.Equal(names, want) {
		t.Errorf("providers ran %v, want %v", names, want)
	}
	if len(res.Triage.Warnings) > 0 {
		t.Errorf("triage warnings: %v", res.Triage.Warnings)
	}
	if c := res.Context; c == nil || !c.Assumed || len(c.Notes) == 0 {
		t.Errorf("with no --context the image config must stand in, and say so: %+v", c)
	}

	by := map[string]int{}
	suppressedSeen := false
	last := 1 << 30
	for _, f := range res.Findings {
		if f.Priority == nil {
			t.Fatalf("%s %s is not ranked", f.Component.Name, f.ID)
		}
		if v := f.Verdict; v != nil {
			by[v.By]++
			if v.Impact == "" || len(v.Evidence) == 0 {
				t.Errorf("%s %s: verdict without impact or evidence: %+v", f.Component.Name, f.ID, v)
			}
		}
		switch {
		case f.Verdict.Suppressed():
			suppressedSeen = true
		case suppressedSeen:
			t.Errorf("%s %s needs action but comes after a suppressed finding", f.Component.Name, f.ID)
		case f.Priority.Score > last:
			t.Errorf("%s %s (score %d) comes after a lower score %d", f.Component.Name, f.ID, f.Priority.Score, last)
		default:
			last = f.Priority.Score
		}
	}
	// The Debian snapshot predates fixes today's bookworm changelogs name,
	// and the application calls language.Make, none of x/text's
	// vulnerable functions.
	for _, p := range []string{"triage/backport", "triage/reachability"} {
		if by[p] == 0 {
			t.Errorf("no verdict from %s (verdicts: %v)", p, by)
		}
	}
	text := 0
	for _, f := range res.Findings {
		if f.Component.Name != "text" {
			continue
		}
		text++
		if f.Verdict == nil || f.Verdict.Status != vex.NotAffected {
			t.Errorf("x/text %s: verdict %+v; the program links none of its vulnerable functions", f.ID, f.Verdict)
		}
	}
	if text == 0 {
		t.Error("no x/text finding: v0.3.7 has GO-2022-1059 in the shared data")
	}
}
