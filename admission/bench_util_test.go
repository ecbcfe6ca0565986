package admission

import (
	"slices"
	"testing"
	"time"
)

func reportPercentiles(b *testing.B, all []time.Duration) {
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	at := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	b.ReportMetric(float64(at(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(at(0.99).Microseconds())/1000, "p99-ms")
}
