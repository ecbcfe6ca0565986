package detect

import (
	"context"
	"time"

	"github.com/vigilsec/vigil/runtime/event"
	"github.com/vigilsec/vigil/runtime/profile"
)

// Target is a watched container.
type Target struct {
	MntNS    uint32
	Detector *Detector
	// Alive reports whether the container still runs; nil means always.
	Alive func() error
}

// RunOptions configure Run.
type RunOptions struct {
	Source  event.Source
	Targets []Target
	// Add delivers containers to watch from then on, such as those started
	// after Run began; nil when the targets are fixed. While Add is open,
	// Run keeps going with no target left, waiting for the next.
	Add <-chan Target
	// Gone is called with each target dropped because its container
	// exited, so that the caller can stop the sensor watching it; nil
	// means nothing to do.
	Gone    func(Target)
	Limiter *Limiter
	Sink    Sink
	// Table names syscall numbers; nil disables syscall detection.
	Table *profile.SyscallTable
	// Poll is how often syscall and capability sets, liveness and incident
	// expiry are checked; default 1s.
	Poll time.Duration
	// Logf receives operational messages (a container exited, a send failed).
	Logf func(format string, args ...any)
}

// watched is a target and the sets already judged for it.
type watched struct {
	Target
	syscalls, caps map[string]bool // names already reported, once each
}

// Run judges events until ctx ends, the source closes, or every target
// has exited and no more can be added. Pending incident summaries are sent
// before it returns.
func Run(ctx context.Context, o RunOptions) error {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	targets := map[uint32]*watched{}
	add := func(t Target) {
		targets[t.MntNS] = &watched{Target: t, syscalls: map[string]bool{}, caps: map[string]bool{}}
	}
	for _, t := range o.Targets {
		add(t)
	}
	send := func(as []Alert) {
		for _, a := range as {
			if err := o.Sink.Send(a); err != nil {
				o.Logf("send alert: %v", err)
			}
		}
	}
	// fresh returns the names of nrs not reported for t yet.
	fresh := func(seen map[string]bool, nrs []int, name func(int) string) []string {
		var out []string
		for _, nr := range nrs {
			if n := name(nr); !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		return out
	}
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	defer func() { send(o.Limiter.Expire(time.Now(), true)) }()
	addc := o.Add
	for len(targets) > 0 || addc != nil {
		select {
		case t, ok := <-addc:
			if !ok {
				addc = nil
				continue
			}
			add(t)
		case ev, ok := <-o.Source.Events():
			if !ok {
				return nil
			}
			if t := targets[ev.MntNS]; t != nil {
				for _, a := range t.Detector.Check(ev) {
					send(o.Limiter.Add(a, time.Now()))
				}
			}
		case <-tick.C:
			now := time.Now()
			for ns, t := range targets {
				if o.Table != nil {
					if nrs, err := o.Source.Syscalls(ns); err == nil {
						for _, a := range t.Detector.CheckSyscalls(fresh(t.syscalls, nrs, o.Table.NameOrNumber)) {
							send(o.Limiter.Add(a, now))
						}
					}
				}
				if nrs, err := o.Source.Capabilities(ns); err == nil {
					for _, a := range t.Detector.CheckCapabilities(fresh(t.caps, nrs, profile.CapabilityName)) {
						send(o.Limiter.Add(a, now))
					}
				}
				if t.Alive != nil {
					if err := t.Alive(); err != nil {
						o.Logf("stop watching: %v", err)
						delete(targets, ns)
						if o.Gone != nil {
							o.Gone(t.Target)
						}
					}
				}
			}
			send(o.Limiter.Expire(now, false))
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}
