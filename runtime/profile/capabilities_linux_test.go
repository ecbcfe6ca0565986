package profile

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The hand-written capability table agrees with the kernel's numbers as
// x/sys/unix has them.
func TestCapabilityNames(t *testing.T) {
	for _, tc := range []struct {
		nr   int
		name string
	}{
		{unix.CAP_CHOWN, "CAP_CHOWN"},
		{unix.CAP_KILL, "CAP_KILL"},
		{unix.CAP_SETPCAP, "CAP_SETPCAP"},
		{unix.CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
		{unix.CAP_NET_RAW, "CAP_NET_RAW"},
		{unix.CAP_SYS_CHROOT, "CAP_SYS_CHROOT"},
		{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
		{unix.CAP_MKNOD, "CAP_MKNOD"},
		{unix.CAP_AUDIT_WRITE, "CAP_AUDIT_WRITE"},
		{unix.CAP_SYSLOG, "CAP_SYSLOG"},
		{unix.CAP_AUDIT_READ, "CAP_AUDIT_READ"},
		{unix.CAP_PERFMON, "CAP_PERFMON"},
		{unix.CAP_BPF, "CAP_BPF"},
		{unix.CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE"},
		{unix.CAP_LAST_CAP + 1, "CAP_41"},
	} {
		if got := CapabilityName(tc.nr); got != tc.name {
			t.Errorf("CapabilityName(%d) = %s, want %s", tc.nr, got, tc.name)
		}
		if nr, ok := CapabilityNumber(tc.name); !ok || nr != tc.nr {
			t.Errorf("CapabilityNumber(%s) = %d, %v, want %d", tc.name, nr, ok, tc.nr)
		}
	}
	if len(capNames) != unix.CAP_LAST_CAP+1 {
		t.Errorf("%d capability names, x/sys/unix has CAP_LAST_CAP = %d", len(capNames), unix.CAP_LAST_CAP)
	}
	for _, bad := range []string{"chown", "CAP_", "CAP_-1", "CAP_chown", "CAP_041", "CAP_+41", "CAP_0", ""} {
		if _, ok := CapabilityNumber(bad); ok {
			t.Errorf("CapabilityNumber(%q) accepted", bad)
		}
	}
}
