package layers

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-containerregistry/pkg/compression"
)

func TestFSConformance(t *testing.T) {
	l0 := mkTar(t, dir("etc/"), file("etc/os-release", "ID=debian\n"), file("usr/bin/tool", "#!/bin/sh\n"),
		symlink("bin", "usr/bin"), file("var/lib/dpkg/status", "Package: x\n"), file("empty", ""))
	l1 := mkTar(t, file("etc/.wh.os-release", ""), file("etc/hostname", "h\n"), file("var/lib/dpkg/status", "Package: y\n"))
	fsys := mustWalk(t, Options{Want: wantAll}, imageBlobs(t, compression.GZip, l0, l1)...)
	if err := fstest.TestFS(fsys, "etc/hostname", "usr/bin/tool", "var/lib/dpkg/status", "empty"); err != nil {
		t.Error(err)
	}
	if err := fstest.TestFS(fsys.At(0), "etc/os-release", "usr/bin/tool"); err != nil {
		t.Errorf("At(0): %v", err)
	}

	if got := readString(t, fsys, "bin/tool"); got != "#!/bin/sh\n" {
		t.Errorf("bin/tool = %q", got)
	}
	var walked []string
	if err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		walked = append(walked, p)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{".", "bin", "empty", "etc", "etc/hostname", "usr", "usr/bin", "usr/bin/tool", "var", "var/lib", "var/lib/dpkg", "var/lib/dpkg/status"}
	if !reflect.DeepEqual(walked, want) {
		t.Errorf("WalkDir = %v\nwant     %v", walked, want)
	}
	if m, err := fs.Glob(fsys, "var/lib/*/status"); err != nil || !reflect.DeepEqual(m, []string{"var/lib/dpkg/status"}) {
		t.Errorf("Glob = %v, %v", m, err)
	}
	for _, bad := range []string{"/etc", "etc/", "../x", "a//b", ""} {
		if _, err := fsys.Stat(bad); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Stat(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := fsys.Open("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(nope) = %v", err)
	}
	if _, err := fsys.Stat("etc/hostname/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat through a file = %v", err)
	}
}

func TestNotCaptured(t *testing.T) {
	l0 := mkTar(t, file("keep/me", "kept"), file("skip/me", "skipped"), file("empty", ""))
	want := func(name string, _ fs.FileMode, _ int64, _ []byte) bool { return strings.HasPrefix(name, "keep/") }
	fsys := mustWalk(t, Options{Want: want}, imageBlobs(t, compression.GZip, l0)...)
	if got := readString(t, fsys, "keep/me"); got != "kept" {
		t.Errorf("keep/me = %q", got)
	}
	if _, err := fsys.ReadFile("skip/me"); !errors.Is(err, ErrNotCaptured) {
		t.Errorf("ReadFile(skip/me) = %v, want ErrNotCaptured", err)
	}
	if fi, err := fsys.Stat("skip/me"); err != nil || fi.Size() != 7 {
		t.Errorf("Stat(skip/me) = %v, %v", fi, err)
	}
	if got := readString(t, fsys, "empty"); got != "" {
		t.Errorf("empty = %q", got)
	}
}

func TestWantSeesHead(t *testing.T) {
	big := strings.Repeat("A", 10000)
	l0 := mkTar(t, file("big", big), file("small", "xyz"))
	heads := map[string]string{}
	want := func(name string, mode fs.FileMode, size int64, head []byte) bool {
		heads[name] = string(head)
		if !mode.IsRegular() || size != int64(map[string]int{"big": 10000, "small": 3}[name]) {
			t.Errorf("Want(%s) mode %v size %d", name, mode, size)
		}
		return false
	}
	mustWalk(t, Options{Want: want, HeadSize: 100}, imageBlobs(t, compression.ZStd, l0)...)
	if heads["big"] != big[:100] || heads["small"] != "xyz" {
		t.Errorf("heads = %q", heads)
	}
}

func TestCaptureSpillAndLocalPath(t *testing.T) {
	big0 := strings.Repeat("0123456789", 1000)
	big1 := strings.Repeat("abcdefghij", 1000)
	l0 := mkTar(t, file("db/rpm.sqlite", big0), file("small", "s"))
	l1 := mkTar(t, file("db/rpm.sqlite", big1))
	tmp := t.TempDir()
	fsys, err := Walk(t.Context(), imageBlobs(t, compression.GZip, l0, l1),
		Options{Want: wantAll, TempDir: tmp, Limits: Limits{MaxMemoryFile: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if got := readString(t, fsys, "db/rpm.sqlite"); got != big1 {
		t.Errorf("top version wrong (%d bytes)", len(got))
	}
	if got := readString(t, fsys.At(0), "db/rpm.sqlite"); got != big0 {
		t.Errorf("At(0) version wrong (%d bytes)", len(got))
	}
	spill, _ := filepath.Glob(filepath.Join(tmp, "vigil-layers-*", "spill"))
	if len(spill) != 1 {
		t.Fatalf("spill files: %v", spill)
	}
	if fi, err := os.Stat(spill[0]); err != nil || fi.Size() != int64(len(big0)+len(big1)) {
		t.Errorf("spill file: %v %v", fi, err)
	}
	for i, want := range map[int]string{0: big0, 1: big1} {
		p, err := fsys.At(i).LocalPath("db/rpm.sqlite")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p, tmp) || filepath.Base(p) != "rpm.sqlite" {
			t.Errorf("LocalPath = %s, want a file named rpm.sqlite under %s", p, tmp)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("LocalPath(At(%d)) contents wrong: %v", i, err)
		}
	}
	p, err := fsys.LocalPath("small")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "s" {
		t.Errorf("LocalPath(small) = %q", b)
	}
	if err := fsys.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %v in the temp dir", left)
	}
}

func TestFromDir(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	mk := func(p, body string) {
		t.Helper()
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, p string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("etc/passwd", "image passwd")
	mk("usr/lib/os-release", "ID=test\n")
	mk("var/swap", "will become a symlink")
	ln(secret, "abs-escape")                         // absolute target outside root
	ln("../../../../../../../"+secret, "rel-escape") // relative target climbing out
	ln("/etc", "hostetc")                            // resolves to root/etc, not the host's
	ln("usr/lib/os-release", "os-release")
	if err := os.Mkdir(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}

	var observed []string
	fsys, err := FromDir(root, Options{TempDir: t.TempDir(), Observe: func(layer int, name string, hdr *tar.Header, r io.Reader) error {
		observed = append(observed, name)
		if name == "etc/passwd" {
			b, err := io.ReadAll(r)
			if err != nil || string(b) != "image passwd" {
				t.Errorf("Observe read %q, %v", b, err)
			}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if want := []string{"etc/passwd", "usr/lib/os-release", "var/swap"}; !reflect.DeepEqual(observed, want) {
		t.Errorf("observed %v, want %v", observed, want)
	}
	if got := readString(t, fsys, "hostetc/passwd"); got != "image passwd" {
		t.Errorf("hostetc/passwd = %q", got)
	}
	if got := readString(t, fsys, "os-release"); got != "ID=test\n" {
		t.Errorf("os-release = %q", got)
	}
	for _, p := range []string{"abs-escape", "rel-escape"} {
		b, err := fsys.ReadFile(p)
		if err == nil || strings.Contains(string(b), "host secret") {
			t.Errorf("ReadFile(%s) = %q, %v: read outside the root", p, b, err)
		}
		if _, err := fsys.LocalPath(p); err == nil {
			t.Errorf("LocalPath(%s) succeeded", p)
		}
	}
	if h := fsys.History("etc/passwd"); !reflect.DeepEqual(h, []Change{{0, Added}}) {
		t.Errorf("History = %v", h)
	}

	// The directory changes after the walk: a regular file becomes a
	// symlink to the host. Reading it must not follow the link out.
	if err := os.Remove(filepath.Join(root, "var/swap")); err != nil {
		t.Fatal(err)
	}
	ln(secret, "var/swap")
	if b, err := fsys.ReadFile("var/swap"); err == nil || strings.Contains(string(b), "host secret") {
		t.Errorf("ReadFile(var/swap) after swap = %q, %v", b, err)
	}

	// io/fs conformance; fstest wants every listed file openable, so
	// without the dangling (escaping) links.
	for _, p := range []string{"abs-escape", "rel-escape", "var/swap"} {
		if err := os.Remove(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	clean, err := FromDir(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer clean.Close()
	if err := fstest.TestFS(clean, "etc/passwd", "os-release", "emptydir"); err != nil {
		t.Error(err)
	}
}

func TestFromDirHostMode(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"proc/1/status", "sys/kernel/x", "dev/null", "etc/os-release", "usr/proc"} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, host := range []bool{false, true} {
		fsys, err := fromDir(root, host, Options{Limits: Limits{MaxEntries: 100}})
		if err != nil {
			t.Fatal(err)
		}
		defer fsys.Close()
		for _, p := range []string{"proc", "sys", "dev"} {
			if exists(fsys, p) == host {
				t.Errorf("host mode %v: %s exists=%v", host, p, exists(fsys, p))
			}
		}
		if !exists(fsys, "etc/os-release") || !exists(fsys, "usr/proc") {
			t.Errorf("host mode %v skipped ordinary paths", host)
		}
	}
	if _, err := fromDir(root, false, Options{Limits: Limits{MaxEntries: 3}}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxEntries not enforced: %v", err)
	}
}
