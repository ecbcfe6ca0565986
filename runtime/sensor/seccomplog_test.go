//go:build linux

package sensor

import "testing"

// Records as Linux 6.18 writes them for SCMP_ACT_LOG, and variants a
// process could steer through its name.
func TestParseSeccompRecord(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       seccompRecord
		ok         bool
	}{
		{"logged syscall", `audit(1795441592.651:7): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2519 comm="t" exe="/tmp/sx/t" sig=0 arch=c000003e syscall=110 compat=0 ip=0x7fe67b0c0829 code=0x7ffc0000`,
			seccompRecord{pid: 2519, nr: 110, arch: "c000003e"}, true},
		{"NUL-terminated", "audit(1.2:3): pid=7 comm=\"x\" arch=c000003e syscall=63 code=0x7ffc0000\x00garbage syscall=1",
			seccompRecord{pid: 7, nr: 63, arch: "c000003e"}, true},
		// Audit hex-encodes a name with a space, but the kernel's fields win
		// even over an unencoded one.
		{"name mimics fields", `audit(1.2:3): pid=9 comm=pid=1 exe=syscall=999 sig=0 arch=c000003e syscall=2 compat=0`,
			seccompRecord{pid: 9, nr: 2, arch: "c000003e"}, true},
		{"no syscall", `audit(1.2:3): pid=9 comm="x" arch=c000003e`, seccompRecord{}, false},
		{"bad pid", `audit(1.2:3): pid=x arch=c000003e syscall=2`, seccompRecord{}, false},
		{"empty", ``, seccompRecord{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseSeccompRecord([]byte(tc.text))
			if ok != tc.ok || (ok && got != tc.want) {
				t.Errorf("parseSeccompRecord = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseSeccompRecord(f *testing.F) {
	f.Add([]byte(`audit(1795441592.651:7): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2519 comm="t" exe="/tmp/sx/t" sig=0 arch=c000003e syscall=110 compat=0 ip=0x7fe67b0c0829 code=0x7ffc0000`))
	f.Add([]byte("pid=1 arch=c000003e syscall=-5"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, ok := parseSeccompRecord(b); ok && r.pid <= 0 {
			t.Errorf("accepted a record with PID %d", r.pid)
		}
	})
}
