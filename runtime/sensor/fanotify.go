//go:build linux

package sensor

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/runtime/internal/fanotify"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/event"
)

// fanotifySensor is the fallback backend: fanotify mount marks on each
// target's root report executions and writes, and /proc/<pid>/net is polled
// for listening sockets and connections. It cannot see syscalls, argv at
// exec time, unlink/chmod/mkdir (those need FAN_REPORT_FID and filesystem
// marks, which would watch the whole host file system), nor which process
// owns a socket.
type fanotifySensor struct {
	f      *os.File
	out    chan event.Event
	done   chan struct{}
	wg     sync.WaitGroup
	procs  procCache
	events atomic.Uint64
	drops  atomic.Uint64

	mu      sync.Mutex
	targets map[uint32]*netPoller // by mount namespace
	once    sync.Once
}

const fanotifyMask = unix.FAN_OPEN_EXEC | unix.FAN_MODIFY | unix.FAN_CLOSE_WRITE

func newFanotify(opts Options) (Sensor, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fanotify_init: %w", err)
	}
	s := &fanotifySensor{
		f:       os.NewFile(uintptr(fd), "fanotify"), // non-blocking: Close interrupts Read
		out:     make(chan event.Event, opts.Queue),
		done:    make(chan struct{}),
		targets: make(map[uint32]*netPoller),
	}
	s.wg.Add(1)
	go s.read()
	return s, nil
}

func (s *fanotifySensor) Backend() string { return "fanotify" }

func (s *fanotifySensor) Watch(t Target) error {
	if t.PID <= 0 {
		return fmt.Errorf("watch mount namespace %d: the fanotify sensor needs a container PID", t.MntNS)
	}
	root := "/proc/" + strconv.Itoa(t.PID) + "/root"
	// /proc/PID/root resolves to the container's own root mount, in its
	// mount namespace, so the mark covers that mount and nothing of the host.
	if err := unix.FanotifyMark(int(s.f.Fd()), unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, fanotifyMask, unix.AT_FDCWD, root); err != nil {
		return fmt.Errorf("fanotify mark %s: %w", root, err)
	}
	p := &netPoller{s: s, mntns: t.MntNS, pid: t.PID, stop: make(chan struct{}), seen: map[string]bool{}}
	s.mu.Lock()
	s.targets[t.MntNS] = p
	s.mu.Unlock()
	s.wg.Add(1)
	go p.run()
	return nil
}

func (s *fanotifySensor) Unwatch(t Target) error {
	s.mu.Lock()
	p := s.targets[t.MntNS]
	delete(s.targets, t.MntNS)
	s.mu.Unlock()
	if p != nil {
		close(p.stop)
		root := "/proc/" + strconv.Itoa(p.pid) + "/root"
		// The container may be gone, and its mount with it; nothing to undo.
		_ = unix.FanotifyMark(int(s.f.Fd()), unix.FAN_MARK_REMOVE|unix.FAN_MARK_MOUNT, fanotifyMask, unix.AT_FDCWD, root)
	}
	return nil
}

func (s *fanotifySensor) Events() <-chan event.Event { return s.out }

func (s *fanotifySensor) Syscalls(uint32) ([]int, error) {
	return nil, fmt.Errorf("syscall set: %w", ErrNotSupported)
}

func (s *fanotifySensor) Capabilities(uint32) ([]int, error) {
	return nil, fmt.Errorf("capabilities: %w", ErrNotSupported)
}

func (s *fanotifySensor) Stats() Stats {
	return Stats{Events: s.events.Load(), Drops: s.drops.Load()}
}

func (s *fanotifySensor) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.mu.Lock()
		for ns, p := range s.targets {
			close(p.stop)
			delete(s.targets, ns)
		}
		s.mu.Unlock()
		s.f.Close()
		s.wg.Wait()
		close(s.out)
	})
	return nil
}

// emit never blocks the reader: a full queue is a counted drop.
func (s *fanotifySensor) emit(ev event.Event) {
	select {
	case s.out <- ev:
		s.events.Add(1)
	default:
		s.drops.Add(1)
	}
}

func (s *fanotifySensor) read() {
	defer s.wg.Done()
	fanotify.Read(s.f, 64<<10, func(m unix.FanotifyEventMetadata) bool {
		if m.Mask&unix.FAN_Q_OVERFLOW != 0 {
			s.drops.Add(1)
		}
		if m.Fd >= 0 {
			s.handle(m)
			unix.Close(int(m.Fd))
		}
		return true
	})
}

func (s *fanotifySensor) handle(m unix.FanotifyEventMetadata) {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(m.Fd)))
	if err != nil {
		return
	}
	pid := uint32(m.Pid)
	ns := s.mntnsOf(pid)
	if ns == 0 {
		return
	}
	ev := event.Event{Time: time.Now(), MntNS: ns, Path: p, Syscall: -1, Proc: event.Process{PID: pid}}
	switch {
	case m.Mask&unix.FAN_OPEN_EXEC != 0:
		ev.Kind = event.Exec
		// The exec has not completed yet: argv is the parent image's.
		ev.Proc.Exe, ev.Proc.Args = p, readCmdline(pid)
		s.procs.put(pid, p, ev.Proc.Args)
	case m.Mask&(unix.FAN_MODIFY|unix.FAN_CLOSE_WRITE) != 0:
		ev.Kind = event.Open
		pi := s.procs.get(pid)
		ev.Proc.Exe, ev.Proc.Args = pi.exe, pi.args
	default:
		return
	}
	s.emit(ev)
}

// mntnsOf maps a PID to a watched mount namespace, 0 if it is not in one.
// With a single target, a process that already exited is attributed to it.
func (s *fanotifySensor) mntnsOf(pid uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.FormatUint(uint64(pid), 10)+"/ns/mnt", &st); err == nil {
		if _, ok := s.targets[uint32(st.Ino)]; ok {
			return uint32(st.Ino)
		}
		return 0
	}
	if len(s.targets) == 1 {
		for ns := range s.targets {
			return ns
		}
	}
	return 0
}

// netPoller turns new entries of /proc/PID/net/{tcp,udp}{,6} into events.
type netPoller struct {
	s     *fanotifySensor
	mntns uint32
	pid   int
	stop  chan struct{}
	seen  map[string]bool
}

const netPollEvery = 500 * time.Millisecond

func (p *netPoller) run() {
	defer p.s.wg.Done()
	t := time.NewTicker(netPollEvery)
	defer t.Stop()
	for {
		p.poll()
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

func (p *netPoller) poll() {
	var socks []netSocket
	for _, name := range []string{"tcp", "tcp6", "udp", "udp6"} {
		f, err := os.Open("/proc/" + strconv.Itoa(p.pid) + "/net/" + name)
		if err != nil {
			continue // container gone, or no IPv6
		}
		ss, _ := parseProcNet(f, strings.TrimSuffix(name, "6"))
		f.Close()
		socks = append(socks, ss...)
	}
	listening := map[uint16]bool{}
	for _, sk := range socks {
		if sk.listening() {
			listening[sk.local.Port()] = true
		}
	}
	if len(p.seen) > procCacheMax {
		p.seen = map[string]bool{}
	}
	for _, sk := range socks {
		ev := event.Event{Time: time.Now(), MntNS: p.mntns, Proto: sk.proto, Syscall: -1}
		switch {
		case sk.listening():
			ev.Kind, ev.Addr = event.Listen, sk.local
		case sk.state == tcpEstablished && !listening[sk.local.Port()] && sk.remote.Port() != 0:
			ev.Kind, ev.Addr = event.Connect, sk.remote
		default:
			continue
		}
		key := ev.Kind.String() + " " + ev.Proto + " " + ev.Addr.String()
		if p.seen[key] {
			continue
		}
		p.seen[key] = true
		p.s.emit(ev)
	}
}

type netSocket struct {
	proto         string
	local, remote netip.AddrPort
	state         uint8
}

// Socket states from include/net/tcp_states.h; UDP reuses them.
const (
	tcpEstablished = 0x01
	tcpClose       = 0x07 // an unconnected UDP socket
	tcpListen      = 0x0A
)

func (s netSocket) listening() bool {
	if s.proto == "udp" {
		return s.state == tcpClose && s.local.Port() != 0
	}
	return s.state == tcpListen
}

// parseProcNet reads the kernel's /proc/net/{tcp,udp}{,6} table format.
// Hand-written because no maintained library parses it without also pulling
// in a whole /proc framework; it is small and fuzzed.
func parseProcNet(r io.Reader, proto string) ([]netSocket, error) {
	var out []netSocket
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		local, err1 := parseHexAddr(f[1])
		remote, err2 := parseHexAddr(f[2])
		st, err3 := strconv.ParseUint(f[3], 16, 8)
		if err1 != nil || err2 != nil || err3 != nil {
			return out, fmt.Errorf("parse /proc/net/%s line %q: bad address or state", proto, sc.Text())
		}
		out = append(out, netSocket{proto: proto, local: local, remote: remote, state: uint8(st)})
	}
	return out, sc.Err()
}

// parseHexAddr parses "0100007F:1F90" (IPv4) or 32 hex digits ":port"
// (IPv6); addresses are printed as host-endian 32-bit words.
func parseHexAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address %q: no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", s, err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q: want 8 or 32 hex digits", s)
	}
	for i := 0; i < len(raw); i += 4 {
		w := binary.NativeEndian.Uint32(raw[i:])
		binary.BigEndian.PutUint32(raw[i:], w)
	}
	var addr netip.Addr
	if len(raw) == 4 {
		addr = netip.AddrFrom4([4]byte(raw))
	} else {
		addr = netip.AddrFrom16([16]byte(raw)).Unmap()
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
