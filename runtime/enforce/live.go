//go:build linux

package enforce

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"unsafe"

	"github.com/vigilsec/vigil/runtime/internal/fanotify"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/profile"
)

// Denial is one blocked action.
type Denial struct {
	What    string // "exec" or "connect"
	Subject string // the executable path, or proto:ip:port
	PID     int
}

// Live blocks, until ctx ends, the executables and outbound peers of c that
// p does not list. Both mechanisms are in place when Live has logged that
// it enforces; it returns an error if either cannot be set up.
func Live(ctx context.Context, p *profile.Profile, c container.Container, onDeny func(Denial), logf func(string, ...any)) error {
	if err := c.Alive(); err != nil {
		return err
	}
	ex, err := newExecGuard(p, c, onDeny)
	if err != nil {
		return err
	}
	defer ex.Close()
	ng, err := newConnectGuard(p, c, onDeny)
	if err != nil {
		return err
	}
	defer ng.Close()
	logf("enforcing on container %s: %d executables, %d peers allowed", c.ID, len(ex.allowed), len(p.Peers))
	<-ctx.Done()
	return nil
}

// execGuard answers fanotify FAN_OPEN_EXEC_PERM events on the container's
// root mount. fanotify sees the file that is opened for execution, after
// symlinks, and the ELF interpreter the kernel loads for it, so the allow
// list has the learned paths, their targets and their interpreters; the
// content must match a learned SHA-256 as well.
type execGuard struct {
	f       *os.File
	allowed map[string]map[string]bool // path -> allowed hashes (empty: any)
	onDeny  func(Denial)
	wg      sync.WaitGroup
	hashes  map[[3]int64]string
}

func newExecGuard(p *profile.Profile, c container.Container, onDeny func(Denial)) (*execGuard, error) {
	g := &execGuard{allowed: map[string]map[string]bool{}, onDeny: onDeny, hashes: map[[3]int64]string{}}
	for _, e := range p.Executables {
		for _, path := range []string{e.Path, e.Target} {
			if path == "" {
				continue
			}
			if g.allowed[path] == nil {
				g.allowed[path] = map[string]bool{}
			}
			if e.SHA256 != "" {
				g.allowed[path][e.SHA256] = true
			}
			if interp := interpreter(c, path); interp != "" && g.allowed[interp] == nil {
				g.allowed[interp] = map[string]bool{} // trusted as the loader of a learned program
			}
		}
	}
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fanotify_init for exec enforcement: %w", err)
	}
	g.f = os.NewFile(uintptr(fd), "fanotify-exec")
	root := "/proc/" + strconv.Itoa(c.InitPID) + "/root"
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, unix.FAN_OPEN_EXEC_PERM, unix.AT_FDCWD, root); err != nil {
		g.f.Close()
		return nil, fmt.Errorf("fanotify mark %s: %w", root, err)
	}
	g.wg.Add(1)
	go g.run()
	return g, nil
}

// interpreter returns the PT_INTERP of an ELF executable inside c.
func interpreter(c container.Container, path string) string {
	f, err := c.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	e, err := elf.NewFile(f)
	if err != nil {
		return ""
	}
	defer e.Close()
	for _, prog := range e.Progs {
		if prog.Type == elf.PT_INTERP && prog.Filesz > 0 && prog.Filesz < 4096 {
			b := make([]byte, prog.Filesz)
			if _, err := prog.ReadAt(b, 0); err == nil {
				return string(b[:len(b)-1]) // NUL-terminated
			}
		}
	}
	return ""
}

func (g *execGuard) Close() error {
	// Closing the group allows every pending permission event.
	err := g.f.Close()
	g.wg.Wait()
	return err
}

func (g *execGuard) run() {
	defer g.wg.Done()
	fanotify.Read(g.f, 16<<10, func(m unix.FanotifyEventMetadata) bool {
		if m.Fd >= 0 {
			g.answer(int(m.Fd), int(m.Pid))
			unix.Close(int(m.Fd))
		}
		return true
	})
}

// answer must reply to every event: an unanswered permission event blocks
// the exec until the group is closed. Errors deny.
func (g *execGuard) answer(fd, pid int) {
	resp := uint32(unix.FAN_DENY)
	path, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err == nil {
		if hashes, ok := g.allowed[path]; ok {
			if len(hashes) == 0 {
				resp = unix.FAN_ALLOW
			} else if sum, err := g.hash(fd); err == nil && hashes[sum] {
				resp = unix.FAN_ALLOW
			}
		}
	}
	var r [8]byte
	binary.NativeEndian.PutUint32(r[0:], uint32(fd))
	binary.NativeEndian.PutUint32(r[4:], resp)
	if _, err := unix.Write(int(g.f.Fd()), r[:]); err != nil {
		return
	}
	if resp == unix.FAN_DENY && g.onDeny != nil {
		g.onDeny(Denial{What: "exec", Subject: path, PID: pid})
	}
}

// hash reads the executable through the event's own fd, so the content
// judged is the content executed; results are cached by inode and mtime.
func (g *execGuard) hash(fd int) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	key := [3]int64{int64(st.Ino), st.Mtim.Nano(), st.Size}
	if s, ok := g.hashes[key]; ok {
		return s, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(fdReaderAt(fd), 0, st.Size)); err != nil {
		return "", err
	}
	s := hex.EncodeToString(h.Sum(nil))
	if len(g.hashes) > 4096 {
		clear(g.hashes)
	}
	g.hashes[key] = s
	return s, nil
}

type fdReaderAt int

func (f fdReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := unix.Pread(int(f), b, off)
	if err == nil && n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return n, err
}

// connectGuard is the cgroup sock_addr program set attached to the
// container's cgroup v2 directory.
type connectGuard struct {
	objs  connectObjects
	links []link.Link
	rd    *ringbuf.Reader
	wg    sync.WaitGroup
}

func newConnectGuard(p *profile.Profile, c container.Container, onDeny func(Denial)) (*connectGuard, error) {
	if c.Cgroup == "" {
		return nil, fmt.Errorf("container %s has no cgroup v2 directory: cannot enforce peers", c.ID)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, err
	}
	g := &connectGuard{}
	if err := loadConnectObjects(&g.objs, nil); err != nil {
		return nil, fmt.Errorf("load connect enforcement programs: %w", err)
	}
	for _, pe := range p.Peers {
		if err := g.allow(pe); err != nil {
			g.Close()
			return nil, err
		}
	}
	for _, a := range []struct {
		prog *ebpf.Program
		typ  ebpf.AttachType
	}{
		{g.objs.VigilConnect4, ebpf.AttachCGroupInet4Connect},
		{g.objs.VigilConnect6, ebpf.AttachCGroupInet6Connect},
		{g.objs.VigilSendmsg4, ebpf.AttachCGroupUDP4Sendmsg},
		{g.objs.VigilSendmsg6, ebpf.AttachCGroupUDP6Sendmsg},
	} {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: c.Cgroup, Attach: a.typ, Program: a.prog})
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("attach %s to cgroup %s: %w", a.typ, c.Cgroup, err)
		}
		g.links = append(g.links, l)
	}
	var err error
	if g.rd, err = ringbuf.NewReader(g.objs.Denials); err != nil {
		g.Close()
		return nil, err
	}
	g.wg.Add(1)
	go g.report(onDeny)
	return g, nil
}

func (g *connectGuard) allow(pe profile.Peer) error {
	proto := map[string]uint16{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP}[pe.Proto]
	if proto == 0 {
		return nil // unix sockets are not mediated by these programs
	}
	ap, err := netip.ParseAddrPort(pe.Addr)
	if err != nil {
		return fmt.Errorf("peer %s: %w", pe, err)
	}
	one := uint8(1)
	a16 := ap.Addr().As16()
	if ap.Addr().Is4() {
		a4 := ap.Addr().As4()
		k := connectPeer4{Addr: binary.NativeEndian.Uint32(a4[:]), Port: ap.Port(), Proto: proto}
		if err := g.objs.Allow4.Put(k, one); err != nil {
			return fmt.Errorf("allow %s: %w", pe, err)
		}
		// An IPv6 socket may reach the same peer as ::ffff:a.b.c.d.
		a16 = netip.AddrFrom16(netip.AddrFrom4(a4).As16()).As16()
	}
	k6 := connectPeer6{Port: ap.Port(), Proto: proto}
	for i := range k6.Addr {
		k6.Addr[i] = binary.NativeEndian.Uint32(a16[i*4:])
	}
	if err := g.objs.Allow6.Put(k6, one); err != nil {
		return fmt.Errorf("allow %s: %w", pe, err)
	}
	return nil
}

func (g *connectGuard) report(onDeny func(Denial)) {
	defer g.wg.Done()
	for {
		rec, err := g.rd.Read()
		if err != nil {
			return
		}
		if len(rec.RawSample) < int(unsafe.Sizeof(connectDenial{})) || onDeny == nil {
			continue
		}
		d := (*connectDenial)(unsafe.Pointer(&rec.RawSample[0]))
		var b [16]byte
		for i, w := range d.Addr {
			binary.NativeEndian.PutUint32(b[i*4:], w)
		}
		addr := netip.AddrFrom16(b).Unmap()
		if d.Family == unix.AF_INET {
			addr = netip.AddrFrom4([4]byte(b[:4]))
		}
		proto := map[uint16]string{unix.IPPROTO_TCP: "tcp", unix.IPPROTO_UDP: "udp"}[d.Proto]
		onDeny(Denial{What: "connect", Subject: proto + ":" + netip.AddrPortFrom(addr, d.Port).String(), PID: int(d.Pid)})
	}
}

func (g *connectGuard) Close() error {
	for _, l := range g.links {
		l.Close()
	}
	if g.rd != nil {
		g.rd.Close()
	}
	g.wg.Wait()
	return g.objs.Close()
}
