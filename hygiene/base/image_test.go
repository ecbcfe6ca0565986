package base_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/base"
	"github.com/vigilsec/vigil/hygiene/internal/hygienetest"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// TestDebianBase runs the pipeline on the debootstrap bookworm image, with
// real matching against the shared vulnerability data, and judges its base
// as of 2026-11-23: bookworm is in Debian LTS, and the base layer (dated
// testimage.Epoch) is old.
func TestDebianBase(t *testing.T) {
	db := vulndbtest.DB(t)
	today := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	c := base.New(base.Options{Now: func() time.Time { return today }})
	in, all := hygienetest.ScanDB(t, testimage.DebianImage(t), db, c)
	findings, issues := in.Findings, all["base"]
	byRule := map[string]hygiene.Issue{}
	for _, is := range issues {
		t.Logf("%s %s: %s", is.Rule, is.Severity, is.Message)
		byRule[is.Rule] = is
	}
	eol, ok := byRule[base.RuleEOL]
	if !ok || eol.Severity != hygiene.Low || !strings.Contains(eol.Message, "Debian LTS") {
		t.Errorf("bookworm in LTS not reported as such: %+v", eol)
	}
	fixable := map[string]bool{}
	for _, f := range findings {
		if f.FixState == match.FixStateFixed && f.Layer != nil && f.Layer.Index == 0 && (f.Verdict == nil || !f.Verdict.Suppressed()) {
			fixable[f.ID+" "+f.Component.Ref] = true
		}
	}
	out, ok := byRule[base.RuleOutdated]
	if !ok {
		t.Fatal("old base not reported")
	}
	days := int(today.Sub(testimage.Epoch).Hours() / 24)
	if want := fmt.Sprintf("Base is %d days old", days); out.Title != want {
		t.Errorf("title %q, want %q", out.Title, want)
	}
	if n := len(fixable); n > 0 && (out.Severity != hygiene.Medium || !strings.Contains(out.Message, fmt.Sprintf("; %d vulnerability findings", n))) {
		t.Errorf("%d fixable findings not counted: %s", n, out.Message)
	}
	t.Logf("%d findings, %d fixable in the base", len(findings), len(fixable))
}
