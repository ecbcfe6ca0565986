package profile

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"net/netip"

	"github.com/vigilsec/vigil/runtime/event"
)

func TestParse(t *testing.T) {
	good, err := os.ReadFile("testdata/web.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"valid", string(good), ""},
		{"not JSON", "schema: v1", "not a JSON profile"},
		{"truncated", string(good[:100]), "decode profile"},
		{"wrong schema", `{"schema": "v0"}`, `profile schema "v0"`},
		{"unknown field", `{"schema": "vigil.dev/runtime-profile/v1", "exes": []}`, `unknown field "exes"`},
		{"relative exe", `{"schema": "vigil.dev/runtime-profile/v1", "executables": [{"path": "sh"}]}`, "executables[0]"},
		{"bad hash", `{"schema": "vigil.dev/runtime-profile/v1", "executables": [{"path": "/sh", "sha256": "xyz"}]}`, "64 hex digits"},
		{"unclean dir", `{"schema": "vigil.dev/runtime-profile/v1", "writeDirs": ["/a/../etc"]}`, "writeDirs[0]"},
		{"bad proto", `{"schema": "vigil.dev/runtime-profile/v1", "listen": [{"proto": "sctp", "port": 1}]}`, "want tcp or udp"},
		{"port zero", `{"schema": "vigil.dev/runtime-profile/v1", "listen": [{"proto": "tcp", "port": 0}]}`, "port 0"},
		{"port too big", `{"schema": "vigil.dev/runtime-profile/v1", "listen": [{"proto": "tcp", "port": 70000}]}`, "decode profile"},
		{"bad peer", `{"schema": "vigil.dev/runtime-profile/v1", "peers": [{"proto": "tcp", "addr": "example.com:80"}]}`, "peers[0]"},
		{"bad syscall", `{"schema": "vigil.dev/runtime-profile/v1", "syscalls": ["Open; rm"]}`, "syscalls[0]"},
		{"bad capability", `{"schema": "vigil.dev/runtime-profile/v1", "capabilities": ["CAP_CHOWN", "chown"]}`, `capabilities[1]: "chown" is not a capability name`},
		{"trailing data", `{"schema": "vigil.dev/runtime-profile/v1"} {}`, "trailing data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	p, err := Load("testdata/web.json")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Executables) != 2 || len(q.Peers) != 4 || len(q.Syscalls) != 9 || len(q.Capabilities) != 3 || q.Learned.Arch != "x86_64" {
		t.Errorf("round trip lost entries: %+v", q)
	}
}

func FuzzParse(f *testing.F) {
	good, _ := os.ReadFile("testdata/web.json")
	f.Add(good)
	f.Add([]byte(`{"schema": "vigil.dev/runtime-profile/v1", "syscalls": null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever parses must validate again after a round trip.
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(&buf); err != nil {
			t.Fatalf("re-parse of a valid profile: %v", err)
		}
	})
}

func TestLearner(t *testing.T) {
	hash := func(p string) (string, string, error) {
		if p == "/bin/date" {
			return "/bin/busybox", strings.Repeat("b", 64), nil
		}
		return p, strings.Repeat("a", 64), nil
	}
	tab, err := HostSyscalls()
	if err != nil {
		t.Skip(err)
	}
	l := NewLearner("c1", "img", hash, tab)
	ap := netip.MustParseAddrPort
	evs := []event.Event{
		{Kind: event.Exec, Path: "/bin/date"},
		{Kind: event.Exec, Path: "/app/run.sh", Interp: "/bin/sh"},
		{Kind: event.Open, Path: "/data/x"},
		{Kind: event.Mkdir, Path: "/data/sub"},
		{Kind: event.Modify, Path: "/var/log/app.log"},
		{Kind: event.DirModify, Path: "/tmp/"}, // entries of /tmp itself changed
		{Kind: event.Open, Path: "relative/unresolved"},
		{Kind: event.Listen, Proto: "tcp", Addr: ap("0.0.0.0:8080")},
		{Kind: event.Bind, Proto: "tcp", Addr: ap("0.0.0.0:9090")}, // tcp bind without listen: no port
		{Kind: event.Bind, Proto: "udp", Addr: ap("0.0.0.0:5353")},
		{Kind: event.Connect, Proto: "tcp", Addr: ap("10.0.0.5:5432")},
		{Kind: event.Connect, Proto: "udp"}, // AF_UNSPEC disconnect
		{Kind: event.Connect, Proto: "unix", Path: "/run/app.sock"},
	}
	for _, ev := range evs {
		ev.Time = time.Now()
		l.Observe(ev)
	}
	if l.Observe(evs[0]) {
		t.Error("a repeated event must not change the profile")
	}
	l.AddSyscalls([]int{0, 1, 100000})
	if got := l.Profile().Capabilities; got != nil {
		t.Errorf("before the sensor reports capabilities the profile must not claim any set, got %q", got)
	}
	l.AddCapabilities(nil)
	if got := l.Profile().Capabilities; got == nil || len(got) != 0 {
		t.Errorf("capabilities observed, none used: want an empty list, got %#v", got)
	}
	if !l.AddCapabilities([]int{10, 0}) || l.AddCapabilities([]int{0}) {
		t.Error("AddCapabilities must report growth, and only growth")
	}
	p := l.Profile()
	if err := p.Validate(); err != nil {
		t.Fatalf("learned profile does not validate: %v", err)
	}
	want := &Profile{
		Executables: []Executable{
			{Path: "/app/run.sh", SHA256: strings.Repeat("a", 64)},
			{Path: "/bin/date", Target: "/bin/busybox", SHA256: strings.Repeat("b", 64)},
			{Path: "/bin/sh", SHA256: strings.Repeat("a", 64)},
		},
		WriteDirs:    []string{"/data", "/tmp", "/var/log"},
		Listen:       []Port{{"tcp", 8080}, {"udp", 5353}},
		Peers:        []Peer{{"tcp", "10.0.0.5:5432"}, {"unix", "/run/app.sock"}},
		Syscalls:     []string{tab.Name(0), tab.Name(1), "syscall_100000"},
		Capabilities: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
	}
	want.normalize()
	var got, exp bytes.Buffer
	p.Learned, p.Schema, p.Container, p.Image = Learned{}, "", "", ""
	p.Write(&got)
	want.Write(&exp)
	if got.String() != exp.String() {
		t.Errorf("learned\n%s\nwant\n%s", got.String(), exp.String())
	}
}
