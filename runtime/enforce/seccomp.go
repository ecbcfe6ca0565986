// Package enforce turns a learned profile into confinement: policies for
// existing mechanisms (an OCI/Docker seccomp profile, an AppArmor profile, a
// Kubernetes NetworkPolicy) and live blocking of a running container
// (fanotify permission events for executables, a cgroup connect program for
// peers).
package enforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/profile"
)

// RuncMinimum are the syscalls a container needs beyond its workload's own
// for runc to start it under a default-deny filter: runc installs the
// filter in its init process and makes these calls before and during
// execve of the container's process.
//
// Determined empirically with runc 1.1.5 (Debian 12) on Linux 6.18 by
// `go test ./runtime/enforce -run TestRuncMinimum -seccomp-minimize`: start
// from every syscall the sensor sees between `runc create` and the exit of
// a static busybox /bin/echo, remove one at a time, and keep it when the
// echo no longer prints. runc itself needs openat, write and close (the
// exec fifo), fstatfs and getdents64 (closing inherited fds through
// /proc/self/fd), futex (its Go runtime) and execve; brk, arch_prctl and
// mprotect are what a static glibc binary needs before main. exit and
// exit_group are added so that every process terminates cleanly (with them
// denied, libc falls back to crashing). The plain TestRuncMinimum checks
// that this set still starts a container.
//
// Elimination on a quiet machine is not enough: runc's init is a Go program
// still running after the filter is installed, and under load its runtime
// preempts goroutines with signals (tgkill, rt_sigreturn, sigaltstack,
// rt_sigprocmask), sleeps and yields while spinning (nanosleep, sched_yield),
// and allocates (mmap, munmap, madvise); the netpoller may wait (epoll_pwait)
// and the fifo is read. Denying any of these made container start-up fail
// now and then on a loaded 2-core machine, so they are kept as a margin.
var RuncMinimum = []string{
	"arch_prctl", "brk", "close", "execve", "exit", "exit_group", "fstatfs",
	"futex", "getdents64", "mprotect", "openat", "write",
	// Go runtime margin (see above).
	"epoll_pwait", "getpid", "gettid", "madvise", "mmap", "munmap", "nanosleep",
	"read", "rt_sigprocmask", "rt_sigreturn", "sched_yield", "sigaltstack", "tgkill",
}

// seccompArches maps GOARCH to the seccomp architectures a filter lists.
var seccompArches = map[string][]specs.Arch{
	"amd64": {specs.ArchX86_64},
	"arm64": {specs.ArchAARCH64},
}

// SeccompMode is what a generated seccomp profile does with a syscall the
// learned profile lacks.
type SeccompMode int

const (
	// SeccompEnforce fails it with EPERM.
	SeccompEnforce SeccompMode = iota
	// SeccompComplain lets it through and has the kernel log it (the
	// SCMP_ACT_LOG action, an AUDIT_SECCOMP record): `vigil runtime watch
	// --backend light` turns those records into new-syscall alerts, which
	// costs no tracing of syscalls at all.
	SeccompComplain
)

// Seccomp returns an OCI runtime-spec seccomp profile (linux.seccomp in a
// config.json; Docker's --security-opt seccomp=FILE takes the same JSON)
// that allows the profile's syscalls plus RuncMinimum and, in mode, denies
// or logs every other. The syscall names must be from the architecture
// Vigil runs on.
func Seccomp(p *profile.Profile, mode SeccompMode) (*specs.LinuxSeccomp, error) {
	if p.Syscalls == nil {
		return nil, errors.New("generate seccomp: the profile has no syscall set (learned with a sensor that cannot observe syscalls)")
	}
	arches, ok := seccompArches[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("generate seccomp: no seccomp architecture for %s", runtime.GOARCH)
	}
	tab, err := profile.HostSyscalls()
	if err != nil {
		return nil, fmt.Errorf("generate seccomp: %w", err)
	}
	if p.Learned.Arch != "" && p.Learned.Arch != tab.Arch {
		return nil, fmt.Errorf("generate seccomp: profile syscalls are for %s, this host is %s", p.Learned.Arch, tab.Arch)
	}
	var names []string
	for _, n := range slices.Concat(p.Syscalls, RuncMinimum) {
		// Numbers the table did not know ("syscall_N") cannot be named in
		// an OCI profile; they stay denied.
		if _, ok := tab.Number(n); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActLog,
		Architectures: arches,
		Syscalls:      []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
	}
	if mode == SeccompEnforce {
		eperm := uint(unix.EPERM)
		s.DefaultAction, s.DefaultErrnoRet = specs.ActErrno, &eperm
	}
	return s, nil
}

// WriteSeccomp writes Seccomp(p, mode) as indented JSON.
func WriteSeccomp(w io.Writer, p *profile.Profile, mode SeccompMode) error {
	s, err := Seccomp(p, mode)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
