package triage

import (
	"cmp"
	"slices"

	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vex"
)

// Weights of the ranking factors. Known exploitation outweighs everything:
// CISA lists what attackers use now. Then whether the vulnerable code runs
// and whether an attacker can reach it, then whether acting is possible
// (a fix exists), then the CVSS rating.
const (
	weightKEV       = 40
	weightReachable = 20
	weightExposed   = 10
	weightFix       = 10
	weightSeverity  = 5 // per severity rank: critical 25 … negligible 5
)

// Rank sets every finding's Priority and sorts findings in place: those
// that need action first, by score, then the suppressed ones; ties keep
// their order. exposed says the deployment can be reached over a network
// (deploy.Summary.Exposed), which raises network-exploitable findings.
func Rank(findings []match.Finding, exposed bool) {
	for i := range findings {
		f := &findings[i]
		if f.Verdict.Suppressed() {
			f.Priority = &match.Priority{}
			continue
		}
		p := &match.Priority{}
		add := func(w int, factor string) {
			p.Score += w
			p.Factors = append(p.Factors, factor)
		}
		if f.KEV != nil {
			add(weightKEV, "kev")
		}
		if reachable(f.Verdict) {
			add(weightReachable, "reachable")
		}
		if exposed && network(f.CVSS) {
			add(weightExposed, "exposed")
		}
		if f.FixState == match.FixStateFixed {
			add(weightFix, "fix available")
		}
		if r := f.Severity.Rank(); r > 0 {
			add(weightSeverity*r, "severity "+string(f.Severity))
		}
		f.Priority = p
	}
	slices.SortStableFunc(findings, func(a, b match.Finding) int {
		if sa, sb := a.Verdict.Suppressed(), b.Verdict.Suppressed(); sa != sb {
			if sa {
				return 1
			}
			return -1
		}
		return cmp.Compare(b.Priority.Score, a.Priority.Score)
	})
}

// reachable reports whether triage confirmed the vulnerable code is in the
// program (the reachability provider's affected verdict).
func reachable(v *vex.Verdict) bool {
	return v != nil && v.Status == vex.Affected && slices.ContainsFunc(v.Evidence, func(e vex.Evidence) bool { return e.Kind == EvidenceSymbols })
}

// network reports whether the finding's primary CVSS vector says it can be
// exploited over the network.
func network(vs []match.CVSS) bool {
	return len(vs) > 0 && vs[0].AttackVector() == "N"
}
