package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/internal/golden"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
)

// triagedFindings are findings as the pipeline leaves them after triage,
// one of each kind the no-critical-or-kev rule must tell apart, ranked by
// the real triage.Rank as for an image deployed where it is exposed.
func triagedFindings() []match.Finding {
	network := []match.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Source: "cvss:nvd"}}
	linked := func(fn string) *vex.Verdict {
		return &vex.Verdict{Status: vex.Affected, Impact: "/app/server links the vulnerable code: " + fn + ".", By: "triage/reachability",
			Evidence: []vex.Evidence{{Kind: "symbols", Location: "/app/server", Detail: "linked vulnerable functions: " + fn}}}
	}
	fs := []match.Finding{
		{ID: "CVE-2024-24790", Severity: match.SeverityCritical, CVSS: network, FixState: match.FixStateFixed, FixedVersion: "1.22.4",
			Component: match.ComponentRef{Name: "stdlib"}, InstalledVersion: "1.22.1", RootCause: "golang/stdlib@1.22.1",
			Verdict: linked("net/netip.Addr.IsLoopback")},
		{ID: "CVE-2023-45288", Severity: match.SeverityHigh, CVSS: network, FixState: match.FixStateFixed, FixedVersion: "0.23.0",
			Component: match.ComponentRef{Name: "golang.org/x/net"}, InstalledVersion: "0.17.0", RootCause: "golang/golang.org/x/net@0.17.0",
			Verdict: linked("golang.org/x/net/http2.Server.ServeConn")},
		{ID: "CVE-2024-45337", Severity: match.SeverityCritical, CVSS: network, FixState: match.FixStateFixed, FixedVersion: "0.31.0",
			Component: match.ComponentRef{Name: "golang.org/x/crypto"}, InstalledVersion: "0.21.0", RootCause: "golang/golang.org/x/crypto@0.21.0",
			Verdict: &vex.Verdict{Status: vex.NotAffected, Justification: vex.VulnerableCodeNotInExecutePath, By: "triage/reachability",
				Impact: "/app/server links golang.org/x/crypto/ssh but none of the vulnerable functions."}},
		{ID: "CVE-2024-6387", Severity: match.SeverityHigh, CVSS: network, FixState: match.FixStateFixed, KEV: &vulndb.KEV{},
			Component: match.ComponentRef{Name: "openssh-client"}, InstalledVersion: "1:9.2p1-2+deb12u2", RootCause: "deb/openssh@1:9.2p1-2+deb12u2",
			Verdict: &vex.Verdict{Status: vex.Fixed, By: "triage/backport", Impact: "The Debian changelog of openssh-client 1:9.2p1-2+deb12u3 says CVE-2024-6387 is fixed."}},
		{ID: "CVE-2023-4863", Severity: match.SeverityHigh, CVSS: network, FixState: match.FixStateFixed, FixedVersion: "1.2.4-0.2+deb12u1", KEV: &vulndb.KEV{},
			Component: match.ComponentRef{Name: "libwebp7"}, InstalledVersion: "1.2.4-0.2", RootCause: "deb/libwebp@1.2.4-0.2"},
		{ID: "CVE-2024-0001", Severity: match.SeverityCritical, FixState: match.FixStateNotFixed,
			Component: match.ComponentRef{Name: "zlib1g"}, InstalledVersion: "1:1.2.13.dfsg-1", RootCause: "deb/zlib@1:1.2.13.dfsg-1"},
	}
	triage.Rank(fs, true)
	return fs
}

// TestTriagedInputRecorded keeps testdata/inputs/triaged-image.json what
// the pipeline writes for triagedFindings, so the suites replaying it
// (testdata/*_test.yaml) judge real verdicts and rankings.
func TestTriagedInputRecorded(t *testing.T) {
	in := &Input{
		Image: Image{Ref: "ghcr.io/acme/server@sha256:" + strings.Repeat("ab", 32), Digest: "sha256:" + strings.Repeat("ab", 32),
			Registry: "ghcr.io", Repository: "acme/server", Pinned: true, AgeDays: 3, Config: Config{User: "10001", NonRoot: true}},
		Findings: FindingsInput(triagedFindings()),
	}
	path := filepath.Join("testdata", "inputs", "triaged-image.json")
	golden.JSON(t, path, in, *update)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadInput(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, path, back, false) // and it reads back as written
}

// TestFindingsInput checks that verdicts and rankings reach the input.
func TestFindingsInput(t *testing.T) {
	in := FindingsInput(triagedFindings())
	byID := map[string]Finding{}
	for _, f := range in {
		byID[f.ID] = f
	}
	for _, tc := range []struct {
		id                    string
		suppressed, reachable bool
		status, by            string
		factors               []string
	}{
		{"CVE-2024-24790", false, true, "affected", "triage/reachability", []string{"reachable", "exposed", "fix available", "severity critical"}},
		{"CVE-2024-45337", true, false, "not_affected", "triage/reachability", nil},
		{"CVE-2024-6387", true, true, "fixed", "triage/backport", nil},
		{"CVE-2023-4863", false, true, "", "", []string{"kev", "exposed", "fix available", "severity high"}},
		{"CVE-2024-0001", false, true, "", "", []string{"severity critical"}},
	} {
		f, ok := byID[tc.id]
		if !ok {
			t.Fatalf("%s missing", tc.id)
		}
		if f.Suppressed != tc.suppressed || f.Reachable != tc.reachable || f.Verdict.Status != tc.status || f.Verdict.By != tc.by ||
			!slices.Equal(f.Priority.Factors, tc.factors) {
			t.Errorf("%s: %+v", tc.id, f)
		}
		if !tc.suppressed && f.Priority.Score == 0 {
			t.Errorf("%s: unranked", tc.id)
		}
	}
	if f := byID["CVE-2024-24790"]; f.RootCause != "golang/stdlib@1.22.1" || f.Verdict.Impact == "" {
		t.Errorf("root cause or impact lost: %+v", f)
	}
}

// TestFindingsGate checks the no-critical-or-kev rule over findings as the
// pipeline produces them: triage verdicts decide what blocks, and its
// parameters choose which severities and how sure reachability must be.
func TestFindingsGate(t *testing.T) {
	fs := triagedFindings()
	pick := func(ids ...string) []match.Finding {
		var out []match.Finding
		for _, f := range fs {
			if slices.Contains(ids, f.ID) {
				out = append(out, f)
			}
		}
		if len(out) != len(ids) {
			t.Fatalf("picked %d of %v", len(out), ids)
		}
		return out
	}
	unranked := pick("CVE-2024-0001")
	unranked[0].Priority = nil // as with --no-triage
	const confirmed = "params: {unknownIsReachable: false}"
	for _, tc := range []struct {
		name   string
		params string
		fs     []match.Finding
		issues []hygiene.Issue
		denied []string // finding ids in the message; none when allowed
		warned bool
	}{
		{"critical confirmed reachable", "", pick("CVE-2024-24790"), nil, []string{"CVE-2024-24790 in stdlib (critical, reachable per triage/reachability, affected)"}, false},
		{"critical not in execute path", "", pick("CVE-2024-45337"), nil, nil, false},
		{"KEV fixed by a backport", "", pick("CVE-2024-6387"), nil, nil, false},
		{"KEV untriaged", "", pick("CVE-2023-4863"), nil, []string{"CVE-2023-4863 in libwebp7 (known exploited, not triaged)"}, false},
		{"critical untriaged", "", pick("CVE-2024-0001"), nil, []string{"CVE-2024-0001 in zlib1g (critical, not triaged)"}, false},
		{"critical untriaged, triage off", "", unranked, nil, []string{"CVE-2024-0001"}, false},
		{"high confirmed reachable", "", pick("CVE-2023-45288"), nil, nil, false},
		{"high confirmed reachable, highs block", "params: {severities: [critical, high]}", pick("CVE-2023-45288"), nil, []string{"CVE-2023-45288"}, false},
		{"only confirmed: untriaged critical passes", confirmed, pick("CVE-2024-0001"), nil, nil, false},
		{"only confirmed: reachable critical and KEV deny", confirmed, fs, nil, []string{"CVE-2024-24790", "CVE-2023-4863"}, false},
		{"personal e-mail", "", nil, []hygiene.Issue{{Rule: "vigil/personal-email", Field: "config.Labels.maintainer"}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte("rules:\n  - use: no-critical-or-kev\n    "+tc.params+"\n  - use: no-personal-email\n"))
			if err != nil {
				t.Fatal(err)
			}
			d := p.Evaluate(t.Context(), &Input{Findings: FindingsInput(tc.fs), Hygiene: HygieneInput(tc.issues)})
			if d.Allowed() != (len(tc.denied) == 0) {
				t.Fatalf("allowed %v, want denial for %v: %+v", d.Allowed(), tc.denied, d)
			}
			for _, id := range tc.denied {
				if !strings.Contains(d.Denied[0].Message, id) {
					t.Errorf("message %q does not name %q", d.Denied[0].Message, id)
				}
			}
			if got := len(d.Warned) > 0; got != tc.warned {
				t.Errorf("warned %v, want %v: %+v", got, tc.warned, d)
			}
		})
	}
}
