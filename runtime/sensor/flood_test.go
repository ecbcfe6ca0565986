//go:build linux

package sensor_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/sensor"
)

// A flood of events into a small ring buffer that nobody reads must cost
// the workload nothing (it finishes), lose events only by counting them,
// and leave a sensor that still closes promptly. The events are distinct
// (repeats would be folded in the kernel and never fill the ring): write
// attempts on distinct paths for ebpf (spray), writes to distinct new
// files for light, which sees changes (scatter).
func TestFloodDropsAreCounted(t *testing.T) {
	for _, tc := range []struct{ backend, mode string }{
		{"ebpf", "spray"},
		{"light", "scatter"},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			c, _, s := watchNew(t, runctest.Config{Args: []string{"/bin/sleep", "1000"}}, sensor.Options{Backend: tc.backend, RingBytes: 64 << 10, Queue: 16})
			c.Begin()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			const n = 20000
			if out, err := c.Exec(ctx, "/app/workload", tc.mode, strconv.Itoa(n)); err != nil {
				t.Fatalf("%s: %v: %s", tc.mode, err, out)
			}
			st := s.Stats()
			if st.Drops == 0 {
				t.Errorf("%d writes into a 64 KiB ring with a 16-event queue and no reader: want drops, got none (%+v)", n, st)
			}
			if st.Events > n+1 { // scatter's directory too
				t.Errorf("delivered %d events for %d writes", st.Events, n)
			}
			closed := make(chan struct{})
			go func() { s.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("Close hung after a flood")
			}
		})
	}
}
