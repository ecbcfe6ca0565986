package layers

import (
	"archive/tar"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// manyEntries streams a tar of dirs×files empty files without holding it
// in memory.
func manyEntries(dirs, files int) Blob {
	return Blob{Open: func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			for d := range dirs {
				dn := fmt.Sprintf("usr/share/pkg%04d/", d)
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dn, Mode: 0o755}); err != nil {
					pw.CloseWithError(err)
					return
				}
				for f := range files {
					hdr := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%sfile-%06d.txt", dn, f), Mode: 0o644}
					if err := tw.WriteHeader(hdr); err != nil {
						pw.CloseWithError(err)
						return
					}
				}
			}
			pw.CloseWithError(tw.Close())
		}()
		return pr, nil
	}}
}

// heapAfterWalk walks blob and returns the heap the resulting FS holds.
func heapAfterWalk(tb testing.TB, blob Blob) (FS, uint64) {
	tb.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fsys, err := walk(tb, Options{}, blob)
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return fsys, after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
}

func TestMillionEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 500 MB of tar headers")
	}
	const dirs, files = 1000, 1000
	fsys, heap := heapAfterWalk(t, manyEntries(dirs, files))
	perPath := float64(heap) / (dirs * files)
	t.Logf("%d paths: heap %.1f MiB, %.1f bytes per path", dirs*files, float64(heap)/(1<<20), perPath)
	if perPath >= 150 {
		t.Errorf("%.1f bytes per path, want under 150", perPath)
	}
	if fi, err := fsys.Stat("usr/share/pkg0999/file-000999.txt"); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("last entry: %v %v", fi, err)
	}
	es, err := fsys.ReadDir("usr/share/pkg0500")
	if err != nil || len(es) != files {
		t.Errorf("ReadDir: %d entries, %v", len(es), err)
	}
	runtime.KeepAlive(fsys)
}

func BenchmarkMillionEntries(b *testing.B) {
	const dirs, files = 1000, 1000
	for b.Loop() {
		fsys, heap := heapAfterWalk(b, manyEntries(dirs, files))
		b.ReportMetric(float64(heap)/(dirs*files), "heap-B/path")
		fsys.Close()
	}
}
