//go:build linux && amd64

package sensor

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/event"
)

type ebpfSensor struct {
	maps  sensorMaps
	progs *ebpf.Collection // the programs; the maps moved to maps
	links []link.Link
	rd    *ringbuf.Reader
	out   chan event.Event
	done  chan struct{}
	wg    sync.WaitGroup
	procs procCache
	// caps says whether the kernel reports capability checks.
	caps bool
	// light: no sys_enter program; file changes come from the timestamp
	// tracepoints (fileProgs), resolved through each container's mounts,
	// or without them from fanotify (writers), by mount namespace; the
	// syscall set from seccomp's audit records (seccomp, nil when the
	// audit log cannot be read, and seccompErr says why).
	light      bool
	fileProgs  bool
	window     time.Duration
	mu         sync.Mutex
	writers    map[uint32]*writeWatcher
	mounts     map[uint32]*mountTable
	seccomp    *seccompLog
	seccompErr error

	gen    atomic.Uint64
	events atomic.Uint64
	// writeDrops counts fanotify queue overflows (light).
	writeDrops atomic.Uint64
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

// capTracepoint is the BTF name of the capability:cap_capable tracepoint's
// prototype, which Linux 6.14 added; tp_btf programs attach by it.
const capTracepoint = "btf_trace_cap_capable"

// The programs of each mode; the others are in both. filePrograms are
// light's when the kernel has their tracepoints.
var (
	fullPrograms  = []string{sensorProgVigilSysEnter}
	lightPrograms = []string{sensorProgVigilConnect4, sensorProgVigilConnect6, sensorProgVigilBind4, sensorProgVigilBind6, sensorProgVigilSockState}
	filePrograms  = []string{sensorProgVigilCtimeSet, sensorProgVigilCtimeXchg, sensorProgVigilDirty}
)

// fileTracepoints are the BTF names of the tracepoints filePrograms attach
// to: the timestamp ones came with multigrain timestamps in Linux 6.13.
var fileTracepoints = []string{"btf_trace_inode_set_ctime_to_ts", "btf_trace_ctime_ns_xchg", "btf_trace_writeback_mark_inode_dirty"}

// haveTracepoints looks tracepoint prototypes up in the kernel's BTF.
func haveTracepoints(names ...string) error {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return fmt.Errorf("kernel BTF: %w", err)
	}
	for _, n := range names {
		if _, err := spec.AnyTypeByName(n); err != nil {
			return fmt.Errorf("no %s tracepoint: %w", strings.TrimPrefix(n, "btf_trace_"), err)
		}
	}
	return nil
}

// taiToRealtime is CLOCK_REALTIME minus CLOCK_TAI, which the file programs
// add to the TAI clock they can read to compare a timestamp with now.
func taiToRealtime() (int64, error) {
	var tai, real unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_TAI, &tai); err != nil {
		return 0, fmt.Errorf("read CLOCK_TAI: %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &real); err != nil {
		return 0, fmt.Errorf("read CLOCK_REALTIME: %w", err)
	}
	return real.Nano() - tai.Nano(), nil
}

func newEBPF(opts Options, light bool) (Sensor, error) {
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
	spec.Maps[sensorMapEvents].MaxEntries = uint32(opts.RingBytes)
	window, err := jiffies(max(opts.DedupWindow, 0))
	if err != nil {
		return nil, err
	}
	if err := spec.Variables[sensorVarDedupWindowJiffies].Set(window); err != nil {
		return nil, fmt.Errorf("set deduplication window: %w", err)
	}
	if err := spec.Variables[sensorVarWakeupBytes].Set(uint64(opts.RingBytes / 4)); err != nil {
		return nil, fmt.Errorf("set ring buffer wakeup threshold: %w", err)
	}
	var key [2]uint64
	if err := binary.Read(rand.Reader, binary.NativeEndian, &key); err != nil {
		return nil, fmt.Errorf("deduplication hash key: %w", err)
	}
	if err := spec.Variables[sensorVarHashKey].Set(key); err != nil {
		return nil, fmt.Errorf("set deduplication hash key: %w", err)
	}
	s := &ebpfSensor{out: make(chan event.Event, opts.Queue), done: make(chan struct{}), caps: true, light: light, window: max(opts.DedupWindow, 0)}
	unused := slices.Concat(lightPrograms, filePrograms)
	if light {
		unused = fullPrograms
		var err error
		if opts.FanotifyWrites {
			err = errors.New("Options.FanotifyWrites is set")
		} else {
			err = s.useFilePrograms(spec)
		}
		if err != nil {
			opts.Logf("file changes will come from fanotify (writes only, reported at close): %v", err)
			unused = slices.Concat(unused, filePrograms)
		}
		s.writers, s.mounts = map[uint32]*writeWatcher{}, map[uint32]*mountTable{}
	}
	for _, name := range unused {
		delete(spec.Programs, name)
	}
	if err := haveTracepoints(capTracepoint); err != nil {
		opts.Logf("capabilities will not be observed: %v (Linux >= 6.14)", err)
		delete(spec.Programs, sensorProgVigilCapable)
		if !light { // vigil_fork also fills the pids map, which only light reads
			delete(spec.Programs, sensorProgVigilFork)
		}
		s.caps = false
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("load sensor programs: %+v", verr)
		}
		return nil, fmt.Errorf("load sensor programs: %w", err)
	}
	s.progs = coll
	if err := coll.Assign(&s.maps); err != nil {
		s.Close()
		return nil, fmt.Errorf("load sensor maps: %w", err)
	}
	if err := s.attach(spec); err != nil {
		s.Close()
		return nil, err
	}
	if s.rd, err = ringbuf.NewReader(s.maps.Events); err != nil {
		s.Close()
		return nil, fmt.Errorf("open ring buffer: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		s.Close()
		return nil, fmt.Errorf("read monotonic clock: %w", err)
	}
	s.boot = time.Now().Add(-time.Duration(ts.Nano()))
	if light {
		if s.seccomp, s.seccompErr = openSeccompLog(s.exitedMntNS); s.seccompErr != nil {
			opts.Logf("syscalls outside a seccomp profile will not be observed: %v", s.seccompErr)
		} else {
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.seccomp.run() }()
		}
	}
	s.wg.Add(1)
	go s.read()
	return s, nil
}

// useFilePrograms checks that the kernel has the file programs' tracepoints
// and sets what they need.
func (s *ebpfSensor) useFilePrograms(spec *ebpf.CollectionSpec) error {
	if err := haveTracepoints(fileTracepoints...); err != nil {
		return err
	}
	off, err := taiToRealtime()
	if err != nil {
		return err
	}
	if err := spec.Variables[sensorVarTaiToRealtimeNs].Set(off); err != nil {
		return fmt.Errorf("set clock offset: %w", err)
	}
	s.fileProgs = true
	return nil
}

// attach attaches the loaded programs: tracing ones to their tracepoints,
// socket ones to the root of the cgroup v2 hierarchy, where they see every
// process (they look for watched mount namespaces themselves). Cgroup links
// allow other programs beside them, so live enforcement on a container's
// own cgroup still attaches.
func (s *ebpfSensor) attach(spec *ebpf.CollectionSpec) error {
	cgroup := ""
	for name, p := range s.progs.Programs {
		var l link.Link
		var err error
		switch p.Type() {
		case ebpf.CGroupSockAddr:
			if cgroup == "" {
				if cgroup, err = cgroup2Root(); err != nil {
					return fmt.Errorf("attach %s: %w", name, err)
				}
			}
			l, err = link.AttachCgroup(link.CgroupOptions{Path: cgroup, Attach: spec.Programs[name].AttachType, Program: p})
		default:
			l, err = link.AttachTracing(link.TracingOptions{Program: p})
		}
		if err != nil {
			return fmt.Errorf("attach %s: %w", name, err)
		}
		s.links = append(s.links, l)
	}
	return nil
}

// cgroup2Root finds where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup
// on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
func cgroup2Root() (string, error) {
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup2"))
	if err != nil {
		return "", fmt.Errorf("find the cgroup v2 mount: %w", err)
	}
	if len(ms) == 0 {
		return "", errors.New("no cgroup v2 hierarchy is mounted: socket events need one")
	}
	return ms[0].Mountpoint, nil
}

// jiffies converts d to the kernel's ticks, rounding up. The tick is the
// resolution of the coarse clocks, which are read from the jiffy counter.
func jiffies(d time.Duration) (uint64, error) {
	var res unix.Timespec
	if err := unix.ClockGetres(unix.CLOCK_MONOTONIC_COARSE, &res); err != nil || res.Nano() <= 0 {
		return 0, fmt.Errorf("kernel tick length (resolution of CLOCK_MONOTONIC_COARSE): %v", err)
	}
	tick := res.Nano()
	return uint64((d.Nanoseconds() + tick - 1) / tick), nil
}

func (s *ebpfSensor) Backend() string {
	if s.light {
		return "light"
	}
	return "ebpf"
}

// Watch starts watching t.MntNS. Watching a namespace already watched keeps
// what was observed so far.
func (s *ebpfSensor) Watch(t Target) error {
	st := sensorNsState{Gen: s.gen.Add(1)}
	if err := s.maps.Watched.Update(t.MntNS, &st, ebpf.UpdateNoExist); err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("watch mount namespace %d: %w", t.MntNS, err)
	}
	if !s.light {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writers[t.MntNS] != nil || s.mounts[t.MntNS] != nil {
		return nil
	}
	if err := s.watchFiles(t); err != nil {
		s.maps.Watched.Delete(t.MntNS)
		return fmt.Errorf("watch file changes in mount namespace %d: %w", t.MntNS, err)
	}
	if s.seccomp != nil {
		s.seccomp.watch(t.MntNS)
	}
	return nil
}

// watchFiles starts light's file watching of t: its mounts, which the file
// programs' records are resolved through, or a fanotify group.
func (s *ebpfSensor) watchFiles(t Target) error {
	if s.fileProgs {
		m, err := newMountTable(t)
		if err != nil {
			return err
		}
		s.mounts[t.MntNS] = m
		return nil
	}
	w, err := newWriteWatcher(t, s.window)
	if err != nil {
		return err
	}
	s.writers[t.MntNS] = w
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		w.run(&s.procs, s.send, func() { s.writeDrops.Add(1) })
	}()
	return nil
}

// exitedMntNS returns the mount namespace a process that has exited ran in,
// if it executed or was forked in a watched one.
func (s *ebpfSensor) exitedMntNS(pid uint32) (uint32, bool) {
	var ns uint32
	if err := s.maps.Pids.Lookup(pid, &ns); err != nil {
		return 0, false
	}
	return ns, true
}

// send delivers an event, waiting for room; false when the sensor closes.
func (s *ebpfSensor) send(ev event.Event) bool {
	select {
	case s.out <- ev:
		s.events.Add(1)
		return true
	case <-s.done:
		return false
	}
}

// Unwatch stops watching t.MntNS and forgets its syscalls and capabilities.
func (s *ebpfSensor) Unwatch(t Target) error {
	if err := s.maps.Watched.Delete(t.MntNS); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("unwatch mount namespace %d: %w", t.MntNS, err)
	}
	if s.light {
		s.mu.Lock()
		if w := s.writers[t.MntNS]; w != nil {
			w.Close()
			delete(s.writers, t.MntNS)
		}
		delete(s.mounts, t.MntNS)
		s.mu.Unlock()
		if s.seccomp != nil {
			s.seccomp.unwatch(t.MntNS)
		}
	}
	return nil
}

func (s *ebpfSensor) Events() <-chan event.Event { return s.out }

func (s *ebpfSensor) state(mntns uint32) (sensorNsState, bool, error) {
	var st sensorNsState
	if err := s.maps.Watched.Lookup(mntns, &st); err != nil {
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return st, false, nil
		}
		return st, false, fmt.Errorf("read state of mount namespace %d: %w", mntns, err)
	}
	return st, true, nil
}

func (s *ebpfSensor) Syscalls(mntns uint32) ([]int, error) {
	if s.light {
		if s.seccomp == nil {
			return nil, fmt.Errorf("syscall set: %w (%v)", ErrNotSupported, s.seccompErr)
		}
		return s.seccomp.syscalls(mntns), nil
	}
	st, _, err := s.state(mntns)
	if err != nil {
		return nil, err
	}
	return bits(st.Syscalls[:]), nil
}

func (s *ebpfSensor) Capabilities(mntns uint32) ([]int, error) {
	if !s.caps {
		return nil, fmt.Errorf("capabilities: %w (the kernel has no capability:cap_capable tracepoint)", ErrNotSupported)
	}
	st, _, err := s.state(mntns)
	if err != nil {
		return nil, err
	}
	return bits([]uint64{st.Caps}), nil
}

// bits returns the numbers of the bits set in a bitmap of words.
func bits(words []uint64) []int {
	var nrs []int
	for w, v := range words {
		for b := 0; b < 64; b++ {
			if v&(1<<b) != 0 {
				nrs = append(nrs, w*64+b)
			}
		}
	}
	return nrs
}

// The slots of the per-CPU counters map (enum counter in the BPF source).
const (
	counterDrops = iota
	counterSuppressed
)

func (s *ebpfSensor) Stats() Stats {
	st := Stats{Events: s.events.Load()}
	sum := func(slot uint32) uint64 {
		var perCPU []uint64
		var n uint64
		if s.maps.Counters != nil && s.maps.Counters.Lookup(slot, &perCPU) == nil {
			for _, v := range perCPU {
				n += v
			}
		}
		return n
	}
	st.Drops, st.Suppressed = sum(counterDrops)+s.writeDrops.Load(), sum(counterSuppressed)
	return st
}

func (s *ebpfSensor) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		for _, l := range s.links {
			l.Close()
		}
		s.mu.Lock()
		for ns, w := range s.writers {
			w.Close() // unblocks its reader
			delete(s.writers, ns)
		}
		s.mu.Unlock()
		if s.seccomp != nil {
			s.seccomp.Close()
		}
		if s.rd != nil {
			s.rd.Close() // unblocks read
		}
		s.wg.Wait()
		if s.progs != nil {
			s.progs.Close()
		}
		s.maps.Close()
		close(s.out)
	})
	return nil
}

// pollInterval is how often the reader looks for records that did not wake
// it: file and socket events with absolute paths and addresses wait in the
// ring until then, or until it fills to a quarter (see wakeup_bytes in the
// BPF source), so that a burst costs one wakeup, not one per event.
const pollInterval = 20 * time.Millisecond

// headSize is the size of the part every record has; file and socket
// records end after their path's NUL, exec records carry the whole struct.
const headSize = int(unsafe.Offsetof(sensorEvent{}.Path))

func (s *ebpfSensor) read() {
	defer s.wg.Done()
	var (
		rec ringbuf.Record
		// The record is copied into a struct event: records are shorter
		// than the struct and the ring's bytes are not ours once read.
		raw sensorEvent
		buf = unsafe.Slice((*byte)(unsafe.Pointer(&raw)), unsafe.Sizeof(raw))
	)
	s.rd.SetDeadline(time.Now().Add(pollInterval))
	for {
		if err := s.rd.ReadInto(&rec); errors.Is(err, os.ErrDeadlineExceeded) {
			s.rd.SetDeadline(time.Now().Add(pollInterval))
			continue
		} else if err != nil {
			return // closed
		}
		if len(rec.RawSample) < headSize {
			continue
		}
		// Same layout and endianness (bpf2go checked it at generate
		// time): a copy is both correct and far cheaper than
		// encoding/binary on a 1 KiB record.
		copy(buf, rec.RawSample)
		if int(raw.H.PathLen) > len(rec.RawSample)-headSize {
			continue // a record cut short: never from this program
		}
		ev, ok := s.decode(&raw, buf[headSize:headSize+int(raw.H.PathLen)])
		if ok && !s.send(ev) {
			return
		}
	}
}

// decode turns a record into an event; names is the record's bytes after
// the head. It reports false for a file change outside the container's
// mounts.
func (s *ebpfSensor) decode(r *sensorEvent, names []byte) (event.Event, bool) {
	h := &r.H
	path := cstr(r.Path[:min(int(h.PathLen), len(r.Path))])
	ev := event.Event{
		Time:    s.boot.Add(time.Duration(h.TsNs)),
		Kind:    event.Kind(h.Kind),
		MntNS:   h.Mntns,
		Syscall: int(h.Nr),
		Flags:   h.Flags,
		Repeats: h.Repeats,
		Proc: event.Process{
			PID: h.Pid, PPID: h.Ppid, UID: h.Uid, Comm: cstr(h.Comm[:]),
		},
	}
	switch ev.Kind {
	case event.Exec:
		ev.Path = execPath(h.Pid, path)
		ev.Interp = cstr(r.Interp[:])
		n := min(int(h.ArgsLen), len(r.Args))
		ev.Proc.Args = splitArgs(unsafe.Slice((*byte)(unsafe.Pointer(&r.Args[0])), n))
		ev.Proc.Exe = ev.Path
		s.procs.put(h.Pid, ev.Path, ev.Proc.Args)
		return ev, true
	case event.Modify, event.DirModify:
		s.mu.Lock()
		m := s.mounts[h.Mntns]
		s.mu.Unlock()
		if m == nil {
			return ev, false // unwatched since
		}
		var ok bool
		if ev.Path, ok = m.resolve(h.Dev, splitNames(names), h.Flags&pathComplete != 0); !ok {
			return ev, false
		}
		ev.Flags = h.Flags &^ pathComplete // the file's mode
	case event.Connect, event.Bind, event.Listen, event.Accept:
		ev.Proto = protoName(h.Family, h.Proto, h.SockType)
		switch h.Family {
		case unix.AF_INET:
			ev.Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h.Addr[:4])), h.Port)
		case unix.AF_INET6:
			ev.Addr = netip.AddrPortFrom(netip.AddrFrom16(h.Addr).Unmap(), h.Port)
		case unix.AF_UNIX:
			ev.Path = path
			if ev.Path == "" {
				ev.Path = "@" // abstract socket
			}
		}
	default:
		ev.Path = resolvePath(h.Pid, h.Dfd, path)
	}
	p := s.procs.get(h.Pid)
	ev.Proc.Exe, ev.Proc.Args = p.exe, p.args
	return ev, true
}

// pathComplete is PATH_COMPLETE in the BPF source: the names of a file
// change record reach its file system's root.
const pathComplete = 0x80000000

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
	if len(b) == 0 {
		return ""
	}
	u := unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), len(b))
	for i, c := range u {
		if c == 0 {
			return string(u[:i])
		}
	}
	return string(u)
}
