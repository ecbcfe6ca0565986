//go:build linux

package sensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/container"
)

// seccompLog learns, for the light backend, which syscalls outside a
// container's seccomp profile its processes made, from the audit records
// (type 1326, AUDIT_SECCOMP) the kernel writes for a filter's SCMP_ACT_LOG
// action: a container run with `vigil runtime generate --format seccomp
// --complain` has every syscall it made while learning allowed silently and
// every other one logged. The filter runs in the syscall path either way; no
// probe is attached to syscalls.
//
// The records are read as the host's audit daemon: Vigil registers its
// netlink socket with AUDIT_SET, the way auditd does, and unregisters when
// it closes (should it die, the kernel notices on the next record and
// returns to printing them). The alternatives lose records: with no daemon
// the kernel prints at most printk_ratelimit_burst (10) of them per 5 s to
// its log, and the audit multicast group only reaches the initial network
// namespace. When auditd already runs, the records are its, and the syscall
// set is not observed.
type seccompLog struct {
	f *os.File // the audit netlink socket
	// exited names the mount namespace of a process that has exited before
	// its record was read, which /proc can no longer tell.
	exited func(pid uint32) (uint32, bool)

	mu   sync.Mutex
	sets map[uint32]*[8]uint64 // syscall bitmaps of watched mount namespaces
}

// Audit netlink message types and the audit_status field (linux/audit.h).
const (
	auditGet       = 1000
	auditSet       = 1001
	auditSeccomp   = 1326
	auditStatusPID = 4
)

// openSeccompLog registers as the audit daemon.
func openSeccompLog(exited func(pid uint32) (uint32, bool)) (*seccompLog, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_AUDIT)
	if err != nil {
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind audit netlink socket: %w", err)
	}
	if err := setAuditPID(fd, uint32(os.Getpid())); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EEXIST) {
			return nil, errors.New("another audit daemon (auditd) receives the kernel's audit records")
		}
		return nil, fmt.Errorf("register as the audit daemon: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	// Non-blocking, so Close interrupts a Read.
	return &seccompLog{f: os.NewFile(uintptr(fd), "audit"), exited: exited, sets: map[uint32]*[8]uint64{}}, nil
}

// setAuditPID sends AUDIT_SET for the daemon's PID and waits for the
// kernel's answer.
func setAuditPID(fd int, pid uint32) error {
	st := make([]byte, 40) // struct audit_status: mask, enabled, failure, pid, ...
	binary.NativeEndian.PutUint32(st[0:], auditStatusPID)
	binary.NativeEndian.PutUint32(st[12:], pid)
	msg := make([]byte, unix.NLMSG_HDRLEN+len(st))
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], auditSet)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	copy(msg[unix.NLMSG_HDRLEN:], st)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("no answer to AUDIT_SET: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("answer to AUDIT_SET: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
				if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
					return unix.Errno(errno)
				}
				return nil
			}
		}
	}
}

func (l *seccompLog) watch(mntns uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sets[mntns] == nil {
		l.sets[mntns] = new([8]uint64)
	}
}

func (l *seccompLog) unwatch(mntns uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sets, mntns)
}

// syscalls returns the syscall numbers logged for mntns since watch.
func (l *seccompLog) syscalls(mntns uint32) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sets[mntns]; s != nil {
		return bits(s[:])
	}
	return nil
}

// Close hands the audit records back to the kernel's log.
func (l *seccompLog) Close() error {
	if c, err := l.f.SyscallConn(); err == nil {
		c.Control(func(fd uintptr) {
			unix.SetNonblock(int(fd), false)
			setAuditPID(int(fd), 0)
		})
	}
	return l.f.Close()
}

// run reads records until the socket is closed. ENOBUFS says the socket's
// buffer overflowed and records were lost, which loses nothing the next
// records cannot tell again (a syscall outside the profile is logged each
// time it is made).
func (l *seccompLog) run() {
	buf := make([]byte, 64<<10)
	for {
		n, err := l.f.Read(buf)
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return // closed
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			continue
		}
		for _, m := range msgs {
			if m.Header.Type == auditSeccomp {
				l.record(m.Data)
			}
		}
	}
}

// record adds the syscall of one AUDIT_SECCOMP record to its container's set.
func (l *seccompLog) record(text []byte) {
	r, ok := parseSeccompRecord(text)
	if !ok || r.arch != auditArchX86_64 || r.nr < 0 || r.nr >= 512 {
		return
	}
	ns, err := container.MntNS(r.pid)
	if err != nil {
		var ok bool
		if ns, ok = l.exited(uint32(r.pid)); !ok {
			return // not a process of a watched container
		}
	}
	l.mu.Lock()
	if s := l.sets[ns]; s != nil {
		s[r.nr/64] |= 1 << (r.nr % 64)
	}
	l.mu.Unlock()
}

// auditArchX86_64 is AUDIT_ARCH_X86_64 as audit prints it; syscall numbers
// are per architecture, and the sensor's tables are amd64's.
const auditArchX86_64 = "c000003e"

type seccompRecord struct {
	pid, nr int
	arch    string
}

// parseSeccompRecord reads the text of an AUDIT_SECCOMP record, such as
//
//	audit(1795441592.651:7): auid=4294967295 uid=0 gid=0 ses=4294967295
//	pid=2519 comm="t" exe="/tmp/t" sig=0 arch=c000003e syscall=110
//	compat=0 ip=0x7fe67b0c0829 code=0x7ffc0000
//
// Hand-written: it needs three fields of one record type.
func parseSeccompRecord(text []byte) (seccompRecord, bool) {
	text, _, _ = bytes.Cut(text, []byte{0})
	var r seccompRecord
	found := 0
	// comm="..." and exe="..." come between pid and arch. Audit hex-encodes
	// a name with spaces or quotes, but should one still hold "arch=" or
	// "syscall=", the kernel's own fields come last and win; pid comes
	// before the names, so the first one wins.
	for _, f := range bytes.Fields(text) {
		k, v, ok := bytes.Cut(f, []byte("="))
		if !ok {
			continue
		}
		switch string(k) {
		case "pid":
			if found&1 == 0 {
				if n, err := strconv.Atoi(string(v)); err == nil && n > 0 {
					r.pid, found = n, found|1
				}
			}
		case "arch":
			r.arch, found = string(v), found|2
		case "syscall":
			if n, err := strconv.Atoi(string(v)); err == nil {
				r.nr, found = n, found|4
			}
		}
	}
	return r, found == 7
}
