package layers

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// testdataBlobs opens the layers gen.sh wrote with GNU tar, gzip and zstd.
func testdataBlobs(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, name := range []string{"layer0.tar.gz", "layer1.tar.zst", "layer2.tar"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// listing describes every view of fsys and every path's history, one line
// each, for a golden comparison.
func listing(t *testing.T, fsys FS) string {
	var b strings.Builder
	seen := map[string]bool{}
	for i := range fsys.Layers() {
		v := fsys.At(i)
		fmt.Fprintf(&b, "== after layer %d\n", i)
		err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			seen[p] = true
			fi, err := d.Info()
			if err != nil {
				return err
			}
			a := fi.Sys().(*Attr)
			fmt.Fprintf(&b, "%s %v size=%d layer=%d", p, fi.Mode(), fi.Size(), a.Layer)
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := v.ReadLink(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, " -> %s", target)
			case fi.Mode().IsRegular():
				data, err := v.ReadFile(p)
				if err != nil {
					return err
				}
				if len(data) <= 32 {
					fmt.Fprintf(&b, " %q", data)
				} else {
					fmt.Fprintf(&b, " sha256:%x", sha256.Sum256(data))
				}
			}
			b.WriteByte('\n')
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString("== history\n")
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range seen {
			if !yield(p) {
				return
			}
		}
	})
	for _, p := range paths {
		fmt.Fprintf(&b, "%s %v\n", p, fsys.History(p))
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	var blobs []Blob
	for _, data := range testdataBlobs(t) {
		b := rawBlob(data)
		b.Info.Digest = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
		blobs = append(blobs, b)
	}
	var w warnings
	fsys := mustWalk(t, Options{Want: wantAll, Warn: w.add}, blobs...)
	if len(w.errs) != 0 {
		t.Errorf("warnings on well-formed layers: %v", w.errs)
	}
	got := listing(t, fsys)
	golden := filepath.Join("testdata", "layers.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("listing differs from %s (run with -update after checking):\n%s", golden, got)
	}
}
