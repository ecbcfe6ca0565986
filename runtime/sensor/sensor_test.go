//go:build linux

package sensor_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/event"
	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/sensor"
)

// want is something a sensor must report.
type want struct {
	name string
	ok   func(event.Event) bool
}

func TestSensorSeesContainerActivity(t *testing.T) {
	hostFile := filepath.Join(t.TempDir(), "host-write")
	execOf := func(p string) func(event.Event) bool {
		return func(e event.Event) bool { return e.Kind == event.Exec && e.Path == p }
	}
	// The light backend sees syscalls a seccomp filter logs: here uname
	// (63 on x86-64), which the workload never makes on its own.
	logUname := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"uname"}, Action: specs.ActLog}},
	}
	lightWants := []want{
		{"exec /bin/date with argv", func(e event.Event) bool {
			return e.Kind == event.Exec && e.Path == "/bin/date" && slices.Equal(e.Proc.Args, []string{"/bin/date"})
		}},
		{"exec of the attacker's shell", execOf("/bin/sh")},
		// From the timestamp tracepoints: changes, whoever made them,
		// a removal too, and a creation as its directory's change.
		{"write /data/state", func(e event.Event) bool { return e.Kind == event.Modify && e.Path == "/data/state" }},
		{"write /etc/evil by the shell", func(e event.Event) bool {
			return e.Kind == event.Modify && e.Path == "/etc/evil" && e.Proc.Exe == "/bin/sh" && slices.Contains(e.Proc.Args, "-c")
		}},
		{"creation in /etc", func(e event.Event) bool { return e.Kind == event.DirModify && e.Path == "/etc" }},
		{"removal of /tmp/gone by rm", func(e event.Event) bool {
			return e.Kind == event.Modify && e.Path == "/tmp/gone" && e.Proc.Comm == "rm"
		}},
		{"connect tcp 127.0.0.1:8080", func(e event.Event) bool {
			return e.Kind == event.Connect && e.Proto == "tcp" && e.Addr.String() == "127.0.0.1:8080"
		}},
		{"bind tcp 7777", func(e event.Event) bool {
			return e.Kind == event.Bind && e.Proto == "tcp" && e.Addr.Port() == 7777
		}},
		{"listen tcp 7777", func(e event.Event) bool {
			return e.Kind == event.Listen && e.Proto == "tcp" && e.Addr.Port() == 7777
		}},
	}
	for _, tc := range []struct {
		backend  string
		opts     sensor.Options
		seccomp  *specs.LinuxSeccomp
		wants    []want
		syscalls []int // in Syscalls after the attack; nil: not supported
	}{
		{"ebpf", sensor.Options{}, nil, []want{
			{"exec /bin/date with argv", func(e event.Event) bool {
				return e.Kind == event.Exec && e.Path == "/bin/date" && slices.Equal(e.Proc.Args, []string{"/bin/date"})
			}},
			{"exec of the attacker's shell", execOf("/bin/sh")},
			{"write /data/state", func(e event.Event) bool { return e.Kind == event.Open && e.Path == "/data/state" }},
			{"write /etc/evil", func(e event.Event) bool { return e.Kind == event.Open && e.Path == "/etc/evil" }},
			{"unlink /tmp/gone", func(e event.Event) bool { return e.Kind == event.Unlink && e.Path == "/tmp/gone" }},
			{"connect tcp 127.0.0.1:8080", func(e event.Event) bool {
				return e.Kind == event.Connect && e.Proto == "tcp" && e.Addr.String() == "127.0.0.1:8080"
			}},
			{"accept on tcp 8080", func(e event.Event) bool {
				return e.Kind == event.Accept && e.Proto == "tcp" && e.Addr.Port() == 8080
			}},
			{"listen tcp 7777", func(e event.Event) bool {
				return e.Kind == event.Listen && e.Proto == "tcp" && e.Addr.Port() == 7777
			}},
		}, []int{42, 59}}, // connect and execve on x86-64: both happened
		{"light", sensor.Options{}, logUname, lightWants, []int{63}},
		// Light under overlayfs, as container engines run containers:
		// each change is also one to the upper layer's file on the host's
		// file system, which the container does not mount, and must not
		// be reported under a host path.
		{"light-overlay", sensor.Options{}, logUname, lightWants, []int{63}},
		// Light on a kernel without the timestamp tracepoints: file
		// writes from fanotify, reported at close.
		{"light-fanotify", sensor.Options{FanotifyWrites: true}, logUname, []want{
			{"write /data/state", func(e event.Event) bool { return e.Kind == event.Open && e.Path == "/data/state" }},
			{"write /etc/evil by the shell", func(e event.Event) bool {
				return e.Kind == event.Open && e.Path == "/etc/evil" && e.Proc.Exe == "/bin/sh" && slices.Contains(e.Proc.Args, "-c")
			}},
			{"listen tcp 7777", func(e event.Event) bool {
				return e.Kind == event.Listen && e.Proto == "tcp" && e.Addr.Port() == 7777
			}},
		}, []int{63}},
		{"fanotify", sensor.Options{}, nil, []want{
			{"exec of busybox (date, sh)", execOf("/bin/busybox")},
			{"exec of the workload", execOf("/app/workload")},
			{"write /data/state", func(e event.Event) bool { return e.Kind == event.Open && e.Path == "/data/state" }},
			{"write /etc/evil", func(e event.Event) bool { return e.Kind == event.Open && e.Path == "/etc/evil" }},
			{"listen tcp 8080", func(e event.Event) bool {
				return e.Kind == event.Listen && e.Proto == "tcp" && e.Addr.Port() == 8080
			}},
		}, nil},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			backend, variant, _ := strings.Cut(tc.backend, "-")
			if backend == "light" {
				runctest.AuditDaemon(t)
			}
			c := runctest.Start(t, runctest.Config{Seccomp: tc.seccomp, Overlay: variant == "overlay"})
			info, err := container.Find(c.ID)
			if err != nil {
				t.Fatal(err)
			}
			opts := tc.opts
			opts.Backend = backend
			s, err := sensor.New(opts)
			if err != nil {
				runctest.Skip(t, "sensor "+backend+": "+err.Error())
			}
			defer s.Close()
			if err := s.Watch(sensor.Target{MntNS: info.MntNS, PID: info.InitPID}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// Let the watch take effect, then act: the fanotify backend only
			// sees processes started after the mark.
			time.Sleep(200 * time.Millisecond)
			if out, err := c.Exec(ctx, "/bin/sh", "-c", "echo pwned > /etc/evil; touch /tmp/gone; rm /tmp/gone; /app/workload connect 127.0.0.1:8080; "+
				"/app/workload probe uname; nc -l -p 7777 & sleep 1; kill $!"); err != nil {
				t.Fatalf("attacker exec: %v: %s", err, out)
			}
			if err := os.WriteFile(hostFile, []byte("host"), 0o644); err != nil {
				t.Fatal(err)
			}
			pending := slices.Clone(tc.wants)
			for len(pending) > 0 {
				select {
				case e := <-s.Events():
					if e.MntNS != info.MntNS {
						t.Errorf("event from mount namespace %d, watching only %d: %+v", e.MntNS, info.MntNS, e)
					}
					if strings.Contains(e.Path, "host-write") {
						t.Errorf("host process reported: %+v", e)
					}
					if strings.Contains(e.Path, c.Bundle) || strings.HasPrefix(e.Path, "/…") {
						t.Errorf("event outside the container's view: %+v", e)
					}
					pending = slices.DeleteFunc(pending, func(w want) bool { return w.ok(e) })
				case <-ctx.Done():
					for _, w := range pending {
						t.Errorf("no event: %s", w.name)
					}
					return
				}
			}
			nrs, err := s.Syscalls(info.MntNS)
			if tc.syscalls == nil {
				if err == nil {
					t.Errorf("%s Syscalls: want ErrNotSupported, got %v", tc.backend, nrs)
				}
				return
			}
			// The light backend's set fills as the kernel's audit thread
			// delivers records, after the syscalls were made.
			for err == nil && !containsAll(nrs, tc.syscalls) && ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
				nrs, err = s.Syscalls(info.MntNS)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !containsAll(nrs, tc.syscalls) {
				t.Errorf("syscall set %v lacks some of %v", nrs, tc.syscalls)
			}
		})
	}
}

func containsAll(have, want []int) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
