package email

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestAddresses(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Jane Doe <Jane.Doe@Gmail.com>", []string{"jane.doe@gmail.com"}},
		{"a@b.io, c@d.co.uk; a@b.io", []string{"a@b.io", "c@d.co.uk"}},
		{"npm i lodash@4.17.21 left-pad@1.3.0", nil},
		{"FROM debian@sha256:0123abcd", nil},
		{"user@localhost", nil},
		{"mailto:sec@acme.io.", []string{"sec@acme.io"}},
		{"no address here", nil},
	}
	for _, tt := range tests {
		if got := Addresses(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Addresses(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		addr string
		want Kind
	}{
		{"security@example.com", Role},
		{"engineering@acme.io", Role},
		{"hello@acme.io", Role},
		{"support@acme.io", Role},
		{"noreply@acme.io", Role},
		{"no-reply@acme.io", Role},
		{"noreply-builds@acme.io", Role},
		{"debian-python@lists.debian.org", Role},
		{"pkg-go-maintainers@alioth-lists.debian.net", Role},
		{"docker-maintainers@acme.io", Role},
		{"dev-team@acme.io", Role},
		{"acme-dev@googlegroups.com", Role},
		{"12345+jane@users.noreply.github.com", Role},
		{"security.team@acme.io", Role},
		{"docker-maint@nginx.com", Role},
		{"no-reply-builds@acme.io", Role},
		{"dev.patel@acme.io", Personal},
		{"jane.doe@acme.io", Personal},
		{"j.doe@acme.io", Personal},
		{"jane_q_public@acme.io", Personal},
		{"jane.doe+docker@acme.io", Personal},
		{"jdoe@gmail.com", Personal},
		{"security@gmail.com", Personal},
		{"someone@proton.me", Personal},
		{"jdoe@acme.io", Unknown},
		{"jane2000@acme.io", Unknown},
	}
	for _, tt := range tests {
		if got, why := Classify(tt.addr); got != tt.want {
			t.Errorf("Classify(%q) = %s (%s), want %s", tt.addr, got, why, tt.want)
		}
	}
}

func TestAllowList(t *testing.T) {
	f, err := os.Open("testdata/allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := ParseAllowList(f)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"john_smith@acme.io":     true,
		"jane.doe@press.acme.io": true,
		"jane.doe@acme.io":       false,
		"john_smith@acme.iox":    false,
	} {
		if got := a.Allows(addr); got != want {
			t.Errorf("Allows(%q) = %v, want %v", addr, got, want)
		}
	}
	for _, bad := range []string{"jane", "*@", "a@b@c", "j*@acme.io", "@acme.io", strings.Repeat("x", 2000)} {
		if _, err := ParseAllowList(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseAllowList(%.20q) accepted", bad)
		}
	}
}

func FuzzAddresses(f *testing.F) {
	f.Add("Jane Doe <jane.doe@gmail.com>")
	f.Add("pkg-foo-devel@lists.alioth.debian.org, lodash@4.17.21")
	b, err := os.ReadFile("testdata/allow.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Fuzz(func(t *testing.T, s string) {
		as := Addresses(s)
		if len(as) > maxAddresses {
			t.Errorf("%d addresses", len(as))
		}
		for _, a := range as {
			if !strings.Contains(strings.ToLower(s), a) || strings.Count(a, "@") != 1 {
				t.Errorf("Addresses(%q) returned %q", s, a)
			}
			Classify(a)
		}
		ParseAllowList(strings.NewReader(s))
	})
}
