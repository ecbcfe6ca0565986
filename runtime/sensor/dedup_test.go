//go:build linux

package sensor_test

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"testing"
	"time"

	"github.com/vigilsec/vigil/runtime/event"
	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/sensor"
)

// The eBPF sensor folds repeats of an event in the kernel: a loop that
// writes one file a thousand times is one event, the repeats are counted
// and handed over with the next report after the window, and the same
// relative name in two directories is two events.
func TestDedupFoldsRepeats(t *testing.T) {
	const window = 2 * time.Second
	c, _, s := watchNew(t, runctest.Config{Args: []string{"/bin/sleep", "1000"}}, sensor.Options{DedupWindow: window})
	c.Begin()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exec := func(args ...string) string {
		t.Helper()
		out, err := c.Exec(ctx, args...)
		if err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		return out
	}
	// collect returns the Open events delivered until the reader has been
	// idle for longer than the sensor's poll interval.
	collect := func() []event.Event {
		var got []event.Event
		for {
			select {
			case e := <-s.Events():
				if e.Kind == event.Open {
					got = append(got, e)
				}
			case <-time.After(300 * time.Millisecond):
				return got
			case <-ctx.Done():
				t.Fatal("timed out reading events")
			}
		}
	}
	floods := func(evs []event.Event) []event.Event {
		var out []event.Event
		for _, e := range evs {
			if e.Path == "/data/flood" {
				out = append(out, e)
			}
		}
		return out
	}

	const n = 1000
	before := s.Stats().Suppressed
	var took, cpu time.Duration
	if _, err := fmt.Sscanf(exec("/app/workload", "flood", strconv.Itoa(n)), "ns=%d cpu=%d", &took, &cpu); err != nil {
		t.Fatal(err)
	}
	first := floods(collect())
	if took > window {
		t.Skipf("the flood took %v, longer than the %v window, on this machine", took, window)
	}
	if len(first) != 1 || first[0].Repeats != 0 {
		t.Fatalf("%d writes of /data/flood within one window: want one event without repeats, got %+v", n, first)
	}
	if sup := s.Stats().Suppressed - before; sup < n-1 {
		t.Errorf("suppressed %d repeats, want at least %d", sup, n-1)
	}

	time.Sleep(window)
	exec("/app/workload", "flood", "1")
	next := floods(collect())
	if len(next) != 1 || next[0].Repeats != n-1 {
		t.Errorf("the first write after the window should carry the %d repeats before it: got %+v", n-1, next)
	}

	// busybox touch runs inside the shell (a "no fork" applet): one
	// process, one executable, the same relative name, two directories.
	exec("/bin/sh", "-c", "cd /data && touch x && cd /tmp && touch x")
	var xs []string
	for _, e := range collect() {
		if path.Base(e.Path) == "x" {
			xs = append(xs, e.Path)
		}
	}
	if len(xs) != 2 {
		t.Errorf("touch x in /data and in /tmp: want two events, got %q", xs)
	}
}
