package base

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vex"
)

// today is the date the table is judged at in these tests.
var today = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestEOL(t *testing.T) {
	tests := []struct {
		id, version string
		want        hygiene.Severity // "" for no issue
	}{
		{"debian", "12", hygiene.Low},       // LTS since 2026-06-10
		{"debian", "11", hygiene.High},      // LTS ended 2026-08-31
		{"debian", "13", ""},                // supported
		{"debian", "", ""},                  // sid: no release
		{"ubuntu", "20.04", hygiene.Medium}, // ESM needs Ubuntu Pro
		{"ubuntu", "22.04", ""},
		{"ubuntu", "16.04", hygiene.High},
		{"ubuntu", "24.10", hygiene.High},
		{"alpine", "3.19.1", hygiene.High},
		{"alpine", "3.21.3", hygiene.High}, // ended 2026-11-01
		{"alpine", "3.22.0", ""},
		{"rhel", "8.10", ""},
		{"rhel", "7.9", hygiene.Medium},
		{"centos", "7", hygiene.High},
		{"amzn", "2", hygiene.High},
		{"amzn", "2023", ""},
		{"fedora", "40", ""}, // not in the table
	}
	c := New(Options{Now: func() time.Time { return today }})
	for _, tt := range tests {
		in := &hygiene.Input{Inventory: &inventory.Inventory{Distro: &inventory.Distro{ID: tt.id, VersionID: tt.version}}}
		issues, err := c.Run(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		var got hygiene.Severity
		for _, is := range issues {
			if is.Rule == RuleEOL {
				got = is.Severity
				t.Logf("%s %s: %s", tt.id, tt.version, is.Message)
			}
		}
		if got != tt.want {
			t.Errorf("%s %s: severity %q, want %q", tt.id, tt.version, got, tt.want)
		}
	}
}

func TestApproaching(t *testing.T) {
	c := New(Options{Now: func() time.Time { return time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC) }})
	in := &hygiene.Input{Inventory: &inventory.Inventory{Distro: &inventory.Distro{ID: "ubuntu", VersionID: "22.04"}}}
	issues, _ := c.Run(context.Background(), in)
	if len(issues) != 1 || issues[0].Severity != hygiene.Info {
		t.Errorf("22.04 three months before its end: %+v", issues)
	}
}

// TestTable keeps the shipped table coherent: every row has a source, and
// extended support ends after regular support.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Releases {
		if r.Source == "" || r.Name == "" || r.Security.IsZero() {
			t.Errorf("%s %s: incomplete row", r.Distro, r.Version)
		}
		if !r.Extended.IsZero() && !r.Extended.After(r.Security) {
			t.Errorf("%s %s: extended support ends before regular support", r.Distro, r.Version)
		}
		if seen[r.Distro+r.Version] {
			t.Errorf("%s %s: two rows", r.Distro, r.Version)
		}
		seen[r.Distro+r.Version] = true
	}
}

// walk returns the filesystem of empty layers described by infos, as the
// layer walk makes it.
func walk(t *testing.T, infos []layers.Info) layers.FS {
	blobs := make([]layers.Blob, len(infos))
	for i, info := range infos {
		blobs[i] = layers.Blob{Info: info, Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(make([]byte, 1024))), nil // an empty tar
		}}
	}
	fsys, err := layers.Walk(t.Context(), blobs, layers.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func TestOutdated(t *testing.T) {
	old, fresh := today.AddDate(-1, 0, 0), today.AddDate(0, 0, -10)
	fixed := func(id string, layer int) match.Finding {
		return match.Finding{ID: id, FixState: match.FixStateFixed, Component: match.ComponentRef{Ref: "pkg-" + id}, Layer: &layers.Info{Index: layer}}
	}
	suppressed := fixed("CVE-4", 0)
	suppressed.Verdict = &vex.Verdict{Status: vex.NotAffected}
	notFixed := fixed("CVE-5", 0)
	notFixed.FixState = match.FixStateNotFixed
	findings := []match.Finding{fixed("CVE-1", 0), fixed("CVE-1", 0), fixed("CVE-2", 1), fixed("CVE-3", 2), suppressed, notFixed}
	tests := []struct {
		name     string
		infos    []layers.Info
		findings []match.Finding
		want     hygiene.Severity
		fixable  int
	}{
		{"old bottom layer, fixable", []layers.Info{{Index: 0, Created: old}, {Index: 1, Created: fresh}, {Index: 2}}, findings, hygiene.Medium, 1},
		{"marked base layers", []layers.Info{{Index: 0, Created: old, Base: true}, {Index: 1, Created: fresh, Base: true}, {Index: 2}}, findings, hygiene.Medium, 2},
		{"old, nothing fixable", []layers.Info{{Index: 0, Created: old}}, nil, hygiene.Low, 0},
		{"fresh, nothing fixable", []layers.Info{{Index: 0, Created: fresh}}, findings[2:], "", 0},
		{"undated, fixable", []layers.Info{{Index: 0}}, findings, hygiene.Medium, 1},
		{"epoch date of a reproducible build is no age", []layers.Info{{Index: 0, Created: time.Unix(0, 0).UTC()}}, nil, "", 0},
		{"epoch date, fixable", []layers.Info{{Index: 0, Created: time.Unix(0, 0).UTC()}}, findings, hygiene.Medium, 1},
	}
	c := New(Options{Now: func() time.Time { return today }})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issues, err := c.Run(context.Background(), &hygiene.Input{FS: walk(t, tt.infos), Findings: tt.findings})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(issues) > 0 {
					t.Errorf("unexpected %+v", issues)
				}
				return
			}
			if len(issues) != 1 || issues[0].Rule != RuleOutdated || issues[0].Severity != tt.want {
				t.Fatalf("issues %+v, want one %s %s", issues, RuleOutdated, tt.want)
			}
			msg := issues[0].Message
			if tt.fixable > 0 && !strings.Contains(msg, fmt.Sprintf("; %d vulnerability findings", tt.fixable)) {
				t.Errorf("want %d fixable: %s", tt.fixable, msg)
			}
			if tt.fixable == 0 && strings.Contains(msg, "vulnerability findings") {
				t.Errorf("want none fixable: %s", msg)
			}
		})
	}
}
