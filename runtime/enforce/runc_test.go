//go:build linux

package enforce_test

import (
	"flag"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/enforce"
	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/profile"
	"github.com/vigilsec/vigil/runtime/sensor"
)

var minimize = flag.Bool("seccomp-minimize", false, "re-derive enforce.RuncMinimum by elimination and print it")

func filter(t *testing.T, names []string) *specs.LinuxSeccomp {
	t.Helper()
	s, err := enforce.Seccomp(&profile.Profile{Schema: profile.Schema, Syscalls: names}, enforce.SeccompEnforce)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// echoes reports whether runc starts /bin/echo under a filter that allows
// exactly names (RuncMinimum is added by Seccomp, so it is replaced here).
func echoes(t *testing.T, names []string) bool {
	sec := filter(t, []string{})
	sec.Syscalls[0].Names = names
	c := runctest.NewBundle(t, runctest.Config{Args: []string{"/bin/echo", "vigil-ok"}, Seccomp: sec})
	if err := c.Create(); err != nil {
		t.Logf("without some of %v: %v", names, err)
		return false
	}
	if err := c.TryBegin(); err != nil {
		t.Logf("without some of %v: %v", names, err)
		return false
	}
	c.Wait(10 * time.Second)
	if !strings.Contains(c.Log(), "vigil-ok") {
		t.Logf("with %v: output %q", names, c.Log())
		return false
	}
	return true
}

// RuncMinimum alone must let runc start a process; with -seccomp-minimize
// the set is derived again from what the sensor sees of a container's
// start-up, removing one syscall at a time.
func TestRuncMinimum(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("RuncMinimum was derived on x86_64")
	}
	runctest.Require(t)
	if !*minimize {
		if !echoes(t, enforce.RuncMinimum) {
			t.Fatalf("runc cannot start a process with only RuncMinimum allowed: %v", enforce.RuncMinimum)
		}
		return
	}
	tab, err := profile.HostSyscalls()
	if err != nil {
		t.Fatal(err)
	}
	c := runctest.Create(t, runctest.Config{Args: []string{"/bin/echo", "vigil-ok"}})
	info, err := container.Find(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sensor.New(sensor.Options{Backend: "ebpf"})
	if err != nil {
		runctest.Skip(t, err.Error())
	}
	defer s.Close()
	s.Watch(sensor.Target{MntNS: info.MntNS})
	c.Begin()
	c.Wait(10 * time.Second)
	nrs, err := s.Syscalls(info.MntNS)
	if err != nil {
		t.Fatal(err)
	}
	var cur []string
	for _, nr := range nrs {
		cur = append(cur, tab.Name(nr))
	}
	all := slices.Clone(cur)
	for _, n := range all {
		try := slices.DeleteFunc(slices.Clone(cur), func(x string) bool { return x == n })
		if echoes(t, try) {
			cur = try
		}
	}
	t.Logf("seen during start-up: %v", all)
	t.Logf("minimal set: %v", cur)
}
