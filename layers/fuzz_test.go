package layers

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
)

// FuzzWalk feeds arbitrary bytes as the top layer over a fixed base layer
// (so that whiteouts and replacements have something to act on). The walk
// must not panic and must end in an error or an FS whose every path can be
// listed, stat'ed and, for kept regular files, read.
func FuzzWalk(f *testing.F) {
	base := mkTar(f, file("etc/os-release", "ID=x\n"), dir("var/lib/"), file("var/lib/db", "db"), symlink("lib", "var/lib"))
	for _, seed := range testdataBlobs(f) {
		f.Add(seed)
	}
	seeds := [][]byte{
		mkTar(f, file(".wh.etc", ""), file("var/lib/.wh..wh..opq", ""), file("lib/new", "n")),
		mkTar(f, file("../../x", "x"), hardlink("h", "var/lib/db"), symlink("loop", "loop"), file("var", "file now")),
	}
	for _, s := range seeds {
		f.Add(s)
		f.Add(testimage.Gzip(f, s))
		f.Add(zstdBytes(f, s))
	}
	lim := Limits{MaxLayerBytes: 64 << 20, MaxEntries: 10_000, MaxMemoryFile: 64, MaxCaptureBytes: 16 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys, err := Walk(context.Background(), []Blob{rawBlob(base), rawBlob(data)}, Options{Want: wantAll, Limits: lim, TempDir: t.TempDir()})
		if err != nil {
			return
		}
		defer fsys.Close()
		for _, v := range []FS{fsys, fsys.At(0)} {
			err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if _, err := v.Lstat(p); err != nil {
					t.Errorf("Lstat(%s) of a listed path: %v", p, err)
				}
				v.History(p)
				switch {
				case d.Type().IsRegular():
					if _, err := v.ReadFile(p); err != nil {
						t.Errorf("ReadFile(%s): %v", p, err)
					}
				case d.Type()&fs.ModeSymlink != 0:
					// May dangle or loop; must only not escape or panic.
					if _, err := v.Stat(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrSymlinkLoop) {
						t.Errorf("Stat(%s): %v", p, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Errorf("WalkDir: %v", err)
			}
		}
	})
}
