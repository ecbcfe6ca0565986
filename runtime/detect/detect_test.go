package detect

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/runtime/event"
	"github.com/vigilsec/vigil/runtime/profile"
)

func loadProfile(t *testing.T) *profile.Profile {
	t.Helper()
	p, err := profile.Load("../profile/testdata/web.json")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	p := loadProfile(t)
	hashes := map[string]string{"/app/server": strings.Repeat("a", 64), "/bin/date": strings.Repeat("c", 64)}
	hash := func(path string) (string, string, error) { return path, hashes[path], nil }
	d := New(p, Container{ID: "web-1", Image: "web:1"}, hash)
	ap := netip.MustParseAddrPort
	proc := event.Process{PID: 42, UID: 1000, Exe: "/bin/sh", Args: []string{"sh", "-c", "id"}}
	for _, tc := range []struct {
		name  string
		ev    event.Event
		rule  string // "" for no alert
		field string
		value any
	}{
		{"learned executable", event.Event{Kind: event.Exec, Path: "/app/server"}, "", "", nil},
		{"learned path, other content", event.Event{Kind: event.Exec, Path: "/bin/date"}, RuleModifiedExecutable, "proc.sha256", strings.Repeat("c", 64)},
		{"shell by path", event.Event{Kind: event.Exec, Path: "/bin/bash", Proc: proc}, RuleShell, "user.uid", uint32(1000)},
		{"shell by argv0", event.Event{Kind: event.Exec, Path: "/bin/busybox", Proc: event.Process{PID: 1, Args: []string{"sh"}}}, RuleShell, "", nil},
		{"new executable", event.Event{Kind: event.Exec, Path: "/tmp/x", Proc: event.Process{PID: 7, Args: []string{"/tmp/x", "-v"}}}, RuleNewExecutable, "proc.cmdline", "/tmp/x -v"},
		{"write in learned dir", event.Event{Kind: event.Open, Path: "/data/f"}, "", "", nil},
		{"write in subdir of learned dir", event.Event{Kind: event.Open, Path: "/data/sub/f"}, RuleWrite, "fd.name", "/data/sub/f"},
		{"unlink outside", event.Event{Kind: event.Unlink, Path: "/etc/passwd"}, RuleWrite, "fd.name", "/etc/passwd"},
		{"change in learned dir", event.Event{Kind: event.Modify, Path: "/data/f"}, "", "", nil},
		{"change outside", event.Event{Kind: event.Modify, Path: "/etc/shadow"}, RuleWrite, "evt.type", "modify"},
		{"entries of learned dir", event.Event{Kind: event.DirModify, Path: "/data"}, "", "", nil},
		{"entries of a dir above a learned one", event.Event{Kind: event.DirModify, Path: "/"}, RuleWrite, "fd.name", "/"},
		{"unresolved relative write", event.Event{Kind: event.Open, Path: "x"}, "", "", nil},
		{"learned listen", event.Event{Kind: event.Listen, Proto: "tcp", Addr: ap("0.0.0.0:8080")}, "", "", nil},
		{"new listen", event.Event{Kind: event.Listen, Proto: "tcp", Addr: ap("0.0.0.0:4444")}, RuleListen, "fd.sport", uint16(4444)},
		{"new udp bind", event.Event{Kind: event.Bind, Proto: "udp", Addr: ap("0.0.0.0:9999")}, RuleListen, "fd.l4proto", "udp"},
		{"learned peer", event.Event{Kind: event.Connect, Proto: "tcp", Addr: ap("10.0.0.5:5432")}, "", "", nil},
		{"learned v6 peer", event.Event{Kind: event.Connect, Proto: "udp", Addr: ap("[2001:db8::53]:53")}, "", "", nil},
		{"new peer", event.Event{Kind: event.Connect, Proto: "tcp", Addr: ap("203.0.113.9:443")}, RulePeer, "fd.name", "203.0.113.9:443"},
		{"same ip, other proto", event.Event{Kind: event.Connect, Proto: "udp", Addr: ap("10.0.0.5:5432")}, RulePeer, "fd.l4proto", "udp"},
		{"new unix peer", event.Event{Kind: event.Connect, Proto: "unix", Path: "/var/run/docker.sock"}, RulePeer, "fd.name", "/var/run/docker.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := d.Check(tc.ev)
			if tc.rule == "" {
				if len(as) != 0 {
					t.Errorf("want no alert, got %+v", as)
				}
				return
			}
			if len(as) != 1 || as[0].Rule != tc.rule {
				t.Fatalf("want one %q alert, got %+v", tc.rule, as)
			}
			if f := as[0].OutputFields; f["container.id"] != "web-1" || f["container.image"] != "web:1" {
				t.Errorf("container fields: %v", f)
			}
			if tc.field != "" && as[0].OutputFields[tc.field] != tc.value {
				t.Errorf("%s = %#v, want %#v", tc.field, as[0].OutputFields[tc.field], tc.value)
			}
		})
	}
	if as := d.CheckSyscalls([]string{"read", "ptrace", "write"}); len(as) != 1 || as[0].OutputFields["syscall.type"] != "ptrace" {
		t.Errorf("CheckSyscalls: want one alert for ptrace, got %+v", as)
	}
	as := d.CheckCapabilities([]string{"CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN", "CAP_SETUID"})
	if len(as) != 1 || as[0].Rule != RuleCapability || as[0].OutputFields["proc.cap"] != "CAP_SYS_ADMIN" || as[0].OutputFields["evt.type"] != "capable" {
		t.Errorf("CheckCapabilities: want one alert for CAP_SYS_ADMIN, got %+v", as)
	}
	// A profile learned without capabilities knows them all.
	blind := New(&profile.Profile{Schema: profile.Schema}, Container{ID: "web-1"}, nil)
	if as := blind.CheckCapabilities([]string{"CAP_SYS_ADMIN"}); len(as) != 0 {
		t.Errorf("no capability set learned: want no alert, got %+v", as)
	}
}

// Repeats the sensor folded into an event count in the incident: the
// first alert says how many occurrences it stands for, and the follow-up
// adds the later ones.
func TestLimiterCountsFoldedRepeats(t *testing.T) {
	d := New(loadProfile(t), Container{ID: "c"}, nil)
	write := func(repeats uint32) Alert {
		return d.Check(event.Event{Kind: event.Open, Path: "/etc/x", Repeats: repeats})[0]
	}
	l := NewLimiter(LimitOptions{Window: time.Minute})
	t0 := time.Unix(1000, 0)
	out := l.Add(write(2), t0)
	if len(out) != 1 || out[0].OutputFields["vigil.count"] != 3 {
		t.Fatalf("an event with 2 folded repeats: want one alert counting 3, got %+v", out)
	}
	if out := l.Expire(t0.Add(2*time.Minute), false); len(out) != 0 {
		t.Errorf("nothing happened after the first alert: want no follow-up, got %+v", out)
	}
	l.Add(write(0), t0.Add(3*time.Minute))
	l.Add(write(9), t0.Add(3*time.Minute+time.Second))
	out = l.Expire(t0.Add(10*time.Minute), false)
	if len(out) != 1 || out[0].OutputFields["vigil.count"] != 11 {
		t.Errorf("1 event, then one with 9 folded repeats: want a follow-up counting 11, got %+v", out)
	}
}

func TestLimiter(t *testing.T) {
	p := loadProfile(t)
	d := New(p, Container{ID: "c"}, nil)
	write := func(path string) Alert { return d.Check(event.Event{Kind: event.Open, Path: path})[0] }
	t0 := time.Unix(1000, 0)
	// One token per 100s, two in the bucket.
	l := NewLimiter(LimitOptions{Window: time.Minute, PerSecond: 0.01, Burst: 2})

	// Repeats within the window are one incident.
	if out := l.Add(write("/etc/a"), t0); len(out) != 1 {
		t.Fatalf("first alert: got %d", len(out))
	}
	for i := 1; i <= 4; i++ {
		if out := l.Add(write("/etc/b"), t0.Add(time.Duration(i)*time.Second)); len(out) != 0 {
			t.Fatalf("repeat %d passed: %+v", i, out)
		}
	}
	// A second incident of the same rule uses the second token; the third
	// is rate limited and counted into the next that passes.
	if out := l.Add(write("/usr/x"), t0.Add(5*time.Second)); len(out) != 1 {
		t.Fatalf("second incident: got %d", len(out))
	}
	if out := l.Add(write("/var/y"), t0.Add(6*time.Second)); len(out) != 0 {
		t.Fatalf("third incident should be rate limited: %+v", out)
	}
	// 200s later a token is back; meanwhile the /etc incident ended and its
	// follow-up carries the count. Incidents without repeats end silently.
	out := l.Add(write("/opt/z"), t0.Add(200*time.Second))
	if len(out) != 2 {
		t.Fatalf("after refill: want a follow-up and a new alert, got %+v", out)
	}
	if f := out[0].OutputFields; f["vigil.count"] != 5 || f["fd.name"] != "/etc/a" || !strings.Contains(out[0].Output, "5 occurrences") {
		t.Errorf("follow-up: want count 5 for the /etc incident, got %+v", out[0])
	}
	if f := out[1].OutputFields; f["vigil.suppressed"] != 1 || f["fd.name"] != "/opt/z" {
		t.Errorf("new alert: want /opt/z counting 1 suppressed, got %+v", out[1])
	}
}

// A flood of distinct incidents keeps memory bounded.
func TestLimiterBounded(t *testing.T) {
	d := New(loadProfile(t), Container{ID: "c"}, nil)
	l := NewLimiter(LimitOptions{PerSecond: 1e9, Burst: 1e9, MaxIncidents: 100})
	now := time.Unix(0, 0)
	for i := 0; i < 10000; i++ {
		l.Add(d.Check(event.Event{Kind: event.Open, Path: "/x" + strings.Repeat("y", i%500) + "/f"})[0], now)
	}
	if len(l.incidents) > 100 {
		t.Errorf("%d incidents kept, limit 100", len(l.incidents))
	}
}

// TestMultiCallApplets: busybox's nc and sleep are one file but different
// programs; neither may hide the other behind incident deduplication, while
// repeats of one applet stay one incident.
func TestMultiCallApplets(t *testing.T) {
	d := New(loadProfile(t), Container{ID: "web-1", Image: "web:1"}, nil)
	exec := func(args ...string) Alert {
		as := d.Check(event.Event{Kind: event.Exec, Path: "/bin/busybox", Proc: event.Process{PID: 9, Args: args}})
		if len(as) != 1 || as[0].Rule != RuleNewExecutable {
			t.Fatalf("%v: want one new-executable alert, got %+v", args, as)
		}
		return as[0]
	}
	sleep, nc, sleepAgain := exec("sleep", "1"), exec("nc", "-l", "-p", "7777"), exec("/bin/sleep", "2")
	if sleep.key == nc.key {
		t.Errorf("sleep and nc share the incident key %q", sleep.key)
	}
	if sleep.key != sleepAgain.key {
		t.Errorf("two runs of sleep are different incidents: %q, %q", sleep.key, sleepAgain.key)
	}
}
