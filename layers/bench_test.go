package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// benchTar writes a layer of about size bytes that looks like a
// distribution's: many small text files, some larger binaries with
// repetitive structure, so that it compresses about 3:1 as real layers do.
func benchTar(tb testing.TB, seed uint64, size int) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	words := strings.Fields("the of and package version depends license copyright usr lib share doc bin main func return error nil struct import config")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := make([]byte, 0, 4<<20)
	for i := 0; buf.Len() < size; i++ {
		body = body[:0]
		var name string
		if i%10 == 0 {
			name = fmt.Sprintf("usr/lib/x86_64-linux-gnu/lib%d.so.%d", seed, i)
			n := 64<<10 + rng.IntN(1<<20)
			for len(body) < n {
				if rng.IntN(3) == 0 {
					body = append(body, byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()))
				} else {
					body = append(body, 0x48, 0x89, 0xe5, byte(rng.IntN(8)))
				}
			}
		} else {
			name = fmt.Sprintf("usr/share/doc/pkg%d/file%d.txt", i/50, i)
			n := 200 + rng.IntN(16<<10)
			for len(body) < n {
				body = append(body, words[rng.IntN(len(words))]...)
				body = append(body, ' ')
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

type benchSet struct {
	blobs []Blob
	size  int64 // uncompressed bytes
}

var benchSets sync.Map // compression → *benchSet

// benchLayers returns three layers of about 100 MB uncompressed together,
// built once per process.
func benchLayers(tb testing.TB, c compression.Compression) *benchSet {
	if s, ok := benchSets.Load(c); ok {
		return s.(*benchSet)
	}
	s := &benchSet{}
	var tars [][]byte
	for i, n := range []int{60 << 20, 30 << 20, 10 << 20} {
		t := benchTar(tb, uint64(i+1), n)
		tars = append(tars, t)
		s.size += int64(len(t))
	}
	// Held in memory: the benchmark measures the walk, not the disk.
	for _, b := range imageBlobs(tb, c, tars...) {
		rc, err := b.Open()
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		b.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		s.blobs = append(s.blobs, b)
	}
	benchSets.Store(c, s)
	return s
}

// floor reads and decompresses every blob once and does nothing else: the
// least any walk must cost.
func floor(tb testing.TB, blobs []Blob, c compression.Compression) {
	for _, b := range blobs {
		rc, err := b.Open()
		if err != nil {
			tb.Fatal(err)
		}
		var r io.Reader
		switch c {
		case compression.GZip:
			zr, err := gzip.NewReader(rc)
			if err != nil {
				tb.Fatal(err)
			}
			r = zr
		case compression.ZStd:
			zr, err := zstd.NewReader(rc)
			if err != nil {
				tb.Fatal(err)
			}
			defer zr.Close()
			r = zr
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			tb.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkWalk compares a full walk (digests verified, a few files kept,
// as an inventory asks) with the floor of reading and decompressing. The
// two alternate and the best of each is compared, so that load from other
// processes skews the ratio less.
func BenchmarkWalk(b *testing.B) {
	for _, c := range []compression.Compression{compression.GZip, compression.ZStd} {
		b.Run(string(c), func(b *testing.B) {
			set := benchLayers(b, c)
			want := func(name string, _ fs.FileMode, _ int64, head []byte) bool {
				return strings.HasSuffix(name, "0.txt") || bytes.HasPrefix(head, []byte("\x7fELF"))
			}
			bestFloor, bestWalk := time.Duration(1<<62), time.Duration(1<<62)
			b.SetBytes(set.size)
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				start := time.Now()
				floor(b, set.blobs, c)
				bestFloor = min(bestFloor, time.Since(start))
				b.StartTimer()

				start = time.Now()
				fsys, err := Walk(context.Background(), set.blobs, Options{Want: want, TempDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				bestWalk = min(bestWalk, time.Since(start))
				fsys.Close()
			}
			mbs := func(d time.Duration) float64 { return float64(set.size) / 1e6 / d.Seconds() }
			b.ReportMetric(mbs(bestFloor), "floor-MB/s")
			b.ReportMetric(mbs(bestWalk), "walk-MB/s")
			b.ReportMetric(float64(bestWalk)/float64(bestFloor), "walk/floor")
		})
	}
}
