package layers

import (
	"archive/tar"
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
)

func TestWalkSemantics(t *testing.T) {
	type hist = []Change
	tests := []struct {
		name   string
		layers [][]ent
		check  func(t *testing.T, fsys FS, warns []error)
	}{{
		name: "whiteout deletes a lower file",
		layers: [][]ent{
			{dir("a/"), file("a/f1", "one"), file("a/f2", "two")},
			{file("a/.wh.f1", "")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			if exists(fsys, "a/f1") || !exists(fsys, "a/f2") {
				t.Errorf("after whiteout: a/f1 exists=%v a/f2 exists=%v", exists(fsys, "a/f1"), exists(fsys, "a/f2"))
			}
			if got := readString(t, fsys.At(0), "a/f1"); got != "one" {
				t.Errorf("At(0) a/f1 = %q", got)
			}
			if h := fsys.History("a/f1"); !reflect.DeepEqual(h, hist{{0, Added}, {1, Deleted}}) {
				t.Errorf("History(a/f1) = %v", h)
			}
			if h := fsys.At(0).History("a/f1"); len(h) != 2 {
				t.Errorf("History from At(0) must be full, got %v", h)
			}
			if exists(fsys, "a/.wh.f1") {
				t.Error("the whiteout file itself is visible")
			}
		},
	}, {
		name: "whiteout of a directory deletes its subtree",
		layers: [][]ent{
			{file("d/x/y", "y"), file("keep", "k")},
			{file(".wh.d", "")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			for _, p := range []string{"d", "d/x", "d/x/y"} {
				if exists(fsys, p) {
					t.Errorf("%s survived the whiteout", p)
				}
				if h := fsys.History(p); !reflect.DeepEqual(h, hist{{0, Added}, {1, Deleted}}) {
					t.Errorf("History(%s) = %v", p, h)
				}
			}
			if !exists(fsys.At(0), "d/x/y") {
				t.Error("At(0) lost d/x/y")
			}
		},
	}, {
		name: "opaque directory hides lower children only",
		layers: [][]ent{
			{dir("d/"), file("d/a", "a"), file("d/sub/b", "b")},
			{dir("d/"), file("d/.wh..wh..opq", ""), file("d/c", "c")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			es, err := fsys.ReadDir("d")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range es {
				names = append(names, e.Name())
			}
			if !reflect.DeepEqual(names, []string{"c"}) {
				t.Errorf("ReadDir(d) = %v, want [c]", names)
			}
			for _, p := range []string{"d/a", "d/sub", "d/sub/b"} {
				if h := fsys.History(p); !reflect.DeepEqual(h, hist{{0, Added}, {1, Deleted}}) {
					t.Errorf("History(%s) = %v", p, h)
				}
			}
			if h := fsys.History("d"); !reflect.DeepEqual(h, hist{{0, Added}, {1, Modified}}) {
				t.Errorf("History(d) = %v", h)
			}
			if es, _ := fsys.At(0).ReadDir("d"); len(es) != 2 {
				t.Errorf("At(0) ReadDir(d) has %d entries, want 2", len(es))
			}
		},
	}, {
		name: "opaque marker after same-layer entries keeps them",
		layers: [][]ent{
			{file("d/old", "o")},
			{file("d/new", "n"), file("d/.wh..wh..opq", "")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			if exists(fsys, "d/old") || !exists(fsys, "d/new") {
				t.Errorf("d/old exists=%v d/new exists=%v", exists(fsys, "d/old"), exists(fsys, "d/new"))
			}
		},
	}, {
		name: "whiteout and new file in the same layer: the file wins",
		layers: [][]ent{
			{file("f", "old")},
			{file(".wh.f", ""), file("f", "new")},
			{file("g", "new"), file(".wh.g", "")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			if got := readString(t, fsys, "f"); got != "new" {
				t.Errorf("f = %q", got)
			}
			if h := fsys.History("f"); !reflect.DeepEqual(h, hist{{0, Added}, {1, Modified}}) {
				t.Errorf("History(f) = %v", h)
			}
			if !exists(fsys, "g") {
				t.Error("a whiteout deleted a file of its own layer")
			}
		},
	}, {
		name: "non-directory replacing a directory deletes its subtree",
		layers: [][]ent{
			{file("d/a/b", "b"), file("f", "f")},
			{file("d", "now a file"), file("f/g", "g")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			fi, err := fsys.Stat("d")
			if err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("Stat(d) = %v, %v", fi, err)
			}
			if h := fsys.History("d/a/b"); !reflect.DeepEqual(h, hist{{0, Added}, {1, Deleted}}) {
				t.Errorf("History(d/a/b) = %v", h)
			}
			if fi, err := fsys.Stat("f"); err != nil || !fi.IsDir() {
				t.Errorf("f should have become a directory: %v %v", fi, err)
			}
			if got := readString(t, fsys, "f/g"); got != "g" {
				t.Errorf("f/g = %q", got)
			}
			if h := fsys.History("d"); !reflect.DeepEqual(h, hist{{0, Added}, {1, Modified}}) {
				t.Errorf("History(d) = %v", h)
			}
		},
	}, {
		name: "hard links alias their target's contents",
		layers: [][]ent{
			{file("bin/a", "payload"), hardlink("bin/b", "bin/a"), hardlink("bin/c", "/bin/a"), hardlink("bin/bad", "../../etc/passwd")},
		},
		check: func(t *testing.T, fsys FS, warns []error) {
			for _, p := range []string{"bin/b", "bin/c"} {
				if got := readString(t, fsys, p); got != "payload" {
					t.Errorf("%s = %q", p, got)
				}
				if fi, _ := fsys.Stat(p); fi == nil || fi.Size() != 7 || !fi.Mode().IsRegular() {
					t.Errorf("Stat(%s) = %v", p, fi)
				}
			}
			if exists(fsys, "bin/bad") {
				t.Error("escaping hard link recorded")
			}
			if !slices.ContainsFunc(warns, func(e error) bool { return errors.Is(e, ErrUnsafeEntry) && strings.Contains(e.Error(), "bin/bad") }) {
				t.Errorf("no warning for the escaping hard link: %v", warns)
			}
		},
	}, {
		name: "symbolic links resolve inside the image root",
		layers: [][]ent{
			{
				file("usr/lib/x", "x"), file("etc/passwd", "image passwd"),
				symlink("lib", "usr/lib"), symlink("abs", "/usr/lib"),
				symlink("esc", "../../../../usr/lib/x"), symlink("usr/lib/up", "../../../../../etc"),
				symlink("loop1", "loop2"), symlink("loop2", "loop1"), symlink("self", "self"),
				symlink("dangling", "nowhere"),
			},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			for name, want := range map[string]string{"lib/x": "x", "abs/x": "x", "esc": "x", "usr/lib/up/passwd": "image passwd"} {
				if got := readString(t, fsys, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, p := range []string{"loop1", "self", "loop1/x"} {
				if _, err := fsys.Stat(p); !errors.Is(err, ErrSymlinkLoop) {
					t.Errorf("Stat(%s) = %v, want ErrSymlinkLoop", p, err)
				}
			}
			if _, err := fsys.Stat("dangling"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(dangling) = %v", err)
			}
			if fi, err := fsys.Lstat("lib"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("Lstat(lib) = %v, %v", fi, err)
			}
			if target, err := fsys.ReadLink("abs"); err != nil || target != "/usr/lib" {
				t.Errorf("ReadLink(abs) = %q, %v", target, err)
			}
			if _, err := fsys.ReadLink("usr/lib/x"); err == nil {
				t.Error("ReadLink of a regular file succeeded")
			}
		},
	}, {
		name: "a symlinked parent is followed when a later layer writes through it",
		layers: [][]ent{
			{dir("usr/lib/"), symlink("lib", "usr/lib")},
			{file("lib/y", "y")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			if fi, err := fsys.Lstat("lib"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("lib is no longer a symlink: %v %v", fi, err)
			}
			if got := readString(t, fsys, "usr/lib/y"); got != "y" {
				t.Errorf("usr/lib/y = %q", got)
			}
		},
	}, {
		name: "duplicate entries: the last wins",
		layers: [][]ent{
			{file("f", "first"), file("f", "second")},
		},
		check: func(t *testing.T, fsys FS, warns []error) {
			if got := readString(t, fsys, "f"); got != "second" {
				t.Errorf("f = %q", got)
			}
			if h := fsys.History("f"); !reflect.DeepEqual(h, hist{{0, Added}}) {
				t.Errorf("History(f) = %v", h)
			}
			if !slices.ContainsFunc(warns, func(e error) bool { return strings.Contains(e.Error(), "listed twice") }) {
				t.Errorf("no duplicate warning: %v", warns)
			}
		},
	}, {
		name: "unsafe and absolute names",
		layers: [][]ent{
			{file("../evil", "e"), file("a/../../evil2", "e"), file("/abs/file", "abs"), file("./ok", "ok"), file("a/./b/../c", "c")},
		},
		check: func(t *testing.T, fsys FS, warns []error) {
			if got := readString(t, fsys, "abs/file"); got != "abs" {
				t.Errorf("abs/file = %q", got)
			}
			if got := readString(t, fsys, "ok"); got != "ok" {
				t.Errorf("ok = %q", got)
			}
			if got := readString(t, fsys, "a/c"); got != "c" {
				t.Errorf("a/c = %q", got)
			}
			if exists(fsys, "evil") || exists(fsys, "evil2") {
				t.Error("escaping entry landed in the root")
			}
			n := 0
			for _, e := range warns {
				if errors.Is(e, ErrUnsafeEntry) {
					n++
				}
			}
			if n != 2 {
				t.Errorf("%d unsafe-entry warnings, want 2: %v", n, warns)
			}
		},
	}, {
		name: "devices and FIFOs are metadata only",
		layers: [][]ent{
			{{name: "dev/null", typ: tar.TypeChar, mode: 0o666}, {name: "dev/sda", typ: tar.TypeBlock, mode: 0o660}, {name: "run/fifo", typ: tar.TypeFifo, mode: 0o600}},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			for name, typ := range map[string]fs.FileMode{"dev/null": fs.ModeDevice | fs.ModeCharDevice, "dev/sda": fs.ModeDevice, "run/fifo": fs.ModeNamedPipe} {
				fi, err := fsys.Stat(name)
				if err != nil || fi.Mode().Type() != typ {
					t.Errorf("Stat(%s) = %v, %v; want type %v", name, fi, err, typ)
				}
				if _, err := fsys.ReadFile(name); err == nil {
					t.Errorf("ReadFile(%s) succeeded", name)
				}
			}
		},
	}, {
		name: "history across layers and views",
		layers: [][]ent{
			{file("etc/conf", "v0")},
			{file("other", "")},
			{file("etc/conf", "v2")},
			{file("etc/.wh.conf", "")},
			{file("etc/conf", "v4")},
		},
		check: func(t *testing.T, fsys FS, _ []error) {
			want := hist{{0, Added}, {2, Modified}, {3, Deleted}, {4, Added}}
			if h := fsys.History("etc/conf"); !reflect.DeepEqual(h, want) {
				t.Errorf("History = %v, want %v", h, want)
			}
			for i, want := range []string{"v0", "v0", "v2", "", "v4"} {
				v := fsys.At(i)
				if v.Top() != i {
					t.Errorf("At(%d).Top() = %d", i, v.Top())
				}
				if want == "" {
					if exists(v, "etc/conf") {
						t.Errorf("At(%d) has etc/conf", i)
					}
					continue
				}
				if got := readString(t, v, "etc/conf"); got != want {
					t.Errorf("At(%d) etc/conf = %q, want %q", i, got, want)
				}
				fi, _ := v.Stat("etc/conf")
				if a := fi.Sys().(*Attr); a.Layer != map[string]int{"v0": 0, "v2": 2, "v4": 4}[want] {
					t.Errorf("At(%d) Attr.Layer = %d", i, a.Layer)
				}
			}
			if exists(fsys.At(-1), "etc") {
				t.Error("At(-1) is not empty")
			}
		},
	}}
	for _, tc := range tests {
		for _, c := range []compression.Compression{compression.None, compression.GZip, compression.ZStd} {
			t.Run(tc.name+"/"+string(c), func(t *testing.T) {
				var tars [][]byte
				for _, l := range tc.layers {
					tars = append(tars, mkTar(t, l...))
				}
				var w warnings
				fsys := mustWalk(t, Options{Want: wantAll, Warn: w.add}, imageBlobs(t, c, tars...)...)
				tc.check(t, fsys, w.errs)
			})
		}
	}
}
