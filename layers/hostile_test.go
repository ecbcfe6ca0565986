package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// zeroLayer writes a compressed layer holding one file of n zero bytes: a
// decompression bomb when n is large (zeros deflate about 1000:1 and
// zstd far more).
func zeroLayer(t testing.TB, n int64, compress func(io.Writer) (io.WriteCloser, error)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := compress(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "zeros", Size: n, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

func TestWalkErrors(t *testing.T) {
	good := mkTar(t, file("etc/os-release", "ID=x\n"), file("usr/lib/x", strings.Repeat("x", 100_000)))
	blob := func() Blob { return imageBlobs(t, compression.GZip, good)[0] }
	stored := func(b Blob) []byte {
		rc, err := b.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	bomb := zeroLayer(t, 100<<20, func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil })
	zbomb := zeroLayer(t, 100<<20, func(w io.Writer) (io.WriteCloser, error) { return zstd.NewWriter(w) })
	tests := []struct {
		name   string
		blobs  func() []Blob
		limits Limits
		is     error  // errors.Is target
		limit  string // LimitError.Limit, when is is ErrLimit
		says   []string
	}{{
		name: "digest lies",
		blobs: func() []Blob {
			b := blob()
			b.Info.Digest = "sha256:" + strings.Repeat("0", 64)
			return []Blob{b}
		},
		is:   ErrDigestMismatch,
		says: []string{"read layer sha256:0000", "digest mismatch"},
	}, {
		name: "diffID lies",
		blobs: func() []Blob {
			b := blob()
			b.Info.DiffID = "sha256:" + strings.Repeat("1", 64)
			return []Blob{b}
		},
		is:   ErrDigestMismatch,
		says: []string{"diffID mismatch"},
	}, {
		name: "truncated gzip",
		blobs: func() []Blob {
			data := stored(blob())
			cut := rawBlob(data[:len(data)/2])
			cut.Info.DiffID = "sha256:" + strings.Repeat("2", 64)
			return []Blob{cut}
		},
		is:   io.ErrUnexpectedEOF,
		says: []string{"read layer sha256:2222", "decompress: unexpected EOF"},
	}, {
		name: "truncated gzip with its digest",
		blobs: func() []Blob {
			b := blob()
			data := stored(b)
			cut := rawBlob(data[:len(data)/2])
			cut.Info.Digest = b.Info.Digest
			return []Blob{cut}
		},
		is:   ErrDigestMismatch,
		says: []string{"read layer sha256:"},
	}, {
		name: "corrupt gzip",
		blobs: func() []Blob {
			data := bytes.Clone(stored(blob()))
			for i := len(data) / 3; i < len(data)/3+64; i++ {
				data[i] ^= 0x5a
			}
			return []Blob{rawBlob(data)}
		},
		says: []string{"read layer #0"},
	}, {
		name:  "garbage that is no tar",
		blobs: func() []Blob { return []Blob{rawBlob(bytes.Repeat([]byte("not a tar "), 100))} },
		is:    tar.ErrHeader,
	}, {
		name: "missing blob",
		blobs: func() []Blob {
			b := blob()
			b.Open = func() (io.ReadCloser, error) { return nil, fs.ErrNotExist }
			return []Blob{b}
		},
		is:   fs.ErrNotExist,
		says: []string{"read layer sha256:", "open blob"},
	}, {
		name:  "no opener",
		blobs: func() []Blob { return []Blob{{Info: Info{Digest: "sha256:abc"}}} },
		says:  []string{"read layer sha256:abc: no blob"},
	}, {
		name:  "gzip bomb passes MaxRatio",
		blobs: func() []Blob { return []Blob{rawBlob(bomb)} },
		is:    ErrLimit,
		limit: "MaxRatio",
	}, {
		name:  "zstd bomb passes MaxRatio",
		blobs: func() []Blob { return []Blob{rawBlob(zbomb)} },
		is:    ErrLimit,
		limit: "MaxRatio",
	}, {
		name:   "gzip bomb passes MaxLayerBytes",
		blobs:  func() []Blob { return []Blob{rawBlob(bomb)} },
		limits: Limits{MaxLayerBytes: 8 << 20},
		is:     ErrLimit,
		limit:  "MaxLayerBytes",
		says:   []string{"entry zeros"},
	}, {
		name:   "layers together pass MaxTotalBytes",
		blobs:  func() []Blob { return []Blob{rawBlob(good), rawBlob(good), rawBlob(good)} },
		limits: Limits{MaxTotalBytes: int64(len(good)) * 5 / 2},
		is:     ErrLimit,
		limit:  "MaxTotalBytes",
		says:   []string{"read layer #2"},
	}, {
		name:   "too many entries",
		blobs:  func() []Blob { return []Blob{rawBlob(good), rawBlob(good)} },
		limits: Limits{MaxEntries: 3},
		is:     ErrLimit,
		limit:  "MaxEntries",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			fsys, err := Walk(context.Background(), tc.blobs(), Options{Want: wantAll, Limits: tc.limits, TempDir: tmp})
			if err == nil {
				fsys.Close()
				t.Fatal("Walk succeeded")
			}
			t.Logf("error: %v", err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not match %v", tc.is)
			}
			if tc.limit != "" {
				var le *LimitError
				if !errors.As(err, &le) || le.Limit != tc.limit {
					t.Errorf("want LimitError %s, got %#v", tc.limit, le)
				}
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q", s)
				}
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("failed walk left %v behind", left)
			}
		})
	}
}

func TestCaptureLimits(t *testing.T) {
	l0 := mkTar(t, file("a", strings.Repeat("a", 100)), file("b", strings.Repeat("b", 100)), file("huge", strings.Repeat("h", 500)))
	var w warnings
	fsys := mustWalk(t, Options{Want: wantAll, Warn: w.add, Limits: Limits{MaxFileCapture: 200, MaxCaptureBytes: 150}}, rawBlob(l0))
	if got := readString(t, fsys, "a"); len(got) != 100 {
		t.Errorf("a not kept")
	}
	for _, name := range []string{"b", "huge"} {
		if _, err := fsys.ReadFile(name); !errors.Is(err, ErrNotCaptured) {
			t.Errorf("ReadFile(%s) = %v, want ErrNotCaptured", name, err)
		}
	}
	var msgs []string
	for _, e := range w.errs {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	if !strings.Contains(all, "entry b: kept contents would pass MaxCaptureBytes") || !strings.Contains(all, "entry huge: 500 bytes, more than MaxFileCapture") {
		t.Errorf("warnings:\n%s", all)
	}
}

func TestObserveAndProgress(t *testing.T) {
	l0 := mkTar(t, file("secret.env", "TOKEN=abc"), file("gone", "deleted later"), dir("d/"), symlink("s", "secret.env"), file("empty", ""))
	l1 := mkTar(t, file(".wh.gone", ""), file("new", "n"))
	blobs := imageBlobs(t, compression.GZip, l0, l1)
	seen := map[string]string{}
	var progress []string
	want := func(name string, _ fs.FileMode, _ int64, _ []byte) bool { return name == "secret.env" }
	fsys := mustWalk(t, Options{
		Want: want,
		Observe: func(layer int, name string, hdr *tar.Header, r io.Reader) error {
			if name == "new" {
				return nil // reading is optional
			}
			b, err := io.ReadAll(r)
			seen[fmt.Sprintf("%d:%s", layer, name)] = string(b)
			return err
		},
		Progress: func(layer int, read, total int64) {
			progress = append(progress, fmt.Sprintf("%d:%d/%d", layer, read, total))
		},
	}, blobs...)
	wantSeen := map[string]string{"0:secret.env": "TOKEN=abc", "0:gone": "deleted later", "0:empty": ""}
	if fmt.Sprint(seen) != fmt.Sprint(wantSeen) {
		t.Errorf("observed %v, want %v", seen, wantSeen)
	}
	if got := readString(t, fsys, "secret.env"); got != "TOKEN=abc" {
		t.Errorf("capture beside Observe = %q", got)
	}
	wantLast := []string{fmt.Sprintf("0:%d/%d", blobs[0].Info.Size, blobs[0].Info.Size), fmt.Sprintf("1:%d/%d", blobs[1].Info.Size, blobs[1].Info.Size)}
	if len(progress) < 2 || !strings.Contains(strings.Join(progress, " "), wantLast[0]) || progress[len(progress)-1] != wantLast[1] {
		t.Errorf("progress %v, want to reach %v", progress, wantLast)
	}

	stop := errors.New("stop")
	_, err := walk(t, Options{Observe: func(int, string, *tar.Header, io.Reader) error { return stop }}, blobs...)
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "entry secret.env") {
		t.Errorf("Observe error not passed on: %v", err)
	}
}

func TestWalkCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Walk(ctx, []Blob{rawBlob(mkTar(t, file("a", "a")))}, Options{TempDir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk on a cancelled context = %v", err)
	}
}

func TestPAXGlobalHeader(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "git"}}); err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "a", Size: 1, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("a"))
	tw.Close()
	var w warnings
	fsys := mustWalk(t, Options{Want: wantAll, Warn: w.add}, rawBlob(buf.Bytes()))
	if exists(fsys, "pax_global_header") || !exists(fsys, "a") || len(w.errs) != 0 {
		t.Errorf("global header mishandled: header exists=%v, a exists=%v, warnings %v", exists(fsys, "pax_global_header"), exists(fsys, "a"), w.errs)
	}
}

// TestConcurrentReaders is for -race: catalogers read one FS in parallel.
func TestConcurrentReaders(t *testing.T) {
	var es []ent
	for i := range 50 {
		es = append(es, file(fmt.Sprintf("d/f%d", i), strings.Repeat("x", i*100)))
	}
	fsys := mustWalk(t, Options{Want: wantAll, Limits: Limits{MaxMemoryFile: 1000}}, rawBlob(mkTar(t, es...)))
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 50 {
				name := fmt.Sprintf("d/f%d", (i+g)%50)
				var b []byte
				if b, err = fsys.ReadFile(name); err != nil || len(b) != (i+g)%50*100 {
					err = fmt.Errorf("ReadFile(%s) = %d bytes, %v", name, len(b), err)
					break
				}
				if _, err = fsys.LocalPath(name); err != nil {
					break
				}
				if _, err = fsys.At(0).ReadDir("d"); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestDeletionWorkBound checks that deletions cannot cost quadratic time:
// repeated whiteouts of one directory in a layer are cheap, and repeated
// replacement of a large dead directory hits the work bound tied to
// MaxEntries instead of running for hours at image scale.
func TestDeletionWorkBound(t *testing.T) {
	const files = 5000
	var base []ent
	for i := range files {
		base = append(base, file(fmt.Sprintf("d/f%d", i), ""))
	}
	lim := Limits{MaxEntries: 3 * files} // work bound: 16 × MaxEntries
	var whiteouts, replace []ent
	for i := range files / 2 {
		whiteouts = append(whiteouts, file(".wh.d", ""), file(fmt.Sprintf("d/new%d", i), ""))
		replace = append(replace, file("d", "a file"), file("d/x", ""))
	}

	fsys := mustWalk(t, Options{Limits: lim}, rawBlob(mkTar(t, base...)), rawBlob(mkTar(t, whiteouts...)))
	if es, err := fsys.ReadDir("d"); err != nil || len(es) != files/2 {
		t.Errorf("after repeated whiteouts ReadDir(d) = %d entries, %v; want %d", len(es), err, files/2)
	}

	_, err := walk(t, Options{Limits: lim}, rawBlob(mkTar(t, base...)), rawBlob(mkTar(t, replace...)))
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "MaxEntries" || !strings.Contains(err.Error(), "nodes visited") {
		t.Errorf("repeated replacement of a large directory: %v; want the MaxEntries work bound", err)
	}
}
