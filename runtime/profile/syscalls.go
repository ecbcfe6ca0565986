package profile

import (
	"fmt"
	"runtime"

	"github.com/elastic/go-seccomp-bpf/arch"
)

// Syscall numbers are translated with the tables of Elastic's
// go-seccomp-bpf: pure Go (libseccomp-golang would need cgo and
// libseccomp), generated from the kernel's syscall tables and maintained.

// SyscallTable maps syscall numbers of one architecture to names.
type SyscallTable struct {
	Arch  string // Linux name, e.g. "x86_64"
	names map[int]string
	nums  map[string]int
}

// HostSyscalls returns the table for the architecture this binary runs on.
func HostSyscalls() (*SyscallTable, error) {
	info, err := arch.GetInfo(runtime.GOARCH)
	if err != nil || len(info.SyscallNumbers) == 0 {
		return nil, fmt.Errorf("no syscall table for %s", runtime.GOARCH)
	}
	return &SyscallTable{Arch: info.Name, names: info.SyscallNumbers, nums: info.SyscallNames}, nil
}

// Name returns the name of syscall nr, or "" when the table has none.
func (t *SyscallTable) Name(nr int) string { return t.names[nr] }

// Number returns the number of the named syscall.
func (t *SyscallTable) Number(name string) (int, bool) {
	n, ok := t.nums[name]
	return n, ok
}

// NameOrNumber returns the name of nr, or "syscall_N" for a number the
// table does not know (a kernel newer than the table).
func (t *SyscallTable) NameOrNumber(nr int) string {
	if n := t.names[nr]; n != "" {
		return n
	}
	return fmt.Sprintf("syscall_%d", nr)
}
