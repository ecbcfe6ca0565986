//go:build linux && amd64

package sensor

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/event"
)

type ebpfSensor struct {
	objs   sensorObjects
	links  []link.Link
	rd     *ringbuf.Reader
	out    chan event.Event
	done   chan struct{}
	wg     sync.WaitGroup
	procs  procCache
	events atomic.Uint64
	// boot is the wall-clock time of CLOCK_MONOTONIC zero, to convert the
	// kernel's timestamps.
	boot      time.Time
	closeOnce sync.Once
}

// probe checks, before loading anything, the kernel features the programs
// need, so the fallback message names the missing one. Tracing program
// support is not probed with features.HaveProgramType: its probe is an fentry
// program, and kernels (or sandboxes) that refuse fentry may still run
// tp_btf; loading the real programs is the test, and its error is reported.
func probe() error {
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return fmt.Errorf("BPF ring buffer: %w", err)
	}
	return nil
}

func newEBPF(opts Options) (Sensor, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("remove memlock limit: %w", err)
	}
	if err := probe(); err != nil {
		return nil, err
	}
	spec, err := loadSensor()
	if err != nil {
		return nil, err
	}
	spec.Maps["events"].MaxEntries = uint32(opts.RingBytes)
	s := &ebpfSensor{out: make(chan event.Event, opts.Queue), done: make(chan struct{})}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load sensor programs: %+v", verr)
		}
		return nil, fmt.Errorf("load sensor programs: %w", err)
	}
	for _, p := range []*ebpf.Program{s.objs.VigilExec, s.objs.VigilSysEnter} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("attach %s: %w", p, err)
		}
		s.links = append(s.links, l)
	}
	if s.rd, err = ringbuf.NewReader(s.objs.Events); err != nil {
		s.Close()
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		s.Close()
		return nil, fmt.Errorf("read monotonic clock: %w", err)
	}
	s.boot = time.Now().Add(-time.Duration(ts.Nano()))
	s.wg.Add(1)
	go s.read()
	return s, nil
}

func (s *ebpfSensor) Backend() string { return "ebpf" }

func (s *ebpfSensor) Watch(t Target) error {
	if err := s.objs.Watched.Put(t.MntNS, uint32(0)); err != nil {
		return fmt.Errorf("watch mount namespace %d: %w", t.MntNS, err)
	}
	return nil
}

func (s *ebpfSensor) Unwatch(t Target) error {
	if err := s.objs.Watched.Delete(t.MntNS); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("unwatch mount namespace %d: %w", t.MntNS, err)
	}
	if err := s.objs.Syscalls.Delete(t.MntNS); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("forget syscalls of mount namespace %d: %w", t.MntNS, err)
	}
	return nil
}

func (s *ebpfSensor) Events() <-chan event.Event { return s.out }

func (s *ebpfSensor) Syscalls(mntns uint32) ([]int, error) {
	var set sensorSyscallSet
	if err := s.objs.Syscalls.Lookup(mntns, &set); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read syscalls of mount namespace %d: %w", mntns, err)
	}
	var nrs []int
	for w, bits := range set.Bits {
		for b := 0; b < 64; b++ {
			if bits&(1<<b) != 0 {
				nrs = append(nrs, w*64+b)
			}
		}
	}
	return nrs, nil
}

func (s *ebpfSensor) Stats() Stats {
	st := Stats{Events: s.events.Load()}
	var perCPU []uint64
	if s.objs.Drops != nil && s.objs.Drops.Lookup(uint32(0), &perCPU) == nil {
		for _, n := range perCPU {
			st.Drops += n
		}
	}
	return st
}

func (s *ebpfSensor) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		for _, l := range s.links {
			l.Close()
		}
		if s.rd != nil {
			s.rd.Close() // unblocks read
		}
		s.wg.Wait()
		s.objs.Close()
		close(s.out)
	})
	return nil
}

func (s *ebpfSensor) read() {
	defer s.wg.Done()
	var rec ringbuf.Record
	for {
		if err := s.rd.ReadInto(&rec); err != nil {
			return // closed
		}
		if len(rec.RawSample) < int(unsafe.Sizeof(sensorEvent{})) {
			continue
		}
		// The record is a struct event written by the kernel on this host:
		// same layout and endianness (bpf2go checked it at generate time),
		// so a cast is both correct and ~50x cheaper than encoding/binary
		// on a 1.3 KiB record.
		raw := (*sensorEvent)(unsafe.Pointer(&rec.RawSample[0]))
		ev := s.decode(raw)
		select {
		case s.out <- ev:
			s.events.Add(1)
		case <-s.done:
			return
		}
	}
}

func (s *ebpfSensor) decode(r *sensorEvent) event.Event {
	ev := event.Event{
		Time:    s.boot.Add(time.Duration(r.TsNs)),
		Kind:    event.Kind(r.Kind),
		MntNS:   r.Mntns,
		Syscall: int(r.Nr),
		Flags:   r.Flags,
		Proc: event.Process{
			PID: r.Pid, PPID: r.Ppid, UID: r.Uid, Comm: cstr(r.Comm[:]),
		},
	}
	switch ev.Kind {
	case event.Exec:
		ev.Path = execPath(r.Pid, cstr(r.Path[:]))
		ev.Interp = cstr(r.Interp[:])
		n := min(int(r.ArgsLen), len(r.Args))
		ev.Proc.Args = splitArgs(unsafe.Slice((*byte)(unsafe.Pointer(&r.Args[0])), n))
		ev.Proc.Exe = ev.Path
		s.procs.put(r.Pid, ev.Path, ev.Proc.Args)
		return ev
	case event.Connect, event.Bind, event.Listen, event.Accept:
		ev.Proto = protoName(r.Family, r.Proto, r.SockType)
		switch r.Family {
		case unix.AF_INET:
			ev.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(r.Addr[:4])), r.Port)
		case unix.AF_INET6:
			ev.Addr = netip.AddrPortFrom(netip.AddrFrom16(r.Addr).Unmap(), r.Port)
		case unix.AF_UNIX:
			ev.Path = cstr(r.Path[:])
			if ev.Path == "" {
				ev.Path = "@" // abstract socket
			}
		}
	default:
		ev.Path = resolvePath(r.Pid, r.Dfd, cstr(r.Path[:]))
	}
	p := s.procs.get(r.Pid)
	ev.Proc.Exe, ev.Proc.Args = p.exe, p.args
	return ev
}

func protoName(family, proto, sockType uint16) string {
	switch {
	case family == unix.AF_UNIX:
		return "unix"
	case proto == unix.IPPROTO_TCP || sockType == unix.SOCK_STREAM:
		return "tcp"
	case proto == unix.IPPROTO_UDP || sockType == unix.SOCK_DGRAM:
		return "udp"
	}
	return ""
}

func cstr(b []int8) string {
	u := unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), len(b))
	for i, c := range u {
		if c == 0 {
			return string(u[:i])
		}
	}
	return string(u)
}
