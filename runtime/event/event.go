// Package event defines what Vigil's runtime sensors report about container
// processes, independent of how it was observed (eBPF, fanotify, /proc).
// Profiles are learned from events and detectors judge them.
package event

import (
	"net/netip"
	"time"
)

// Kind says what a process did.
type Kind uint8

// The kinds of events. The numbering matches the sensor's BPF program.
const (
	Exec    Kind = iota + 1 // a program was executed
	Open                    // a file was opened for writing, created or truncated
	Unlink                  // a file or directory was removed
	Chmod                   // a file's mode was changed
	Rename                  // a file was renamed; Path is the destination
	Mkdir                   // a directory was created
	Connect                 // a socket connected to Peer
	Bind                    // a socket was bound to Local
	Listen                  // a socket listens on Local
	Accept                  // a connection was accepted on Local
	// Modify: the file at Path changed (content, attributes or links:
	// written, truncated, chmod, chown, renamed or removed). The light
	// sensor reports this instead of the kinds above it can't tell apart.
	Modify
	// DirModify: entries of the directory at Path were created, removed or
	// renamed (or its own attributes changed).
	DirModify
)

var kindNames = [...]string{
	Exec: "exec", Open: "open", Unlink: "unlink", Chmod: "chmod", Rename: "rename",
	Mkdir: "mkdir", Connect: "connect", Bind: "bind", Listen: "listen", Accept: "accept",
	Modify: "modify", DirModify: "dir-modify",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Writes reports whether the kind changes the file system at Path.
func (k Kind) Writes() bool {
	switch k {
	case Open, Unlink, Chmod, Rename, Mkdir, Modify, DirModify:
		return true
	}
	return false
}

// Process identifies the process that caused an event.
type Process struct {
	PID  uint32 // thread group id, in the host's PID namespace
	PPID uint32
	UID  uint32 // host view
	Comm string
	// Exe is the path of the executable (for Exec events, the path that was
	// executed). It may be empty when the sensor cannot tell.
	Exe  string
	Args []string // argv, possibly truncated; only for Exec events
}

// Event is one observation. Fields that do not apply to a Kind are zero.
type Event struct {
	Time  time.Time
	Kind  Kind
	MntNS uint32 // mount namespace inode: the key that maps events to containers
	Proc  Process
	// Syscall is the syscall number that caused the event, -1 for exec.
	Syscall int
	// Path is the executed file, the file written, or the AF_UNIX socket
	// path; as seen inside the container.
	Path string
	// Interp is the interpreter of an executed script or dynamic binary when
	// the sensor can see it.
	Interp string
	Flags  uint32 // open(2) flags or chmod(2) mode
	Proto  string // "tcp", "udp", "unix" or "" when unknown
	// Addr is the peer of Connect, the local address of Bind, Listen and
	// Accept.
	Addr netip.AddrPort
	// Repeats is how many more times the same process executable did the
	// same thing (kind, path or address) since it was last reported: a
	// sensor that deduplicates folds repeats into the next report instead
	// of delivering each.
	Repeats uint32
}

// Peer returns the network endpoint of a socket event in the form the
// profile stores it: "ip:port" or "unix:/path".
func (e *Event) Peer() string {
	if e.Proto == "unix" {
		return "unix:" + e.Path
	}
	return e.Addr.String()
}

// Source is what the learning and detection loops need from a sensor.
type Source interface {
	// Events delivers events until the source is closed.
	Events() <-chan Event
	// Syscalls returns the syscall numbers seen in a mount namespace.
	Syscalls(mntns uint32) ([]int, error)
	// Capabilities returns the capability numbers (CAP_*) granted in a
	// mount namespace.
	Capabilities(mntns uint32) ([]int, error)
}
