//go:build linux

package sensor_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/sensor"
)

// BenchmarkSensor measures, with a real container:
//   - slowdown: how much more CPU time a syscall-heavy loop in the
//     container uses with a sensor attached and watching the container than
//     with no sensor attached at all; the sensor's kernel side runs in the
//     loop's syscalls, so its cost is in the loop's CPU time. Three loops:
//     open one file for writing and close it (flood, 200k times), the
//     worst case for sys_enter and fanotify since every syscall is one they
//     report; 200k 64-byte pwrites through one open file (append); and
//     create, write and remove one file (churn, 50k times), the worst case
//     for light's file programs since every iteration changes files.
//     slowdown, slowdown-append and slowdown-churn are for the eBPF backend
//     (sys_enter), slowdown-light* for the light one (file changes from the
//     timestamp tracepoints, sockets from cgroup hooks), and
//     slowdown-light-fanotify for light where the kernel lacks those
//     tracepoints (writes from fanotify). Rounds alternate no sensor and a
//     sensor so that load from other processes hits both alike; each figure
//     is the median of the rounds' ratios (elapsed-time ratios, which on a
//     shared machine mostly measure waiting for a CPU, are logged). The loop
//     times itself inside the container so that runc exec's start-up does
//     not dilute the ratio;
//   - events/s: the sensor's throughput while the container makes a new
//     event as fast as it can (write-opens of distinct paths): events
//     delivered on the channel divided by the time from the first event (its
//     kernel timestamp) to the delivery of the last, with the ring buffer's
//     drops counted (events/s means nothing unless drops is 0). When the
//     pipeline keeps up, this is the rate the container produced events;
//     produce-ns/event is the container's CPU time per event, and
//     consume-ns/event this process's (the sensor's user-space pipeline and
//     the counting reader), the load-independent measure of what the
//     pipeline can sustain: 1e9/consume-ns/event events/s per CPU;
//   - rss-MiB: this process's resident memory with the sensor running.
//
// go test -run XXX -bench Sensor ./runtime/sensor/ (as root)
func BenchmarkSensor(b *testing.B) {
	runctest.AuditDaemon(b)
	c := runctest.Start(b, runctest.Config{Args: []string{"/bin/sleep", "1000"}})
	info, err := container.Find(c.ID)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// loop returns the elapsed and CPU time of a workload loop.
	loop := func(mode string, n int) (wall, cpu float64) {
		out, err := c.Exec(ctx, "/app/workload", mode, strconv.Itoa(n))
		if err != nil {
			b.Fatalf("%s: %v: %s", mode, err, out)
		}
		if _, err := fmt.Sscanf(out, "ns=%g cpu=%g", &wall, &cpu); err != nil || cpu == 0 {
			b.Fatalf("%s: no times in %q", mode, out)
		}
		return wall, cpu
	}
	// watch starts a sensor on the container and a reader that counts
	// events and notes when the first happened and the last arrived.
	watch := func(opts sensor.Options) (s sensor.Sensor, n, first, last *atomic.Int64) {
		s, err := sensor.New(opts)
		if err != nil {
			runctest.Skip(b, opts.Backend+" sensor: "+err.Error())
		}
		if err := s.Watch(sensor.Target{MntNS: info.MntNS, PID: info.InitPID}); err != nil {
			b.Fatal(err)
		}
		n, first, last = new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)
		go func() {
			for e := range s.Events() {
				if n.Add(1) == 1 {
					first.Store(e.Time.UnixNano())
				}
				last.Store(time.Now().UnixNano())
			}
		}()
		return s, n, first, last
	}
	const (
		opens  = 200000
		churns = 50000
		sprays = 300000
		rounds = 5
	)
	// The conditions, by the metric they report: a sensor and a loop.
	type condition struct {
		metric string
		opts   sensor.Options
		loop   string
		n      int
		cpu    []float64 // ratios per round
		wall   []float64
	}
	ebpf, light := sensor.Options{Backend: "ebpf"}, sensor.Options{Backend: "light"}
	lightFanotify := sensor.Options{Backend: "light", FanotifyWrites: true}
	conditions := []*condition{
		{metric: "slowdown", opts: ebpf, loop: "flood", n: opens},
		{metric: "slowdown-append", opts: ebpf, loop: "append", n: opens},
		{metric: "slowdown-churn", opts: ebpf, loop: "churn", n: churns},
		{metric: "slowdown-light", opts: light, loop: "flood", n: opens},
		{metric: "slowdown-light-append", opts: light, loop: "append", n: opens},
		{metric: "slowdown-light-churn", opts: light, loop: "churn", n: churns},
		{metric: "slowdown-light-fanotify", opts: lightFanotify, loop: "flood", n: opens},
	}
	var events, drops, spent, produce, consume float64
	rss := 0.0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			for _, c := range conditions {
				wall0, cpu0 := loop(c.loop, c.n)
				s, _, _, _ := watch(c.opts)
				wall1, cpu1 := loop(c.loop, c.n)
				s.Close()
				c.cpu = append(c.cpu, cpu1/cpu0)
				c.wall = append(c.wall, wall1/wall0)
			}
		}

		s, n, first, last := watch(ebpf)
		self := selfCPU(b)
		_, cpu := loop("spray", sprays)
		// Wait until the reader has been idle for a while: all delivered.
		for seen := int64(-1); seen != n.Load(); {
			seen = n.Load()
			time.Sleep(300 * time.Millisecond)
		}
		consume += float64(selfCPU(b) - self)
		st := s.Stats()
		events += float64(n.Load())
		spent += time.Duration(last.Load() - first.Load()).Seconds()
		drops += float64(st.Drops)
		produce += cpu
		rss = max(rss, rssMiB())
		s.Close()
	}
	b.StopTimer()
	for _, c := range conditions {
		b.ReportMetric(median(c.cpu), c.metric)
	}
	b.ReportMetric(events/spent, "events/s")
	b.ReportMetric(produce/float64(b.N*sprays), "produce-ns/event")
	b.ReportMetric(consume/events, "consume-ns/event")
	b.ReportMetric(drops, "drops")
	b.ReportMetric(rss, "rss-MiB")
	for _, c := range conditions {
		b.Logf("%s (%s, %s): CPU-time ratio per round (sorted): %.3f", c.metric, c.opts.Backend, c.loop, c.cpu)
		b.Logf("%s (%s, %s): elapsed-time ratio per round: %.3f", c.metric, c.opts.Backend, c.loop, c.wall)
	}
}

// selfCPU is the CPU time this process has used (runc exec's children are
// not in it).
func selfCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median sorts xs and returns its middle.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
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
