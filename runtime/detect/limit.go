package detect

import (
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Limiter turns a stream of alerts into incidents. The first alert of an
// incident (same rule, container and subject) passes at once; repeats while
// the incident stays active (each within Window of the previous) are only
// counted, and when it ends one follow-up alert carries the count. Repeats
// the sensor folded into an event (event.Event.Repeats) count too. On top,
// a token bucket per rule and container bounds how many incidents are
// reported; what it holds back is counted in the next alert that passes.
// Memory is bounded by MaxIncidents.
type Limiter struct {
	window     time.Duration
	rate       rate.Limit
	burst      int
	max        int
	incidents  map[string]*incident
	buckets    map[string]*rate.Limiter
	suppressed map[string]int
}

type incident struct {
	first Alert
	last  time.Time
	count int
}

// LimitOptions configure NewLimiter. Zero values take the defaults.
type LimitOptions struct {
	Window       time.Duration // default 1m
	PerSecond    float64       // token refill per rule+container; default 1
	Burst        int           // default 10
	MaxIncidents int           // default 10000
}

// NewLimiter returns a Limiter.
func NewLimiter(o LimitOptions) *Limiter {
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.PerSecond <= 0 {
		o.PerSecond = 1
	}
	if o.Burst <= 0 {
		o.Burst = 10
	}
	if o.MaxIncidents <= 0 {
		o.MaxIncidents = 10000
	}
	return &Limiter{
		window: o.Window, rate: rate.Limit(o.PerSecond), burst: o.Burst, max: o.MaxIncidents,
		incidents: map[string]*incident{}, buckets: map[string]*rate.Limiter{}, suppressed: map[string]int{},
	}
}

// Add offers a at time now and returns what to send: a itself when it starts
// an incident, plus summaries of incidents that ended.
func (l *Limiter) Add(a Alert, now time.Time) []Alert {
	out := l.Expire(now, false)
	if in, ok := l.incidents[a.key]; ok && now.Sub(in.last) < l.window {
		in.count += a.n
		in.last = now
		return out
	}
	bucketKey := a.Rule + "\x00" + fmt.Sprint(a.OutputFields["container.id"])
	b, ok := l.buckets[bucketKey]
	if !ok {
		if len(l.buckets) >= l.max {
			clear(l.buckets)
		}
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[bucketKey] = b
	}
	if !b.AllowN(now, 1) {
		l.suppressed[bucketKey]++
		return out
	}
	if len(l.incidents) >= l.max {
		out = append(out, l.Expire(now, true)...)
	}
	if n := l.suppressed[bucketKey]; n > 0 {
		a.OutputFields["vigil.suppressed"] = n
		a.Output += fmt.Sprintf(" [%d similar alerts suppressed by rate limit]", n)
		delete(l.suppressed, bucketKey)
	}
	a.OutputFields["vigil.count"] = a.n
	l.incidents[a.key] = &incident{first: a, last: now, count: a.n}
	return append(out, a)
}

// Expire ends incidents idle for a window (all of them when all is set, as
// at shutdown) and returns a follow-up alert for each that repeated.
func (l *Limiter) Expire(now time.Time, all bool) []Alert {
	var out []Alert
	for k, in := range l.incidents {
		if !all && now.Sub(in.last) < l.window {
			continue
		}
		delete(l.incidents, k)
		if in.count > in.first.n { // more than the first alert reported
			a := in.first
			f := make(map[string]any, len(a.OutputFields))
			for k, v := range a.OutputFields {
				f[k] = v
			}
			f["vigil.count"] = in.count
			a.OutputFields = f
			a.Time = in.last.UTC()
			a.Output += fmt.Sprintf(" [incident repeated: %d occurrences since %s]", in.count, in.first.Time.Format(time.RFC3339))
			out = append(out, a)
		}
	}
	return out
}
