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
	for _, tc := range []struct {
		backend string
		wants   []want
	}{
		{"ebpf", []want{
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
		}},
		{"fanotify", []want{
			{"exec of busybox (date, sh)", execOf("/bin/busybox")},
			{"exec of the workload", execOf("/app/workload")},
			{"write /data/state", func(e event.Event) bool { return e.Kind == event.Open && e.Path == "/data/state" }},
			{"write /etc/evil", func(e event.Event) bool { return e.Kind == event.Open && e.Path == "/etc/evil" }},
			{"listen tcp 8080", func(e event.Event) bool {
				return e.Kind == event.Listen && e.Proto == "tcp" && e.Addr.Port() == 8080
			}},
		}},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			c := runctest.Start(t, runctest.Config{})
			info, err := container.Find(c.ID)
			if err != nil {
				t.Fatal(err)
			}
			s, err := sensor.New(sensor.Options{Backend: tc.backend})
			if err != nil {
				runctest.Skip(t, "sensor "+tc.backend+": "+err.Error())
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
			if out, err := c.Exec(ctx, "/bin/sh", "-c", "echo pwned > /etc/evil; touch /tmp/gone; rm /tmp/gone; /app/workload connect 127.0.0.1:8080"); err != nil {
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
					pending = slices.DeleteFunc(pending, func(w want) bool { return w.ok(e) })
				case <-ctx.Done():
					for _, w := range pending {
						t.Errorf("no event: %s", w.name)
					}
					return
				}
			}
			nrs, err := s.Syscalls(info.MntNS)
			if tc.backend == "fanotify" {
				if err == nil {
					t.Errorf("fanotify Syscalls: want ErrNotSupported, got %v", nrs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// 42 is connect and 59 execve on x86-64: both happened above.
			for _, nr := range []int{42, 59} {
				if !slices.Contains(nrs, nr) {
					t.Errorf("syscall set %v lacks %d", nrs, nr)
				}
			}
		})
	}
}
