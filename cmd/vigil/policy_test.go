package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/vex"
)

// TestPolicyGate runs the `scan --policy` gate over scan results: a
// critical finding denies unless triage cleared it, and the output names
// the rule and the finding.
func TestPolicyGate(t *testing.T) {
	host := testimage.Registry(t)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := testimage.Push(t, host, "app:1", img)
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("rules:\n  - use: no-critical-or-kev\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	crit := match.Finding{ID: "CVE-2024-0001", Severity: match.SeverityCritical, Component: match.ComponentRef{Name: "openssl"}}
	cleared := crit
	cleared.Verdict = &vex.Verdict{Status: vex.NotAffected, Justification: vex.VulnerableCodeNotInExecutePath, By: "triage/test"}
	for _, tc := range []struct {
		name    string
		finding match.Finding
		denied  bool
	}{
		{"critical finding denies", crit, true},
		{"triaged finding passes", cleared, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := &cobra.Command{}
			cmd.SetErr(&out)
			cmd.SetContext(t.Context())
			g := policyGate{}
			g.register(cmd.Flags())
			if err := cmd.Flags().Set("policy", pol); err != nil {
				t.Fatal(err)
			}
			err := g.run(cmd, &registryFlags{}, ref, &scan.Result{Findings: []match.Finding{tc.finding}})
			if got := errors.Is(err, errPolicy); got != tc.denied {
				t.Fatalf("denied %v (%v), want %v\n%s", got, err, tc.denied, out.String())
			}
			if tc.denied && !strings.Contains(out.String(), "DENY  no-critical-or-kev: blocking findings: CVE-2024-0001 in openssl") {
				t.Errorf("output does not name the rule and finding:\n%s", out.String())
			}
		})
	}
}
