package ecosystem_test

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/vigilsec/vigil/vulndb/ecosystem"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		scheme ecosystem.Scheme
		a, b   string
		want   int
	}{
		// Debian: epochs, tilde before anything, revisions, binNMUs.
		{ecosystem.DebianScheme, "1:1.2.11.dfsg-4", "1.2.13.dfsg-1", 1},
		{ecosystem.DebianScheme, "3.0.13-1~deb12u1", "3.0.13-1", -1},
		{ecosystem.DebianScheme, "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", -1},
		{ecosystem.DebianScheme, "2.36-9+deb12u3", "2.36-9+deb12u10", -1},
		{ecosystem.DebianScheme, "5.2.15-2+b2", "5.2.15-2", 1},
		{ecosystem.DebianScheme, "1.0~rc1-1", "1.0-1", -1},
		{ecosystem.DebianScheme, "1.0-1", "1.0-1", 0},
		{ecosystem.DebianScheme, "0:1.0-1", "1.0-1", 0},
		// Alpine: -rN revisions, suffixes.
		{ecosystem.AlpineScheme, "3.1.4-r0", "3.1.4-r1", -1},
		{ecosystem.AlpineScheme, "1.2.3_rc1-r0", "1.2.3-r0", -1},
		{ecosystem.AlpineScheme, "1.2.3_p1-r0", "1.2.3-r0", 1},
		{ecosystem.AlpineScheme, "1.10-r0", "1.9-r0", 1},
		// SemVer, with or without v, pre-releases and pseudo-versions.
		{ecosystem.SemVer, "0.3.7", "v0.3.7", 0},
		{ecosystem.SemVer, "v0.3.8-0.20211004164637-e7e7a3f8d0d5", "0.3.8", -1},
		{ecosystem.SemVer, "v0.3.8-0.20211004164637-e7e7a3f8d0d5", "0.3.7", 1},
		{ecosystem.SemVer, "1.22.0-rc.1", "1.22.0-0", 1},
		{ecosystem.SemVer, "v2.0.0+incompatible", "2.0.0", 0},
		// PEP 440: pre, post, dev releases, epochs, local versions, c = rc.
		{ecosystem.PyPIScheme, "1.6.5.post1", "1.6.5", 1},
		{ecosystem.PyPIScheme, "1.7b3", "1.7b4", -1},
		{ecosystem.PyPIScheme, "1.7b4", "1.7", -1},
		{ecosystem.PyPIScheme, "3.9.0c2", "3.9.0rc2", 0},
		{ecosystem.PyPIScheme, "1.0.dev1", "1.0a1", -1},
		{ecosystem.PyPIScheme, "1!0.1", "2.0", 1},
		{ecosystem.PyPIScheme, "1.0+local.1", "1.0", 1},
		// npm.
		{ecosystem.NpmScheme, "4.17.20", "4.17.21", -1},
		{ecosystem.NpmScheme, "1.0.0-beta.2", "1.0.0-beta.11", -1},
		// Maven: qualifiers order alpha < beta < rc < release < sp.
		{ecosystem.MavenScheme, "2.14.0-rc1", "2.14.0", -1},
		{ecosystem.MavenScheme, "2.17.1", "2.17.0", 1},
		{ecosystem.MavenScheme, "1.0-alpha-1", "1.0-beta-1", -1},
		{ecosystem.MavenScheme, "1.0.Final", "1.0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.scheme.Name()+" "+tt.a+" "+tt.b, func(t *testing.T) {
			a, err := tt.scheme.Parse(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tt.scheme.Parse(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Compare(b); sign(got) != tt.want {
				t.Errorf("Compare = %d, want %d", got, tt.want)
			}
			if got := b.Compare(a); sign(got) != -tt.want {
				t.Errorf("reverse Compare = %d, want %d", got, -tt.want)
			}
			if tt.scheme == ecosystem.DebianScheme {
				checkDpkg(t, tt.a, tt.b, tt.want)
			}
		})
	}
}

func sign(i int) int {
	switch {
	case i < 0:
		return -1
	case i > 0:
		return 1
	}
	return 0
}

// checkDpkg has dpkg itself confirm a Debian ordering.
func checkDpkg(t *testing.T, a, b string, want int) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		vulndbtest.Need(t, "dpkg, to cross-check Debian version order: %v", err)
	}
	op := map[int]string{-1: "lt", 0: "eq", 1: "gt"}[want]
	err = exec.Command(dpkg, "--compare-versions", a, op, b).Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Errorf("dpkg disagrees: %s %s %s is false", a, op, b)
	} else if err != nil {
		t.Fatal(err)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		scheme ecosystem.Scheme
		v      string
	}{
		{ecosystem.DebianScheme, ""},
		{ecosystem.DebianScheme, "abc"},
		{ecosystem.DebianScheme, "1.0-1 2"},
		{ecosystem.AlpineScheme, "1.0-rx"},
		{ecosystem.SemVer, "1.2.3.4"},
		{ecosystem.SemVer, "(devel)"},
		{ecosystem.PyPIScheme, "2019-09-12"},
		{ecosystem.NpmScheme, "not a version"},
		{ecosystem.MavenScheme, "1.0 beta"},
		{ecosystem.MavenScheme, string(make([]byte, ecosystem.MaxVersionLen+1))},
	}
	for _, tt := range tests {
		if v, err := tt.scheme.Parse(tt.v); err == nil {
			t.Errorf("%s.Parse(%q) = %v, want an error", tt.scheme.Name(), tt.v, v)
		}
	}
}

func TestEcosystemNames(t *testing.T) {
	tests := []struct{ eco, base, release string }{
		{"Debian:12", "Debian", "12"},
		{"Alpine:v3.19", "Alpine", "v3.19"},
		{"Ubuntu:22.04:LTS", "Ubuntu", "22.04:LTS"},
		{"Go", "Go", ""},
	}
	for _, tt := range tests {
		if b, r := ecosystem.Base(tt.eco), ecosystem.Release(tt.eco); b != tt.base || r != tt.release {
			t.Errorf("%s: base %q release %q, want %q %q", tt.eco, b, r, tt.base, tt.release)
		}
	}
	if _, err := ecosystem.SchemeOf("Ubuntu:22.04:LTS"); !errors.Is(err, ecosystem.ErrUnknown) {
		t.Errorf("SchemeOf(Ubuntu) error = %v, want ErrUnknown", err)
	}
	if s, err := ecosystem.SchemeOf("Go"); err != nil || s != ecosystem.SemVer {
		t.Errorf("SchemeOf(Go) = %v, %v", s, err)
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct{ eco, name, want string }{
		{"PyPI", "Django", "django"},
		{"PyPI", "zope.interface", "zope-interface"},
		{"PyPI", "Foo__Bar-.baz", "foo-bar-baz"},
		{"npm", "JSONStream", "JSONStream"},
		{"Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"},
	}
	for _, tt := range tests {
		if got := ecosystem.NormalizeName(tt.eco, tt.name); got != tt.want {
			t.Errorf("NormalizeName(%s, %q) = %q, want %q", tt.eco, tt.name, got, tt.want)
		}
	}
}

var schemes = []ecosystem.Scheme{ecosystem.DebianScheme, ecosystem.AlpineScheme, ecosystem.SemVer,
	ecosystem.PyPIScheme, ecosystem.NpmScheme, ecosystem.MavenScheme}

// FuzzCompare checks that every scheme parses anything without panicking
// and orders what it accepts consistently: a version equals itself, and
// swapping the operands flips the sign.
func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{
		{"1:1.2.11.dfsg-4", "3.0.13-1~deb12u1"}, {"3.1.4-r0", "1.2.3_rc1-r0"},
		{"v0.3.8-0.20211004164637-e7e7a3f8d0d5", "1.22.0-rc.1"}, {"1.6.5.post1", "1!0.1+local"},
		{"1.0.0-beta.2", "2.14.0-rc1"}, {"1.0.Final", "1.0-alpha-1"},
	} {
		for i := range schemes {
			f.Add(uint8(i), s[0], s[1])
		}
	}
	f.Fuzz(func(t *testing.T, i uint8, a, b string) {
		s := schemes[int(i)%len(schemes)]
		va, errA := s.Parse(a)
		vb, errB := s.Parse(b)
		if errA != nil || errB != nil {
			return
		}
		if c := va.Compare(va); c != 0 {
			t.Errorf("%s: %q compares %d with itself", s.Name(), a, c)
		}
		if ab, ba := sign(va.Compare(vb)), sign(vb.Compare(va)); ab != -ba {
			t.Errorf("%s: %q vs %q = %d, reverse %d", s.Name(), a, b, ab, ba)
		}
	})
}
