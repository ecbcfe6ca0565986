package advice

import (
	"testing"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vex"
)

func TestFix(t *testing.T) {
	libssl := match.ComponentRef{Type: "deb", Name: "libssl3", Source: &inventory.SourcePackage{Name: "openssl"}}
	stdlib := match.ComponentRef{Type: "golang", Name: "stdlib"}
	bin := &inventory.Component{Type: "golang", Name: "stdlib", Metadata: map[string]string{"go.binary": "/usr/local/bin/app"}}
	uuid := &inventory.Component{Type: "golang", Namespace: "github.com/google", Name: "uuid"}
	tests := []struct {
		name string
		f    match.Finding
		c    *inventory.Component
		want string
	}{
		{"distro package named with its source", match.Finding{Component: libssl, FixState: match.FixStateFixed, FixedVersion: "3.0.15-1~deb12u1"}, nil,
			"Upgrade libssl3 (source package openssl) to 3.0.15-1~deb12u1 or later."},
		{"module named by its path", match.Finding{Component: match.ComponentRef{Type: "golang", Name: "uuid"}, FixState: match.FixStateFixed, FixedVersion: "1.6.1"}, uuid,
			"Upgrade github.com/google/uuid to 1.6.1 or later."},
		{"standard library is rebuilt", match.Finding{Component: stdlib, FixState: match.FixStateFixed, FixedVersion: "1.23.8"}, bin,
			"Rebuild /usr/local/bin/app with Go 1.23.8 or later."},
		{"no fix", match.Finding{Component: libssl, FixState: match.FixStateNotFixed}, nil,
			"No fix is available yet; watch the advisories, and remove libssl3 or mitigate the vulnerability meanwhile."},
		{"fix unknown", match.Finding{Component: libssl, FixState: match.FixStateUnknown}, nil,
			"A later version of libssl3 is not affected, but the data does not say which; see the advisories."},
		{"fixed without a version is unknown", match.Finding{Component: libssl, FixState: match.FixStateFixed}, nil,
			"A later version of libssl3 is not affected, but the data does not say which; see the advisories."},
		{"suppressed", match.Finding{Component: libssl, FixState: match.FixStateNotFixed, Verdict: &vex.Verdict{Status: vex.NotAffected, By: "triage/symbols"}}, nil,
			"No action is needed: not affected, as triage/symbols found."},
	}
	for _, tt := range tests {
		if got := Fix(&tt.f, tt.c); got != tt.want {
			t.Errorf("%s: Fix = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDetail(t *testing.T) {
	tests := []struct {
		v    vex.Verdict
		want string
	}{
		{vex.Verdict{Impact: "why"}, "why"},
		{vex.Verdict{Impact: "why", Evidence: []vex.Evidence{{Kind: "changelog", Location: "/usr/share/doc/x/changelog.Debian.gz", Detail: "fixes CVE-1"}, {Kind: "context", Detail: "no network"}}},
			"why\nchangelog /usr/share/doc/x/changelog.Debian.gz: fixes CVE-1\ncontext: no network"},
		{vex.Verdict{Evidence: []vex.Evidence{{Kind: "symbols", Detail: "not linked"}}}, "symbols: not linked"},
	}
	for _, tt := range tests {
		if got := Detail(&tt.v); got != tt.want {
			t.Errorf("Detail(%+v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
