//go:build linux

package container

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStartTime(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     uint64
		err      bool
	}{
		{"plain", "1 (sh) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 63044 1 2", 63044, false},
		{"comm with spaces and parens", "7 (a) b (c) R 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 99 1 2", 99, false},
		{"truncated", "7 (x) R 0 1", 0, true},
		{"no comm", "7 x R", 0, true},
		{"not a number", "1 (sh) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 abc", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStartTime([]byte(tc.in))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzParseStartTime(f *testing.F) {
	f.Add([]byte("1 (sh) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 63044 1 2"))
	f.Add([]byte("7 (a) b) R"))
	f.Fuzz(func(t *testing.T, b []byte) { parseStartTime(b) })
}

// writeState writes a runc state.json for this test process.
func writeState(t *testing.T, root, id string, start uint64) {
	t.Helper()
	st := map[string]any{
		"id": id, "init_process_pid": os.Getpid(), "init_process_start": start,
		"cgroup_paths": map[string]string{"": "/sys/fs/cgroup/unified/x"},
		"config":       map[string]any{"rootfs": "/nonexistent", "labels": []string{"bundle=/nonexistent", "org.opencontainers.image.ref.name=img:1"}},
	}
	b, _ := json.Marshal(st)
	if err := os.MkdirAll(filepath.Join(root, id), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, id, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The state directory names this process as a container's init: with the
// right start time it is that container; with another, the PID was reused
// and the container must not be reported.
func TestPIDReuse(t *testing.T) {
	self, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeState(t, root, "alive", self)
	writeState(t, root, "reused", self+1)
	if err := os.MkdirAll(filepath.Join(root, "torn"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "torn", "state.json"), []byte(`{"id": "torn", "init_`), 0o600)

	cs, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != "alive" {
		t.Fatalf("List = %+v, want only the container whose init start time matches", cs)
	}
	c := cs[0]
	ns, _ := MntNS(os.Getpid())
	if c.MntNS != ns || c.Image != "img:1" || c.Cgroup != "/sys/fs/cgroup/unified/x" || c.Bundle != "/nonexistent" {
		t.Errorf("container fields: %+v", c)
	}
	c.StartTime++
	if err := c.Alive(); !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "reused") {
		t.Errorf("Alive after PID reuse = %v, want ErrNotRunning naming reuse", err)
	}
	if _, err := Find("reused", root); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(reused) = %v, want ErrNotFound", err)
	}
	// Only the torn file: its parse error is reported.
	root2 := t.TempDir()
	os.MkdirAll(filepath.Join(root2, "torn"), 0o700)
	os.WriteFile(filepath.Join(root2, "torn", "state.json"), []byte(`{"id": "torn", "init_`), 0o600)
	if _, err := List(root2); err == nil || !strings.Contains(err.Error(), "state.json") {
		t.Errorf("List of a torn state file = %v, want an error naming it", err)
	}
}
