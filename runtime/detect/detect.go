// Package detect compares a container's runtime events with its learned
// profile and reports each deviation as an alert in Falco's JSON output
// format, so that tools that consume Falco (falcosidekick, SIEM pipelines)
// take Vigil's alerts unchanged.
package detect

import (
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/vigilsec/vigil/runtime/event"
	"github.com/vigilsec/vigil/runtime/profile"
)

// Rule names. They are stable: alert consumers route on them.
const (
	RuleNewExecutable      = "Unexpected executable in container"
	RuleModifiedExecutable = "Modified executable in container"
	RuleShell              = "Shell spawned in container"
	RuleWrite              = "Write outside learned paths"
	RuleListen             = "Unexpected listening port"
	RulePeer               = "Unexpected outbound connection"
	RuleSyscall            = "Unexpected syscall"
	RuleCapability         = "Unexpected capability"
)

// Falco priorities used by the rules.
const (
	Critical = "Critical"
	Error    = "Error"
	Warning  = "Warning"
	Notice   = "Notice"
)

// Alert is one Falco-format output line.
type Alert struct {
	Time         time.Time      `json:"time"`
	Rule         string         `json:"rule"`
	Priority     string         `json:"priority"`
	Output       string         `json:"output"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Hostname     string         `json:"hostname,omitempty"`
	OutputFields map[string]any `json:"output_fields"`

	// key identifies the incident: repeats of the same key are one alert.
	key string
	// n is how many occurrences the alert stands for: the event and the
	// repeats the sensor folded into it.
	n int
}

// Container names what a detector watches, for the alert fields.
type Container struct {
	ID    string
	Image string
}

// Detector judges the events of one container against its profile.
type Detector struct {
	prof     *profile.Profile
	c        Container
	hash     profile.Hasher
	hostname string
}

// New returns a detector. hash may be nil: executables are then judged by
// path only.
func New(p *profile.Profile, c Container, hash profile.Hasher) *Detector {
	h, _ := os.Hostname()
	return &Detector{prof: p, c: c, hash: hash, hostname: h}
}

// shells are the programs whose start is reported as a shell.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "ash": true, "zsh": true, "ksh": true,
	"mksh": true, "csh": true, "tcsh": true, "fish": true,
}

// isShell looks at the executed path and at argv[0], because busybox and
// multi-call binaries are told what to be by argv[0].
func isShell(ev event.Event) bool {
	if shells[path.Base(ev.Path)] {
		return true
	}
	return len(ev.Proc.Args) > 0 && shells[path.Base(ev.Proc.Args[0])]
}

// Check returns the alerts ev raises; nil when it matches the profile.
func (d *Detector) Check(ev event.Event) []Alert {
	switch {
	case ev.Kind == event.Exec:
		return d.checkExec(ev)
	case ev.Kind.Writes():
		dir := profile.WriteDirOf(ev)
		if dir == "" || d.prof.KnownWriteDir(dir) {
			return nil
		}
		return []Alert{d.alert(ev, RuleWrite, Error, dir,
			fmt.Sprintf("File %s outside learned paths (%s %s)", verb(ev.Kind), ev.Kind, ev.Path), nil)}
	case ev.Kind == event.Listen || ev.Kind == event.Bind && ev.Proto == "udp":
		if (ev.Proto != "tcp" && ev.Proto != "udp") || ev.Addr.Port() == 0 {
			return nil
		}
		port := profile.Port{Proto: ev.Proto, Port: ev.Addr.Port()}
		if d.prof.KnownListen(port) {
			return nil
		}
		return []Alert{d.alert(ev, RuleListen, Error, port.String(),
			fmt.Sprintf("Unexpected listening port %s", port), map[string]any{"fd.sport": port.Port, "fd.l4proto": port.Proto})}
	case ev.Kind == event.Connect:
		pe, ok := profile.PeerOf(ev)
		if !ok || d.prof.KnownPeer(pe) {
			return nil
		}
		return []Alert{d.alert(ev, RulePeer, Error, pe.String(),
			fmt.Sprintf("Unexpected outbound connection to %s", pe), map[string]any{"fd.name": pe.Addr, "fd.l4proto": pe.Proto})}
	}
	return nil
}

func verb(k event.Kind) string {
	switch k {
	case event.Open:
		return "written"
	case event.DirModify:
		return "created or removed"
	}
	return "changed"
}

func (d *Detector) checkExec(ev event.Event) []Alert {
	var sum string
	if d.hash != nil {
		_, sum, _ = d.hash(ev.Path)
	}
	known, same := d.prof.KnownExecutable(ev.Path, sum)
	extra := map[string]any{"proc.sha256": sum}
	switch {
	case known && same:
		return nil
	case known:
		return []Alert{d.alert(ev, RuleModifiedExecutable, Critical, ev.Path+" "+sum,
			fmt.Sprintf("Executable %s runs with content that differs from the profile (sha256 %s)", ev.Path, sum), extra)}
	case isShell(ev):
		return []Alert{d.alert(ev, RuleShell, Critical, ev.Path,
			fmt.Sprintf("Shell spawned in container (%s)", ev.Path), extra)}
	}
	return []Alert{d.alert(ev, RuleNewExecutable, Warning, ev.Path+"\x00"+applet(ev),
		fmt.Sprintf("Executable %s is not in the profile", ev.Path), extra)}
}

// applet is the name a process was started as. A multi-call binary (busybox)
// is one file but many programs: "nc -l" and "sleep 1" are different
// behaviours, so the applet is part of a new-executable incident's identity
// and one does not hide the other.
func applet(ev event.Event) string {
	if len(ev.Proc.Args) == 0 {
		return ""
	}
	return path.Base(ev.Proc.Args[0])
}

// CheckSyscalls returns an alert for each syscall name the profile lacks.
// The sensor reports syscall sets, not calls, so these alerts carry no
// process.
func (d *Detector) CheckSyscalls(names []string) []Alert {
	return d.checkSet(names, d.prof.KnownSyscall, RuleSyscall, Notice, "Syscall", "syscall.type")
}

// CheckCapabilities returns an alert for each capability (CAP_* name) the
// profile lacks. Like syscalls, capabilities are reported as a set, so
// these alerts carry no process.
func (d *Detector) CheckCapabilities(names []string) []Alert {
	return d.checkSet(names, d.prof.KnownCapability, RuleCapability, Warning, "Capability", "proc.cap")
}

// checkSet alerts on each of names that known rejects; what names them in
// the output, field in the output fields.
func (d *Detector) checkSet(names []string, known func(string) bool, rule, prio, what, field string) []Alert {
	var out []Alert
	for _, n := range names {
		if known(n) {
			continue
		}
		out = append(out, d.alert(event.Event{Time: time.Now()}, rule, prio, n,
			fmt.Sprintf("%s %s is not in the profile", what, n), map[string]any{field: n}))
	}
	return out
}

func (d *Detector) alert(ev event.Event, rule, prio, detail, msg string, extra map[string]any) Alert {
	f := map[string]any{
		"container.id":    d.c.ID,
		"container.image": d.c.Image,
		"evt.type":        ev.Kind.String(),
	}
	if ev.Kind == 0 {
		f["evt.type"] = "syscall"
		if rule == RuleCapability {
			f["evt.type"] = "capable"
		}
	}
	if ev.Proc.PID != 0 {
		f["proc.pid"] = ev.Proc.PID
		f["proc.ppid"] = ev.Proc.PPID
		f["proc.name"] = ev.Proc.Comm
		f["proc.exepath"] = ev.Proc.Exe
		f["proc.cmdline"] = strings.Join(ev.Proc.Args, " ")
		f["user.uid"] = ev.Proc.UID
	}
	if ev.Path != "" {
		f["fd.name"] = ev.Path
	}
	for k, v := range extra {
		f[k] = v
	}
	out := fmt.Sprintf("%s (container_id=%s image=%s", msg, d.c.ID, d.c.Image)
	if ev.Proc.PID != 0 {
		out += fmt.Sprintf(" proc=%s pid=%d cmdline=%q uid=%d", ev.Proc.Exe, ev.Proc.PID, strings.Join(ev.Proc.Args, " "), ev.Proc.UID)
	}
	out += ")"
	return Alert{
		Time: ev.Time.UTC(), Rule: rule, Priority: prio, Output: out, Source: "syscall",
		Tags: []string{"container", "vigil", "profile_deviation"}, Hostname: d.hostname, OutputFields: f,
		key: rule + "\x00" + d.c.ID + "\x00" + detail,
		n:   1 + int(ev.Repeats),
	}
}
