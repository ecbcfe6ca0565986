//go:build linux

package container

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Watch reports the containers there at start, then each new one as its
// runtime writes the state the way runc does (a new directory, state.json
// renamed into it) — through inotify: the rescan interval is far longer
// than the test. A container re-created under the same id is new.
func TestWatch(t *testing.T) {
	self, err := startTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeState(t, root, "before", self)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	found := make(chan Container, 16)
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, time.Hour, func(c Container) { found <- c }, root) }()

	next := func(what string) Container {
		t.Helper()
		select {
		case c := <-found:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("Watch did not report %s", what)
		}
		return Container{}
	}
	if c := next("the running container"); c.ID != "before" {
		t.Fatalf("first report: %s, want before", c.ID)
	}
	create := func(id string, start uint64) {
		t.Helper()
		dir := filepath.Join(root, id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"id": id, "init_process_pid": os.Getpid(), "init_process_start": start})
		tmp := filepath.Join(dir, "state-tmp")
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "state.json")); err != nil {
			t.Fatal(err)
		}
	}
	// Let Watch add its watches before the runtime acts.
	time.Sleep(100 * time.Millisecond)
	create("after", self)
	if c := next("a container created after it started"); c.ID != "after" || c.MntNS == 0 {
		t.Fatalf("second report: %+v, want after with its mount namespace", c)
	}
	select {
	case c := <-found:
		t.Fatalf("reported again: %+v", c)
	case <-time.After(300 * time.Millisecond):
	}
	// Gone (its init's start time no longer matches), then re-created.
	create("after", self+1)
	time.Sleep(300 * time.Millisecond)
	create("after", self)
	if c := next("a container re-created under the same id"); c.ID != "after" {
		t.Fatalf("third report: %+v", c)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Watch returned %v, want context.Canceled", err)
	}
}
