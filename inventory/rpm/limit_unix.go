//go:build unix && !race

package rpm

import (
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// childMemory bounds the address space of the reader process: far above
// what a real database needs (a few hundred MiB for the largest), far below
// what the unbounded allocations of a crafted one would take.
const childMemory = 4 << 30

// limitMemory makes a runaway allocation in the reader fail fast, ending
// the child instead of pushing the host into swap or the OOM killer.
func limitMemory() {
	lim := unix.Rlimit{Cur: childMemory, Max: childMemory}
	_ = unix.Setrlimit(unix.RLIMIT_AS, &lim) // best effort: lowering a limit cannot fail for lack of privilege
	debug.SetMemoryLimit(childMemory / 2)
}
