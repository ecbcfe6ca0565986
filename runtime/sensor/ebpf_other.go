//go:build linux && !amd64

package sensor

import "fmt"

// The BPF programs read x86-64 syscall registers and numbers; other
// architectures use the fanotify backend until they get their own object.
func newEBPF(Options, bool) (Sensor, error) {
	return nil, fmt.Errorf("eBPF sensor on this architecture: %w", ErrNotSupported)
}
