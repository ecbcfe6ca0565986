package testimage

import (
	"archive/tar"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// recorder is a testing.TB whose Skipf and Fatalf record the message and
// end the goroutine, as the real ones do, so helpers' failure paths can be
// observed from a test that goes on.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs f with a recorder in its own goroutine.
func call(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestRequire(t *testing.T) {
	tests := []struct {
		name       string
		what       []string
		ci         string
		skip, fail bool
	}{
		{name: "present", what: []string{"sh"}},
		{name: "missing", what: []string{"no-such-tool-vigil"}, skip: true},
		{name: "missing in CI", what: []string{"sh", "no-such-tool-vigil"}, ci: "true", fail: true},
		{name: "CI other value skips", what: []string{"no-such-tool-vigil"}, ci: "1", skip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := call(t, func(tb testing.TB) { Require(tb, tt.what...) })
			if (r.skipped != "") != tt.skip || (r.failed != "") != tt.fail {
				t.Fatalf("skipped=%q failed=%q, want skip=%v fail=%v", r.skipped, r.failed, tt.skip, tt.fail)
			}
			if msg := r.skipped + r.failed; (tt.skip || tt.fail) && !strings.Contains(msg, "no-such-tool-vigil") {
				t.Errorf("message %q does not name the missing tool", msg)
			}
		})
	}
}

func TestCached(t *testing.T) {
	t.Setenv("VIGIL_TEST_CACHE", t.TempDir())
	builds := 0
	build := func(dir string) error {
		builds++
		return os.WriteFile(filepath.Join(dir, "out"), []byte("x"), 0o644)
	}
	// A build that died earlier left a temporary directory behind.
	stale := filepath.Join(CacheDir(), "k-"+key("a")+".tmp-123")
	if err := os.MkdirAll(filepath.Join(stale, "half"), 0o755); err != nil {
		t.Fatal(err)
	}
	first := cached(t, "k", []string{"a"}, build)
	second := cached(t, "k", []string{"a"}, build)
	other := cached(t, "k", []string{"b"}, build)
	if first != second || first == other || builds != 2 {
		t.Errorf("dirs %s %s %s after %d builds; want the same entry for the same inputs and one build each", first, second, other, builds)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary directory survived: %v", err)
	}

	r := call(t, func(tb testing.TB) {
		cached(tb, "k", []string{"c"}, func(dir string) error {
			os.WriteFile(filepath.Join(dir, "partial"), nil, 0o644)
			return errors.New("boom")
		})
	})
	if !strings.Contains(r.failed, "boom") {
		t.Errorf("failed build reported %q", r.failed)
	}
	left, _ := filepath.Glob(filepath.Join(CacheDir(), "k-"+key("c")+"*"))
	for _, l := range left {
		if !strings.HasSuffix(l, ".lock") {
			t.Errorf("failed build left %s", l)
		}
	}
}

// entries lists a layer's tar headers.
func entries(t *testing.T, l v1.Layer) []*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var hs []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func TestLayerFromFiles(t *testing.T) {
	l := LayerFromFiles(t, []File{
		{Path: "etc", Type: Dir},
		{Path: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"},
		{Path: "usr/bin/su", Mode: 0o755 | os.ModeSetuid, Body: "ELF"},
		{Path: "etc/old", Type: Whiteout},
		{Path: "var/cache", Type: Opaque},
		{Path: "bin", Type: Symlink, Linkname: "usr/bin"},
		{Path: "etc/passwd-", Type: Hardlink, Linkname: "etc/passwd"},
	})
	want := []struct {
		name string
		typ  byte
		mode int64
	}{
		{"etc/", tar.TypeDir, 0o755},
		{"etc/passwd", tar.TypeReg, 0o644},
		{"usr/bin/su", tar.TypeReg, 0o4755},
		{"etc/.wh.old", tar.TypeReg, 0o644},
		{"var/cache/.wh..wh..opq", tar.TypeReg, 0o644},
		{"bin", tar.TypeSymlink, 0o777},
		{"etc/passwd-", tar.TypeLink, 0o644},
	}
	hs := entries(t, l)
	if len(hs) != len(want) {
		t.Fatalf("%d entries, want %d", len(hs), len(want))
	}
	for i, w := range want {
		if h := hs[i]; h.Name != w.name || h.Typeflag != w.typ || h.Mode != w.mode {
			t.Errorf("entry %d = %s type %c mode %o, want %s type %c mode %o", i, h.Name, h.Typeflag, h.Mode, w.name, w.typ, w.mode)
		}
	}
}

func TestLayerFromDir(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b/file", "a", "dev/null-ish", "proc/1/status"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "b/link")); err != nil {
		t.Fatal(err)
	}
	l1, l2 := LayerFromDir(t, dir), LayerFromDir(t, dir)
	d1, err := l1.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := l2.DiffID(); d1 != d2 {
		t.Errorf("same tree, different tars: %s %s", d1, d2)
	}
	var got []string
	for _, h := range entries(t, l1) {
		s := h.Name
		if h.Typeflag == tar.TypeLink {
			s += " -> " + h.Linkname
		}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s has owner names %q:%q", h.Name, h.Uname, h.Gname)
		}
		got = append(got, s)
	}
	want := "a b/ b/file b/link -> a dev/ proc/"
	if strings.Join(got, " ") != want {
		t.Errorf("entries %q, want %q", strings.Join(got, " "), want)
	}
}

func TestDebianImage(t *testing.T) {
	img := DebianImage(t)
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("%d layers, %v", len(ls), err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no var/lib/dpkg/status in the layer: %v", err)
		}
		if h.Name != "var/lib/dpkg/status" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains("\n"+string(b), "\nPackage: base-files\n") {
			t.Error("dpkg status has no base-files")
		}
		return
	}
}

func TestGoBinary(t *testing.T) {
	bin := GoBinary(t, "hello", "module example.com/hello\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n", map[string]string{
		"main.go": `package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() { fmt.Println(language.English) }
`,
	})
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Path != "example.com/hello" {
		t.Errorf("main package %q", bi.Path)
	}
	found := false
	for _, d := range bi.Deps {
		found = found || d.Path == "golang.org/x/text" && d.Version == "v0.14.0"
	}
	if !found {
		t.Errorf("buildinfo deps %v lack golang.org/x/text v0.14.0", bi.Deps)
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" && s.Value != "0" || s.Key == "-trimpath" && s.Value != "true" {
			t.Errorf("build setting %s=%s", s.Key, s.Value)
		}
	}
}

func TestAptDownload(t *testing.T) {
	debs := AptDownload(t, "hello")
	if !strings.HasPrefix(filepath.Base(debs[0]), "hello_") {
		t.Fatalf("got %v", debs)
	}
	dir := t.TempDir()
	ExtractDeb(t, debs[0], dir)
	if _, err := os.Stat(filepath.Join(dir, "usr/bin/hello")); err != nil {
		t.Error(err)
	}
}

func TestNpmPack(t *testing.T) {
	dirs := NpmPack(t, "is-number@7.0.0", "left-pad@1.3.0")
	for i, want := range []string{"is-number 7.0.0", "left-pad 1.3.0"} {
		b, err := os.ReadFile(filepath.Join(dirs[i], "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		var pj struct{ Name, Version string }
		if err := json.Unmarshal(b, &pj); err != nil {
			t.Fatal(err)
		}
		if got := pj.Name + " " + pj.Version; got != want {
			t.Errorf("package %d is %s, want %s", i, got, want)
		}
	}
}
