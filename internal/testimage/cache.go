package testimage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// CacheDir is where built artefacts live: $VIGIL_TEST_CACHE, or
// /tmp/vigil-testcache when unset.
func CacheDir() string {
	if d := os.Getenv("VIGIL_TEST_CACHE"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "vigil-testcache")
}

// Require skips the test when one of what is missing: a program on PATH, or
// "root" for an effective user id of 0. With CI=true it fails instead, so a CI
// image that lacks a tool cannot turn a test suite green by skipping it.
func Require(t testing.TB, what ...string) {
	t.Helper()
	var missing []string
	for _, w := range what {
		if w == "root" {
			if os.Geteuid() != 0 {
				missing = append(missing, "root (run as uid 0)")
			}
			continue
		}
		if _, err := exec.LookPath(w); err != nil {
			missing = append(missing, w+" (not on PATH)")
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "test needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
	}
	t.Skipf("%s; skipping (with CI=true this fails)", msg)
}

// key hashes the inputs of a build; parts are length-prefixed so that
// ("ab","c") and ("a","bc") differ.
func key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cached returns the directory CacheDir()/<kind>-<hash of inputs>, calling
// build to fill it the first time. build writes into a fresh temporary
// directory that is renamed into place only when it succeeds, so a build that
// was interrupted (killed test, power loss) leaves at most a stale temporary
// directory, which the next build removes; a cache directory is never partial.
// An exclusive flock on a side file serialises builds of the same entry across
// goroutines and test processes.
func cached(t testing.TB, kind string, inputs []string, build func(dir string) error) string {
	t.Helper()
	root := CacheDir()
	name := kind + "-" + key(inputs...)
	final := filepath.Join(root, name)
	if _, err := os.Stat(final); err == nil {
		return final
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatalf("test cache: %v", err)
	}
	lock, err := os.OpenFile(final+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("test cache: %v", err)
	}
	defer lock.Close()
	if err := flock(lock); err != nil {
		t.Fatalf("test cache: lock %s: %v", lock.Name(), err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN) // closing the file unlocks too

	if _, err := os.Stat(final); err == nil {
		return final // built by someone else while we waited
	}
	// Whatever matches our temporary pattern now is left from a build
	// that died: we hold the lock, so nobody is writing it.
	stale, _ := filepath.Glob(final + ".tmp-*")
	for _, s := range stale {
		if err := removeAll(s); err != nil {
			t.Fatalf("test cache: remove stale %s: %v", s, err)
		}
	}
	tmp, err := os.MkdirTemp(root, name+".tmp-")
	if err != nil {
		t.Fatalf("test cache: %v", err)
	}
	if err := build(tmp); err != nil {
		removeAll(tmp) // best effort: the next build removes it
		t.Fatalf("build %s (%s): %v", kind, strings.Join(inputs, " "), err)
	}
	if err := os.Rename(tmp, final); err != nil {
		removeAll(tmp)
		t.Fatalf("test cache: %v", err)
	}
	return final
}

func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// removeAll is os.RemoveAll made to cope with what a root filesystem build
// leaves: directories without write permission.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
