//go:build linux

// End-to-end tests of `vigil runtime` as a user runs it: the real vigil
// binary, real runc containers, the real eBPF sensor.
package runtime_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigilsec/vigil/runtime/detect"
	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/profile"
)

var (
	buildOnce sync.Once
	vigilBin  string
	buildErr  error
)

// vigil builds cmd/vigil once per test binary.
func vigil(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		dir, err := os.MkdirTemp("", "vigil-bin")
		if err != nil {
			buildErr = err
			return
		}
		vigilBin = filepath.Join(dir, "vigil")
		cmd := exec.Command("go", "build", "-o", vigilBin, "./cmd/vigil")
		cmd.Dir = filepath.Join(filepath.Dir(self), "..")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build vigil: %v", buildErr)
	}
	return vigilBin
}

// proc is a running vigil command whose stderr is watched.
type proc struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	log   strings.Builder
	lines chan string
	done  chan struct{}
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(vigil(t), args...), lines: make(chan string, 1024), done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitFor waits for a stderr line containing s.
func (p *proc) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, s) {
				return
			}
		case <-p.done:
			t.Fatalf("vigil %v ended before printing %q:\n%s", p.cmd.Args[1:], s, p.stderr())
		case <-timeout:
			t.Fatalf("vigil %v did not print %q:\n%s", p.cmd.Args[1:], s, p.stderr())
		}
	}
}

// generate runs vigil runtime generate and returns what it wrote.
func generate(t *testing.T, profPath, format string, flags ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), format)
	g := start(t, append([]string{"runtime", "generate", "--profile", profPath, "--format", format, "-o", out}, flags...)...)
	if err := g.wait(t); err != nil {
		t.Fatalf("generate %s: %v\n%s", format, err, g.stderr())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// interrupt stops the command as a user would (SIGINT) and fails the test
// unless it exits cleanly.
func (p *proc) interrupt(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	if err := p.wait(t); err != nil {
		t.Fatalf("vigil %v: %v\n%s", p.cmd.Args[1:], err, p.stderr())
	}
}

// wait waits for the command to exit and returns its error.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	<-p.done
	return p.cmd.Wait()
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// learn learns the workload of a container created but not yet started, so
// that the profile includes its start-up.
func learn(t *testing.T, c *runctest.Container, out string) *profile.Profile {
	t.Helper()
	l := start(t, "runtime", "learn", "--container", c.ID, "--for", "60s", "--quiet", "3s", "-o", out)
	l.waitFor(t, "learning container")
	c.Begin()
	if err := l.wait(t); err != nil {
		t.Fatalf("learn: %v\n%s", err, l.stderr())
	}
	if !strings.Contains(l.stderr(), "stopped: "+profile.StopQuiet) {
		t.Fatalf("learn should stop because the profile stopped changing:\n%s", l.stderr())
	}
	p, err := profile.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLearnWatchGenerateEnforce(t *testing.T) {
	runctest.Require(t)
	vigil(t)
	dir := t.TempDir()
	c := runctest.Create(t, runctest.Config{})
	profPath := filepath.Join(dir, "profile.json")
	p := learn(t, c, profPath)
	if p.Learned.Backend != "ebpf" {
		runctest.Skip(t, "the eBPF sensor is not available here; learned with "+p.Learned.Backend)
	}

	t.Run("profile", func(t *testing.T) {
		busybox := sha256File(t, filepath.Join(c.Rootfs, "bin/busybox"))
		workload := sha256File(t, filepath.Join(c.Rootfs, "app/workload"))
		for _, want := range []profile.Executable{
			{Path: "/app/workload", SHA256: workload},
			{Path: "/bin/date", Target: "/bin/busybox", SHA256: busybox},
		} {
			if !slices.Contains(p.Executables, want) {
				t.Errorf("executables %+v lack %+v", p.Executables, want)
			}
		}
		if known, _ := p.KnownExecutable("/bin/sh", ""); known {
			t.Errorf("the workload never runs a shell, but /bin/sh was learned")
		}
		if !p.KnownWriteDir("/data") {
			t.Errorf("write dirs %v lack /data", p.WriteDirs)
		}
		if !p.KnownListen(profile.Port{Proto: "tcp", Port: 8080}) {
			t.Errorf("listen %v lacks tcp/8080", p.Listen)
		}
		if !p.KnownPeer(profile.Peer{Proto: "tcp", Addr: "127.0.0.1:8080"}) {
			t.Errorf("peers %v lack tcp 127.0.0.1:8080", p.Peers)
		}
		for _, s := range []string{"execve", "connect", "listen", "openat"} {
			if !slices.Contains(p.Syscalls, s) {
				t.Errorf("syscalls lack %s: %v", s, p.Syscalls)
			}
		}
		if p.Container != c.ID || p.Image != runctest.Image {
			t.Errorf("profile is for %s (%s), want %s (%s)", p.Container, p.Image, c.ID, runctest.Image)
		}
	})

	t.Run("watch", func(t *testing.T) { watchAttack(t, c, profPath, "ebpf", "") })

	// The light sensor traces no syscalls: new ones come from the kernel's
	// log of a complain-mode seccomp profile the container runs under.
	t.Run("watch-light", func(t *testing.T) {
		var sec specs.LinuxSeccomp
		if err := json.Unmarshal(generate(t, profPath, "seccomp", "--complain"), &sec); err != nil {
			t.Fatal(err)
		}
		if sec.DefaultAction != specs.ActLog {
			t.Fatalf("--complain: default action %s, want %s", sec.DefaultAction, specs.ActLog)
		}
		probe := unlearnedProbe(t, &sec)
		runctest.AuditDaemon(t)
		logged := runctest.Start(t, runctest.Config{Seccomp: &sec})
		waitChange(t, filepath.Join(logged.Rootfs, "data/state")) // the workload runs under the filter
		watchAttack(t, logged, profPath, "light", probe)
	})

	t.Run("seccomp", func(t *testing.T) {
		b := generate(t, profPath, "seccomp")
		var sec specs.LinuxSeccomp
		if err := json.Unmarshal(b, &sec); err != nil {
			t.Fatal(err)
		}
		probe := unlearnedProbe(t, &sec)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Unconfined, the probe works.
		if out, err := c.Exec(ctx, "/app/workload", "probe", probe); err != nil {
			t.Fatalf("probe %s without seccomp: %v: %s", probe, err, out)
		}
		confined := runctest.Start(t, runctest.Config{Seccomp: &sec})
		state := filepath.Join(confined.Rootfs, "data/state")
		waitChange(t, state) // the workload runs its loop under the filter
		out, err := confined.Exec(ctx, "/app/workload", "probe", probe)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("probe %s under the generated seccomp profile: want EPERM (exit 3), got %v: %s", probe, err, out)
		}
		if !confined.Running() {
			t.Errorf("the confined workload stopped: %s", confined.Log())
		}
	})

	t.Run("enforce", func(t *testing.T) {
		e := start(t, "runtime", "enforce", "--profile", profPath, "--container", c.ID)
		e.waitFor(t, "enforcing on container")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, tc := range []struct {
			name string
			args []string
			exit int
		}{
			{"unknown executable denied", []string{"/app/workload", "exec", "/app/other"}, 3},
			{"unknown peer denied", []string{"/app/workload", "connect", "127.0.0.1:9999"}, 3},
			{"learned peer allowed", []string{"/app/workload", "connect", "127.0.0.1:8080"}, 0},
			{"learned executable allowed", []string{"/app/workload", "exec", "/bin/date"}, 0},
		} {
			out, err := c.Exec(ctx, tc.args...)
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if code != tc.exit {
				t.Errorf("%s: %v exited %d, want %d: %s", tc.name, tc.args, code, tc.exit, out)
			}
		}
		e.interrupt(t)
		for _, want := range []string{"denied exec /app/other", "denied connect tcp:127.0.0.1:9999"} {
			if !strings.Contains(e.stderr(), want) {
				t.Errorf("enforce log lacks %q:\n%s", want, e.stderr())
			}
		}
		// Interrupted enforcement leaves nothing behind.
		if out, err := c.Exec(ctx, "/app/workload", "connect", "127.0.0.1:8080"); err != nil {
			t.Errorf("after enforce: %v: %s", err, out)
		}
		if out, err := c.Exec(ctx, "/app/workload", "exec", "/app/other"); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 3 {
				t.Errorf("exec still denied after enforce stopped: %s", out)
			}
		}
	})
}

// TestRuntimeCapabilities: learn records the capabilities a container is
// granted (here CAP_NET_BIND_SERVICE, for busybox nc on port 80), watch
// alerts on one it was never granted while learning (CAP_CHOWN, added to
// the container's set and used by an attacker's chown) but not on those
// runc exec uses while entering the container, and the AppArmor profile
// allows the learned ones only.
func TestRuntimeCapabilities(t *testing.T) {
	runctest.Require(t)
	vigil(t)
	dir := t.TempDir()
	c := runctest.Create(t, runctest.Config{
		Args:   []string{"/bin/sh", "-c", "nc -l -p 80 & exec /app/workload serve"},
		Mutate: runctest.AddCapabilities("CAP_CHOWN"),
	})
	profPath := filepath.Join(dir, "profile.json")
	p := learn(t, c, profPath)
	if p.Capabilities == nil {
		runctest.Skip(t, "capabilities were not observed (eBPF sensor or the cap_capable tracepoint missing); learned with "+p.Learned.Backend)
	}
	t.Logf("learned capabilities: %v", p.Capabilities)
	if !slices.Contains(p.Capabilities, "CAP_NET_BIND_SERVICE") || slices.Contains(p.Capabilities, "CAP_CHOWN") {
		t.Fatalf("capabilities %v: want CAP_NET_BIND_SERVICE (nc on port 80) and not CAP_CHOWN (never used)", p.Capabilities)
	}

	alertsPath := filepath.Join(dir, "alerts.jsonl")
	w := start(t, "runtime", "watch", "--profile", profPath, "--container", c.ID, "--output", alertsPath)
	w.waitFor(t, "watching container")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := c.Exec(ctx, "/bin/sh", "-c", "touch /tmp/f && chown 1000 /tmp/f"); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	time.Sleep(2 * time.Second) // one poll of the capability set
	w.interrupt(t)
	var caps []string
	for _, a := range readAlerts(t, alertsPath) {
		if a.Rule == detect.RuleCapability {
			caps = append(caps, toString(a.OutputFields["proc.cap"]))
		}
	}
	t.Logf("capability alerts: %v", caps)
	if !slices.Contains(caps, "CAP_CHOWN") || slices.Contains(caps, "CAP_NET_BIND_SERVICE") {
		t.Errorf("capability alerts %v: want CAP_CHOWN, and no alert for the learned CAP_NET_BIND_SERVICE", caps)
	}
	// runc exec, entering the container, uses these itself before it
	// executes the shell; they are the runtime's, not the container's.
	for _, runtime := range []string{"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_SYS_ADMIN"} {
		if slices.Contains(caps, runtime) {
			t.Errorf("capability alerts %v include %s, which runc exec used", caps, runtime)
		}
	}

	aa := generate(t, profPath, "apparmor")
	if !strings.Contains(string(aa), "capability net_bind_service,") || strings.Contains(string(aa), "capability chown") || strings.Contains(string(aa), "capability,") {
		t.Errorf("AppArmor profile should allow net_bind_service and not chown:\n%s", aa)
	}
}

// TestRuntimeWatchNewContainer: watch without --container picks up a
// container of the profile's image created after it started, before the
// container's process runs, and reports what that process does first.
func TestRuntimeWatchNewContainer(t *testing.T) {
	runctest.Require(t)
	vigil(t)
	dir := t.TempDir()
	image := "vigil-test/late:" + filepath.Base(dir)
	p := &profile.Profile{
		Schema: profile.Schema, Container: "none", Image: image,
		Executables: []profile.Executable{{Path: "/app/workload"}, {Path: "/bin/date"}},
		WriteDirs:   []string{"/data"},
		Listen:      []profile.Port{{Proto: "tcp", Port: 8080}},
		Peers:       []profile.Peer{{Proto: "tcp", Addr: "127.0.0.1:8080"}},
	}
	profPath := filepath.Join(dir, "profile.json")
	f, err := os.Create(profPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	alertsPath := filepath.Join(dir, "alerts.jsonl")
	w := start(t, "runtime", "watch", "--profile", profPath, "--output", alertsPath)
	w.waitFor(t, "and those started later")

	// The container's first act, before its service starts, is a write
	// outside the learned directories.
	c := runctest.Create(t, runctest.Config{
		Args:   []string{"/bin/sh", "-c", "echo started > /etc/started; exec /app/workload serve"},
		Mutate: func(s *specs.Spec) { s.Annotations["org.opencontainers.image.ref.name"] = image },
	})
	w.waitFor(t, "watching container "+c.ID)
	c.Begin()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// In another directory than /etc: writes to one directory are one incident.
	if out, err := c.Exec(ctx, "/bin/sh", "-c", "echo pwned > /tmp/evil"); err != nil {
		t.Fatalf("attack: %v: %s", err, out)
	}
	time.Sleep(time.Second)
	w.interrupt(t)
	var writes []string
	shell := false
	for _, a := range readAlerts(t, alertsPath) {
		if a.OutputFields["container.id"] != c.ID {
			continue
		}
		switch a.Rule {
		case detect.RuleWrite:
			writes = append(writes, toString(a.OutputFields["fd.name"]))
		case detect.RuleShell:
			shell = true
		}
	}
	for _, want := range []string{"/etc/started", "/tmp/evil"} {
		if !slices.Contains(writes, want) {
			t.Errorf("write alerts %v lack %s", writes, want)
		}
	}
	if !shell {
		t.Error("no shell alert for the container started after watch")
	}
}

func TestLearnContainerExits(t *testing.T) {
	runctest.Require(t)
	c := runctest.Start(t, runctest.Config{})
	out := filepath.Join(t.TempDir(), "p.json")
	l := start(t, "runtime", "learn", "--container", c.ID, "--for", "60s", "-o", out)
	l.waitFor(t, "learning container")
	time.Sleep(time.Second)
	c.Kill()
	if err := l.wait(t); err != nil {
		t.Fatalf("learn: %v\n%s", err, l.stderr())
	}
	if !strings.Contains(l.stderr(), "stopped: "+profile.StopExited) || !strings.Contains(l.stderr(), "exited while learning") {
		t.Errorf("learn should say the container exited:\n%s", l.stderr())
	}
	if _, err := profile.Load(out); err != nil {
		t.Errorf("the partial profile should still be written and valid: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema": "vigil.dev/runtime-profile/v1", "executables": [{"path": "bin/sh"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"schema": "vigil.dev/runtime-profile/v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"profile that does not parse", []string{"runtime", "generate", "--profile", bad}, `executables[0]: path "bin/sh" is not an absolute clean path`},
		{"missing profile", []string{"runtime", "watch", "--profile", filepath.Join(dir, "none.json")}, "no such file"},
		{"unknown container", []string{"runtime", "learn", "--container", "no-such-container-xyz"}, "container not found"},
		{"unknown format", []string{"runtime", "generate", "--profile", good, "--format", "selinux"}, "want seccomp, apparmor or networkpolicy"},
		{"seccomp without syscalls", []string{"runtime", "generate", "--profile", good}, "no syscall set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.args...)
			err := p.wait(t)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("want exit 2, got %v", err)
			}
			if !strings.Contains(p.stderr(), tc.want) {
				t.Errorf("stderr %q lacks %q", p.stderr(), tc.want)
			}
		})
	}
}

func readAlerts(t *testing.T, p string) []detect.Alert {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []detect.Alert
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a detect.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("alert line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"time", "rule", "priority", "output", "output_fields"} {
			if !strings.Contains(sc.Text(), `"`+k+`"`) {
				t.Errorf("alert lacks Falco field %q: %s", k, sc.Text())
			}
		}
		out = append(out, a)
	}
	return out
}

func rules(as []detect.Alert) []string {
	var r []string
	for _, a := range as {
		r = append(r, a.Rule)
	}
	return r
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// waitChange waits until the file's content changes twice: a loop that runs.
func waitChange(t *testing.T, p string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(p)
		if s := string(b); s != "" && !slices.Contains(seen, s) {
			seen = append(seen, s)
			if len(seen) == 3 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not keep changing (saw %v)", p, seen)
}

// unlearnedProbe returns a syscall the workload's probe mode can make that
// the generated seccomp profile does not allow.
func unlearnedProbe(t *testing.T, sec *specs.LinuxSeccomp) string {
	t.Helper()
	for _, s := range []string{"uname", "sysinfo", "getpriority", "times"} {
		if !slices.Contains(sec.Syscalls[0].Names, s) {
			return s
		}
	}
	t.Fatal("every probe syscall is in the profile; add another to the workload")
	return ""
}

// watchAttack runs vigil runtime watch with backend on c, acts like an
// attacker inside c, and checks the alerts. probe, when set, is a syscall
// the profile lacks that the attacker also makes, and the syscall alert must
// name it.
func watchAttack(t *testing.T, c *runctest.Container, profPath, backend, probe string) {
	alertsPath := filepath.Join(t.TempDir(), "alerts.jsonl")
	w := start(t, "runtime", "watch", "--profile", profPath, "--container", c.ID, "--output", alertsPath, "--backend", backend)
	w.waitFor(t, "watching container")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The attacker: a shell, five writes to /etc, a new peer, a new
	// listening port (busybox nc, itself a new executable).
	attack := "for i in 1 2 3 4 5; do echo pwned > /etc/evil$i; done; " +
		"/app/workload connect 127.0.0.1:9999; " +
		"nc -l -p 7777 & sleep 1; kill $!"
	if probe != "" {
		attack += "; /app/workload probe " + probe
	}
	if out, err := c.Exec(ctx, "/bin/sh", "-c", attack); err != nil {
		t.Logf("attack: %v: %s", err, out) // nc killed: non-zero is expected
	}
	time.Sleep(2 * time.Second) // one syscall poll
	w.interrupt(t)
	alerts := readAlerts(t, alertsPath)
	byRule := map[string][]detect.Alert{}
	for _, a := range alerts {
		if a.OutputFields["container.id"] != c.ID || a.OutputFields["container.image"] != runctest.Image {
			t.Errorf("alert for the wrong container: %+v", a)
		}
		byRule[a.Rule] = append(byRule[a.Rule], a)
	}
	syscallField := "" // any new syscall: the shell makes some
	if probe != "" {
		syscallField = "syscall.type"
	}
	// The light sensor reports changes, and creating /etc/evil1 changes
	// /etc before anything is written to the file: its first alert names
	// the directory, and the incident counts that change too.
	firstWrite, writeCount := "/etc/evil1", "5"
	if backend == "light" {
		firstWrite, writeCount = "/etc", "6"
	}
	for _, tc := range []struct {
		rule  string
		field string
		value string
	}{
		{detect.RuleShell, "proc.exepath", "/bin/sh"},
		{detect.RuleWrite, "fd.name", firstWrite},
		{detect.RulePeer, "fd.name", "127.0.0.1:9999"},
		{detect.RuleListen, "fd.sport", "7777"},
		// busybox sh runs applets as /proc/self/exe: the sensor reports
		// the file, /bin/busybox, and argv tells the applet.
		{detect.RuleNewExecutable, "proc.cmdline", "nc -l -p 7777"},
		{detect.RuleSyscall, syscallField, probe},
	} {
		got := byRule[tc.rule]
		if len(got) == 0 {
			t.Errorf("no %q alert; got %v", tc.rule, rules(alerts))
			continue
		}
		if tc.field != "" && !slices.ContainsFunc(got, func(a detect.Alert) bool {
			return toString(a.OutputFields[tc.field]) == tc.value
		}) {
			t.Errorf("%q alerts lack %s=%s: %+v", tc.rule, tc.field, tc.value, got)
		}
	}
	// The five writes are one incident: an alert at once, then one
	// follow-up with the count when watch stops.
	writes := byRule[detect.RuleWrite]
	if len(writes) != 2 || toString(writes[0].OutputFields["vigil.count"]) != "1" || toString(writes[1].OutputFields["vigil.count"]) != writeCount {
		t.Errorf("writes to /etc: want one alert then a follow-up counting %s, got %+v", writeCount, writes)
	}
	if len(writes) == 0 {
		return
	}
	if w := writes[0]; w.OutputFields["user.uid"] != float64(0) || !strings.Contains(toString(w.OutputFields["proc.cmdline"]), "sh -c") {
		t.Errorf("write alert should name the shell and uid 0: %+v", w.OutputFields)
	}
	// No deviation from the workload itself.
	for _, a := range alerts {
		if a.OutputFields["proc.exepath"] == "/app/workload" && a.Rule != detect.RulePeer {
			t.Errorf("the learned workload raised %+v", a)
		}
	}
}
