package policy

import (
	"testing"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
)

// TestFindingsGate checks the no-critical-or-kev rule over findings as the
// pipeline produces them: triage verdicts decide what blocks.
func TestFindingsGate(t *testing.T) {
	p, err := Parse("p.yaml", []byte("rules:\n  - use: no-critical-or-kev\n  - use: no-personal-email\n"))
	if err != nil {
		t.Fatal(err)
	}
	crit := func(id string, v *vex.Verdict) match.Finding {
		return match.Finding{ID: id, Severity: match.SeverityCritical, Component: match.ComponentRef{Name: "openssl"}, Verdict: v}
	}
	for _, tc := range []struct {
		name   string
		fs     []match.Finding
		issues []hygiene.Issue
		denied bool
		warned bool
	}{
		{"untriaged critical", []match.Finding{crit("CVE-1", nil)}, nil, true, false},
		{"critical not in execute path", []match.Finding{crit("CVE-1", &vex.Verdict{Status: vex.UnderInvestigation, Justification: vex.VulnerableCodeNotInExecutePath})}, nil, false, false},
		{"critical triaged not affected", []match.Finding{crit("CVE-1", &vex.Verdict{Status: vex.NotAffected, Justification: vex.InlineMitigationsAlreadyExist})}, nil, false, false},
		{"high but KEV", []match.Finding{{ID: "CVE-2", Severity: match.SeverityHigh, KEV: &vulndb.KEV{}}}, nil, true, false},
		{"high", []match.Finding{{ID: "CVE-3", Severity: match.SeverityHigh}}, nil, false, false},
		{"personal e-mail", nil, []hygiene.Issue{{Rule: "vigil/personal-email", Field: "config.Labels.maintainer"}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(t.Context(), &Input{Findings: FindingsInput(tc.fs), Hygiene: HygieneInput(tc.issues)})
			if got := !d.Allowed(); got != tc.denied {
				t.Errorf("denied %v, want %v: %+v", got, tc.denied, d)
			}
			if got := len(d.Warned) > 0; got != tc.warned {
				t.Errorf("warned %v, want %v: %+v", got, tc.warned, d)
			}
		})
	}
}
