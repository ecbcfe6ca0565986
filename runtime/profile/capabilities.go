package profile

import (
	"fmt"
	"strconv"
	"strings"
)

// capNames are the capabilities by number, as include/uapi/linux/capability.h
// numbers them (Linux 6.18, CAP_LAST_CAP = CAP_CHECKPOINT_RESTORE). Written
// out because golang.org/x/sys/unix has the numbers but not the names, and
// a module only for this table would be more to trust than 41 strings;
// capabilities_linux_test.go checks it against x/sys/unix.
var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapabilityName returns the name of capability nr ("CAP_CHOWN"), or
// "CAP_N" for a number newer than the table.
func CapabilityName(nr int) string {
	if nr >= 0 && nr < len(capNames) {
		return capNames[nr]
	}
	return "CAP_" + strconv.Itoa(nr)
}

// CapabilityNumber returns the number of a capability name from
// CapabilityName.
func CapabilityNumber(name string) (int, bool) {
	for i, n := range capNames {
		if n == name {
			return i, true
		}
	}
	// Only the form CapabilityName writes: CAP_41, not CAP_041 or CAP_+41.
	if n, err := strconv.Atoi(strings.TrimPrefix(name, "CAP_")); err == nil && n >= len(capNames) && name == "CAP_"+strconv.Itoa(n) {
		return n, true
	}
	return 0, false
}

// validCapability checks a profile's capability entry.
func validCapability(name string) error {
	if _, ok := CapabilityNumber(name); !ok {
		return fmt.Errorf("%q is not a capability name (CAP_CHOWN, ..., or CAP_N)", name)
	}
	return nil
}
