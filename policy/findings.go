package policy

import (
	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vex"
)

// FindingsInput converts the pipeline's findings, with their triage
// verdicts and ranking, to the policy's form.
func FindingsInput(fs []match.Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		pf := Finding{
			ID:         f.ID,
			Aliases:    f.Aliases,
			Package:    f.Component.Name,
			Version:    f.InstalledVersion,
			RootCause:  f.RootCause,
			Fixed:      f.FixedVersion,
			Severity:   string(f.Severity),
			KEV:        f.KEV != nil,
			Reachable:  true,
			Suppressed: f.Verdict.Suppressed(),
		}
		if v := f.Verdict; v != nil {
			pf.Verdict = Verdict{Status: string(v.Status), Justification: string(v.Justification), Impact: v.Impact, By: v.By}
			// Only triage that showed the code cannot run makes a finding
			// unreachable; other justifications say something else.
			switch v.Justification {
			case vex.VulnerableCodeNotPresent, vex.VulnerableCodeNotInExecutePath, vex.ComponentNotPresent:
				pf.Reachable = false
			}
		}
		if p := f.Priority; p != nil {
			pf.Priority = Priority{Score: p.Score, Factors: p.Factors}
		}
		out = append(out, pf)
	}
	return out
}

// HygieneInput converts hygiene issues, leaving out their evidence (which
// may quote a secret).
func HygieneInput(is []hygiene.Issue) []Hygiene {
	out := make([]Hygiene, 0, len(is))
	for _, i := range is {
		out = append(out, Hygiene{Rule: i.Rule, Severity: string(i.Severity), Message: i.Message, Path: i.Path, Field: i.Field})
	}
	return out
}
