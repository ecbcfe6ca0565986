//go:build linux

package sensor_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/runtime/internal/runctest"
	"github.com/vigilsec/vigil/runtime/sensor"
)

// The eBPF sensor records the capabilities the kernel grants a container's
// processes (tp_btf/cap_capable, Linux >= 6.14): chown of a file of another
// user needs CAP_CHOWN (added to the container's set here; runc's default
// lacks it), binding a port below 1024 needs CAP_NET_BIND_SERVICE (in
// runc's default). A denied check is not a use: mount needs CAP_SYS_ADMIN,
// which the container lacks.
func TestSensorCapabilities(t *testing.T) {
	script := "sleep 1; touch /tmp/f; chown 1000 /tmp/f; " +
		"nc -l -p 80 & sleep 1; kill $!; " +
		"mount -t tmpfs none /mnt; echo $? > /tmp/mount.status; " +
		"exec sleep 1000"
	c, info, s := watchNew(t, runctest.Config{
		Args:   []string{"/bin/sh", "-c", script},
		Mutate: runctest.AddCapabilities("CAP_CHOWN"),
	}, sensor.Options{Logf: t.Logf})
	if _, err := s.Capabilities(info.MntNS); errors.Is(err, sensor.ErrNotSupported) {
		runctest.Skip(t, err.Error())
	}
	go func() {
		for range s.Events() {
		}
	}()
	c.Begin()
	// The script is done when it has written the mount's exit status.
	status := filepath.Join(c.Rootfs, "tmp/mount.status")
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(status)
		if err == nil && len(b) > 0 {
			if strings.TrimSpace(string(b)) == "0" {
				t.Fatal("mount worked in the container: it was meant to be denied")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the script did not finish; container log: %s", c.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	caps, err := s.Capabilities(info.MntNS)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capabilities granted: %v", caps)
	for _, want := range []int{unix.CAP_CHOWN, unix.CAP_NET_BIND_SERVICE} {
		if !slices.Contains(caps, want) {
			t.Errorf("capabilities %v lack %d", caps, want)
		}
	}
	if slices.Contains(caps, unix.CAP_SYS_ADMIN) {
		t.Errorf("CAP_SYS_ADMIN was denied (mount), but recorded: %v", caps)
	}
}
