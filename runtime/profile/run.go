package profile

import (
	"context"
	"time"

	"github.com/vigilsec/vigil/runtime/event"
)

// Why Learn stopped.
const (
	StopDuration    = "duration elapsed"
	StopQuiet       = "profile stopped changing"
	StopExited      = "container exited"
	StopInterrupted = "interrupted"
	StopSourceEnded = "sensor stopped"
)

// LearnOptions configure Learn.
type LearnOptions struct {
	Source  event.Source
	MntNS   uint32
	Learner *Learner
	// For bounds the learning time.
	For time.Duration
	// Quiet stops learning once the profile has not changed for this long;
	// 0 disables it.
	Quiet time.Duration
	// Alive reports whether the container still runs; nil means always.
	Alive func() error
	// Poll is how often syscalls, capabilities and liveness are checked;
	// default 1s.
	Poll time.Duration
}

// Learn feeds the events of one mount namespace to a learner until the time
// is up, the profile stops changing, the container exits or ctx ends, and
// says which. The profile learned so far is always returned: a container
// that exits early still leaves a (partial) profile.
func Learn(ctx context.Context, o LearnOptions) (*Profile, string) {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	deadline := time.NewTimer(o.For)
	defer deadline.Stop()
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	l := o.Learner
	// sets polls what the sensor reports as sets rather than events.
	sets := func() {
		if nrs, err := o.Source.Syscalls(o.MntNS); err == nil {
			l.AddSyscalls(nrs)
		}
		if nrs, err := o.Source.Capabilities(o.MntNS); err == nil {
			l.AddCapabilities(nrs)
		}
	}
	reason := ""
	for reason == "" {
		select {
		case ev, ok := <-o.Source.Events():
			if !ok {
				reason = StopSourceEnded
			} else if ev.MntNS == o.MntNS {
				l.Observe(ev)
			}
		case <-tick.C:
			sets()
			if o.Alive != nil && o.Alive() != nil {
				reason = StopExited
			} else if o.Quiet > 0 && time.Since(l.LastChange()) >= o.Quiet {
				reason = StopQuiet
			}
		case <-deadline.C:
			reason = StopDuration
		case <-ctx.Done():
			reason = StopInterrupted
		}
	}
	// Events already queued belong to the window; take them, but only those
	// queued now, so that a flood cannot keep Learn from returning.
	for n := len(o.Source.Events()); n > 0; n-- {
		if ev, ok := <-o.Source.Events(); ok && ev.MntNS == o.MntNS {
			l.Observe(ev)
		}
	}
	sets()
	return l.Profile(), reason
}
