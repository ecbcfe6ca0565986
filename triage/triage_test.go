package triage_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
)

// fixed is a provider that returns the judgements it is given.
type fixed struct {
	name string
	js   []triage.Judgement
	err  error
}

func (p fixed) Name() string { return p.name }
func (p fixed) Judge(context.Context, *triage.Input, []match.Finding) ([]triage.Judgement, error) {
	return p.js, p.err
}

func verdict(s vex.Status, by string) vex.Verdict { return vex.Verdict{Status: s, By: by} }

// TestRunPrecedence: the first suppressing verdict stands; an affected
// verdict gives way to a later suppressing one, unless a user's VEX said it.
func TestRunPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		providers []triage.Provider
		want      []string // By of each finding's verdict, "" for none
	}{
		{"first suppressing verdict stands", []triage.Provider{
			fixed{name: "a", js: []triage.Judgement{{Finding: 0, Verdict: verdict(vex.NotAffected, "")}}},
			fixed{name: "b", js: []triage.Judgement{{Finding: 0, Verdict: verdict(vex.Fixed, "")}, {Finding: 1, Verdict: verdict(vex.Fixed, "")}}},
		}, []string{"triage/a", "triage/b", ""}},
		{"affected gives way to a later suppressing verdict", []triage.Provider{
			fixed{name: "reach", js: []triage.Judgement{{Finding: 0, Verdict: verdict(vex.Affected, "")}, {Finding: 1, Verdict: verdict(vex.Affected, "")}}},
			fixed{name: "deploy", js: []triage.Judgement{{Finding: 0, Verdict: verdict(vex.NotAffected, "")}}},
			fixed{name: "late", js: []triage.Judgement{{Finding: 1, Verdict: verdict(vex.UnderInvestigation, "")}}},
		}, []string{"triage/deploy", "triage/reach", ""}},
		{"a user's affected statement is final", []triage.Provider{
			fixed{name: "vex", js: []triage.Judgement{{Finding: 2, Verdict: verdict(vex.Affected, "vex:my.json")}}},
			fixed{name: "deploy", js: []triage.Judgement{{Finding: 2, Verdict: verdict(vex.NotAffected, "")}}},
		}, []string{"", "", "vex:my.json"}},
		{"out of range judgements are ignored", []triage.Provider{
			fixed{name: "bad", js: []triage.Judgement{{Finding: -1}, {Finding: 3, Verdict: verdict(vex.Fixed, "")}}},
		}, []string{"", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings := make([]match.Finding, 3)
			if _, err := triage.Run(t.Context(), &triage.Input{}, findings, tt.providers); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings {
				by := ""
				if f.Verdict != nil {
					by = f.Verdict.By
				}
				got = append(got, by)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("verdicts by %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRunWarns: a failing provider is a warning; the others still judge.
func TestRunWarns(t *testing.T) {
	findings := make([]match.Finding, 1)
	st, err := triage.Run(t.Context(), &triage.Input{}, findings, []triage.Provider{
		fixed{name: "broken", err: errors.New("boom")},
		fixed{name: "ok", js: []triage.Judgement{{Finding: 0, Verdict: verdict(vex.Fixed, "")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "triage broken: boom") {
		t.Errorf("warnings %q", st.Warnings)
	}
	if findings[0].Verdict == nil || st.Providers[1].Judged != 1 {
		t.Errorf("the working provider did not judge: %+v %+v", findings[0].Verdict, st.Providers)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := triage.Run(ctx, &triage.Input{}, findings, []triage.Provider{fixed{name: "x"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Run returned %v", err)
	}
}

func TestRank(t *testing.T) {
	net := []match.CVSS{{Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
	local := []match.CVSS{{Vector: "CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
	reach := &vex.Verdict{Status: vex.Affected, Evidence: []vex.Evidence{{Kind: "symbols"}}}
	findings := []match.Finding{
		{ID: "suppressed-critical", Severity: match.SeverityCritical, KEV: &vulndb.KEV{}, Verdict: &vex.Verdict{Status: vex.NotAffected}},
		{ID: "low", Severity: match.SeverityLow},
		{ID: "high-local", Severity: match.SeverityHigh, CVSS: local},
		{ID: "high-net", Severity: match.SeverityHigh, CVSS: net},
		{ID: "medium-reachable-fix", Severity: match.SeverityMedium, FixState: match.FixStateFixed, Verdict: reach},
		{ID: "low-kev", Severity: match.SeverityLow, KEV: &vulndb.KEV{}},
	}
	tests := []struct {
		exposed bool
		order   []string
	}{
		// 40+10, 20+10+15, 20+10, 20, 10, 0
		{true, []string{"low-kev", "medium-reachable-fix", "high-net", "high-local", "low", "suppressed-critical"}},
		{false, []string{"low-kev", "medium-reachable-fix", "high-local", "high-net", "low", "suppressed-critical"}},
	}
	for _, tt := range tests {
		fs := slices.Clone(findings)
		triage.Rank(fs, tt.exposed)
		var got []string
		for _, f := range fs {
			got = append(got, f.ID)
		}
		if !slices.Equal(got, tt.order) {
			t.Errorf("exposed %v: order %q, want %q", tt.exposed, got, tt.order)
		}
		if p := fs[0].Priority; p == nil || !slices.Equal(p.Factors, []string{"kev", "severity low"}) {
			t.Errorf("low-kev priority %+v", p)
		}
	}
}

// TestBaseline round-trips a report through Vigil's JSON writer: what the
// earlier report had is left out, whatever the package's version now; new
// ids and other packages stay; ids match through aliases.
func TestBaseline(t *testing.T) {
	old := []match.Finding{
		{ID: "CVE-2024-1", RootCause: "deb/openssl@3.0.11-1", Component: match.ComponentRef{Type: "deb", Name: "libssl3"}},
		{ID: "GO-2025-3563", Aliases: []string{"CVE-2025-22871"}, RootCause: "golang/stdlib@go1.23.4"},
	}
	var buf bytes.Buffer
	w, _ := report.New("json", report.Options{})
	doc := &report.Document{Inventory: &inventory.Inventory{}, Tool: report.ToolInfo{Name: "vigil"}, Created: time.Unix(1, 0), Findings: old}
	if err := w.Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	b, err := triage.ReadBaseline(&buf)
	if err != nil {
		t.Fatal(err)
	}
	now := []match.Finding{
		{ID: "CVE-2024-1", RootCause: "deb/openssl@3.0.15-1"},       // upgraded, still vulnerable: known
		{ID: "CVE-2024-1", RootCause: "deb/curl@8.0"},               // other package: new
		{ID: "CVE-2024-2", RootCause: "deb/openssl@3.0.15-1"},       // new id
		{ID: "CVE-2025-22871", RootCause: "golang/stdlib@go1.23.7"}, // alias: known
	}
	fresh, known := b.Filter(now)
	var got []string
	for _, f := range fresh {
		got = append(got, f.ID+" "+f.RootCause)
	}
	if known != 2 || !slices.Equal(got, []string{"CVE-2024-1 deb/curl@8.0", "CVE-2024-2 deb/openssl@3.0.15-1"}) {
		t.Errorf("fresh %q, known %d", got, known)
	}
	for _, bad := range []string{"", "{}", `{"findings": 3}`, "[1,2]", `{"bomFormat":"CycloneDX"}`} {
		if _, err := triage.ReadBaseline(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "Vigil JSON report") {
			t.Errorf("ReadBaseline(%q) = %v, want a clear error", bad, err)
		}
	}
}

func FuzzReadBaseline(f *testing.F) {
	f.Add([]byte(`{"tool":{"name":"vigil"},"findings":[{"id":"CVE-1","aliases":["GHSA-x"],"rootCause":"deb/a@1"}]}`))
	f.Add([]byte(`{"tool":{"name":"vigil"},"findings":[{"id":"CVE-1","component":{"type":"npm","name":"x"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := triage.ReadBaseline(bytes.NewReader(data))
		if err == nil {
			b.Filter([]match.Finding{{ID: "CVE-1", RootCause: "deb/a@2"}})
		}
	})
}
