//go:build linux

package sensor_test

import (
	"testing"

	"github.com/vigilsec/vigil/runtime/container"
	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/sensor"
)

// watchNew creates a container, its process not started yet (call Begin),
// and a sensor with opts (backend ebpf unless opts say) watching it, closed
// when the test ends. The test skips (fails under CI=true) when the sensor
// cannot load.
func watchNew(t testing.TB, cfg runctest.Config, opts sensor.Options) (*runctest.Container, container.Container, sensor.Sensor) {
	t.Helper()
	c := runctest.Create(t, cfg)
	info, err := container.Find(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Backend == "" {
		opts.Backend = "ebpf"
	}
	if opts.Backend == "light" {
		runctest.AuditDaemon(t)
	}
	s, err := sensor.New(opts)
	if err != nil {
		runctest.Skip(t, opts.Backend+" sensor: "+err.Error())
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Watch(sensor.Target{MntNS: info.MntNS, PID: info.InitPID}); err != nil {
		t.Fatal(err)
	}
	return c, info, s
}
