//go:build linux

package sensor_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/sensor"
)

// BenchmarkSensor measures, with a real container:
//   - events/s: the sensor's throughput while a container opens a file for
//     writing in a tight loop (one event per open), with the drops counted;
//   - slowdown: the loop's run time with the sensor watching divided by
//     the run time without it;
//   - rss-MiB: this process's resident memory with the sensor running.
//
// go test -run XXX -bench Sensor ./runtime/sensor/ (as root)
func BenchmarkSensor(b *testing.B) {
	c := runctest.Start(b, runctest.Config{Args: []string{"/bin/sleep", "1000"}})
	info, err := container.Find(c.ID)
	if err != nil {
		b.Fatal(err)
	}
	const opens = 200000
	ctx := context.Background()
	run := func() time.Duration {
		t0 := time.Now()
		if out, err := c.Exec(ctx, "/app/workload", "flood", strconv.Itoa(opens)); err != nil {
			b.Fatalf("flood: %v: %s", err, out)
		}
		return time.Since(t0)
	}
	s, err := sensor.New(sensor.Options{Backend: "ebpf"})
	if err != nil {
		runctest.Skip(b, "eBPF sensor: "+err.Error())
	}
	defer s.Close()
	got := make(chan int)
	go func() {
		n := 0
		for range s.Events() {
			n++
		}
		got <- n
	}()
	b.ResetTimer()
	var without, with time.Duration
	for i := 0; i < b.N; i++ {
		without += run()
		if err := s.Watch(sensor.Target{MntNS: info.MntNS}); err != nil {
			b.Fatal(err)
		}
		with += run()
		s.Unwatch(sensor.Target{MntNS: info.MntNS})
	}
	b.StopTimer()
	time.Sleep(200 * time.Millisecond) // let the reader drain
	st := s.Stats()
	b.ReportMetric(float64(st.Events)/with.Seconds(), "events/s")
	b.ReportMetric(float64(st.Drops), "drops")
	b.ReportMetric(with.Seconds()/without.Seconds(), "slowdown")
	b.ReportMetric(rssMiB(), "rss-MiB")
	s.Close()
	<-got
}

func rssMiB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
