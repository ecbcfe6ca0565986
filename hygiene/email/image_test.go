package email_test

import (
	"strings"
	"testing"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/email"
	"github.com/vigilsec/vigil/hygiene/internal/hygienetest"
	"github.com/vigilsec/vigil/internal/testimage"
)

func newCheck(t *testing.T, opts email.Options) *email.Check {
	c, err := email.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCleanDebian: debootstrap's base has no labels, and the maintainers in
// /var/lib/dpkg/status and /usr/share/doc are public by design.
func TestCleanDebian(t *testing.T) {
	_, issues := hygienetest.Scan(t, testimage.DebianImage(t), newCheck(t, email.Options{}))
	for _, is := range issues["email"] {
		t.Errorf("false positive: %s", is.Message)
	}
}

func TestDirtyImage(t *testing.T) {
	img, _ := hygienetest.Dirty(t)
	tests := []struct {
		name  string
		opts  email.Options
		want  map[string]string // address → field or path of the issue
		layer map[string]int
	}{
		{
			name: "default",
			want: map[string]string{
				"jane.doe@gmail.com":      "config.Labels.maintainer",
				"john_smith@acme.io":      "config.author",
				"j.random@yahoo.com":      "manifest.annotations.org.opencontainers.image.authors",
				"bob.builder@outlook.com": "/app/package.json",
			},
			layer: map[string]int{"bob.builder@outlook.com": hygienetest.SecretLayer},
		},
		{
			name: "allow-list",
			opts: email.Options{AllowList: "testdata/allow.txt"},
			want: map[string]string{
				"jane.doe@gmail.com":      "config.Labels.maintainer",
				"j.random@yahoo.com":      "manifest.annotations.org.opencontainers.image.authors",
				"bob.builder@outlook.com": "/app/package.json",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, all := hygienetest.Scan(t, img, newCheck(t, tt.opts))
			got := map[string]hygiene.Issue{}
			for _, is := range all["email"] {
				t.Logf("%s %s", is.Severity, is.Message)
				got[is.Evidence] = is
			}
			for addr, where := range tt.want {
				is, ok := got[addr]
				if !ok {
					t.Errorf("%s not reported", addr)
					continue
				}
				if is.Field+is.Path != where {
					t.Errorf("%s reported in %s%s, want %s", addr, is.Field, is.Path, where)
				}
				if is.Rule != email.Rule || is.Severity != hygiene.Medium {
					t.Errorf("%s: rule %s severity %s", addr, is.Rule, is.Severity)
				}
				if l, ok := tt.layer[addr]; ok && (is.Layer == nil || is.Layer.Index != l) {
					t.Errorf("%s: layer %v, want %d", addr, is.Layer, l)
				}
			}
			// Role addresses, third-party package metadata and the service
			// account's address in an unrelated file are not reported.
			if len(got) != len(tt.want) {
				t.Errorf("%d addresses reported, want %d", len(got), len(tt.want))
			}
			// The maintainer label is also in the history: one issue says both.
			if is := got["jane.doe@gmail.com"]; !strings.Contains(is.Message, "also in history[4].created_by") {
				t.Errorf("second place not named: %s", is.Message)
			}
		})
	}
}
