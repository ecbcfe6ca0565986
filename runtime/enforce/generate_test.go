package enforce

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/runtime/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestGenerateGolden(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the golden profile's syscalls are x86_64 names")
	}
	p, err := profile.Load("../profile/testdata/web.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"web.seccomp.json", func(b *bytes.Buffer) error { return WriteSeccomp(b, p, SeccompEnforce) }},
		{"web.seccomp-complain.json", func(b *bytes.Buffer) error { return WriteSeccomp(b, p, SeccompComplain) }},
		{"web.apparmor", func(b *bytes.Buffer) error { return WriteAppArmor(b, p, "") }},
		{"web.networkpolicy.yaml", func(b *bytes.Buffer) error { return WriteNetworkPolicy(b, p, "") }},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs from the golden file:\n%s", tc.golden, b.String())
			}
		})
	}
}

// Properties the golden files must have, checked independently of them.
func TestGenerateContent(t *testing.T) {
	p, err := profile.Load("../profile/testdata/web.json")
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOARCH == "amd64" {
		s, err := Seccomp(p, SeccompEnforce)
		if err != nil {
			t.Fatal(err)
		}
		names := s.Syscalls[0].Names
		for _, want := range slices.Concat(p.Syscalls, RuncMinimum) {
			if !slices.Contains(names, want) {
				t.Errorf("seccomp allow list lacks %s", want)
			}
		}
		if s.DefaultAction != "SCMP_ACT_ERRNO" || s.DefaultErrnoRet == nil || *s.DefaultErrnoRet != 1 {
			t.Errorf("seccomp default must be ERRNO(EPERM): %+v", s)
		}
	}
	var aa bytes.Buffer
	if err := WriteAppArmor(&aa, p, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"profile vigil-web-1-2 ", `"/bin/busybox" ix,`, `"/app/server" ix,`, `"/data/*" rwlk,`, "network inet stream,", "network inet dgram,",
		"capability net_bind_service,", "capability setuid,"} {
		if !strings.Contains(aa.String(), want) {
			t.Errorf("AppArmor profile lacks %q:\n%s", want, aa.String())
		}
	}
	if strings.Contains(aa.String(), "capability,") {
		t.Errorf("a profile with learned capabilities must not allow them all:\n%s", aa.String())
	}
	for _, tc := range []struct {
		name string
		caps []string
		want []string
		not  []string
	}{
		{"not observed", nil, []string{"  capability,\n"}, []string{"capability chown"}},
		{"observed, none used", []string{}, nil, []string{"capability"}},
		{"newer than the table", []string{"CAP_CHOWN", "CAP_41"}, []string{"capability chown,"}, []string{"capability,", "41"}},
	} {
		t.Run("apparmor capabilities "+tc.name, func(t *testing.T) {
			q := &profile.Profile{Schema: profile.Schema, Image: p.Image, Capabilities: tc.caps}
			var b bytes.Buffer
			if err := WriteAppArmor(&b, q, ""); err != nil {
				t.Fatal(err)
			}
			body := b.String()[strings.Index(b.String(), "profile "):]
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %q:\n%s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("has %q:\n%s", n, body)
				}
			}
		})
	}
	var np bytes.Buffer
	if err := WriteNetworkPolicy(&np, p, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cidr: 10.0.0.5/32", "cidr: 2001:db8::53/128", "port: 5432", "port: 8080", "protocol: UDP"} {
		if !strings.Contains(np.String(), want) {
			t.Errorf("NetworkPolicy lacks %q:\n%s", want, np.String())
		}
	}
	if strings.Contains(np.String(), "127.0.0.1") {
		t.Errorf("loopback peers must not appear in a NetworkPolicy:\n%s", np.String())
	}
}

func TestSeccompNeedsSyscalls(t *testing.T) {
	p := &profile.Profile{Schema: profile.Schema}
	if _, err := Seccomp(p, SeccompEnforce); err == nil || !strings.Contains(err.Error(), "no syscall set") {
		t.Errorf("want an error for a profile without syscalls, got %v", err)
	}
}
