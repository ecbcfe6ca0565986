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
	Limiter *Limiter
	Sink    Sink
	// Table names syscall numbers; nil disables syscall detection.
	Table *profile.SyscallTable
	// Poll is how often syscall sets, liveness and incident expiry are
	// checked; default 1s.
	Poll time.Duration
	// Logf receives operational messages (a container exited, a send failed).
	Logf func(format string, args ...any)
}

// Run judges events until ctx ends, every target has exited or the source
// closes. Pending incident summaries are sent before it returns.
func Run(ctx context.Context, o RunOptions) error {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	targets := map[uint32]*Target{}
	reported := map[uint32]map[string]bool{} // syscalls alerted once per container
	for i := range o.Targets {
		targets[o.Targets[i].MntNS] = &o.Targets[i]
		reported[o.Targets[i].MntNS] = map[string]bool{}
	}
	send := func(as []Alert) {
		for _, a := range as {
			if err := o.Sink.Send(a); err != nil {
				o.Logf("send alert: %v", err)
			}
		}
	}
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	defer func() { send(o.Limiter.Expire(time.Now(), true)) }()
	for len(targets) > 0 {
		select {
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
						var fresh []string
						for _, nr := range nrs {
							if n := o.Table.NameOrNumber(nr); !reported[ns][n] {
								reported[ns][n] = true
								fresh = append(fresh, n)
							}
						}
						for _, a := range t.Detector.CheckSyscalls(fresh) {
							send(o.Limiter.Add(a, now))
						}
					}
				}
				if t.Alive != nil {
					if err := t.Alive(); err != nil {
						o.Logf("stop watching: %v", err)
						delete(targets, ns)
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
