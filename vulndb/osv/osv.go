// Package osv imports vulnerability records in the OSV schema from the
// per-ecosystem archives of the OSV export: osv/<Ecosystem>/all.zip, one
// <ID>.json per record, for any ecosystem.
//
// Records are checked on the way in: versions that the ecosystem's rules
// cannot parse, range types that name commits, unknown ecosystems and
// withdrawn records are skipped and counted per reason in the source's
// metadata, so that nothing is matched on data Vigil could not read.
package osv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
	"golang.org/x/sync/errgroup"

	"github.com/vigilsec/vigil/vulndb"
)

// Limits on an archive, far above the real export (the largest, Debian, is
// about 200 MB uncompressed), so that a hostile mirror is refused before it
// fills memory.
const (
	maxRecordSize  = 16 << 20
	maxEntries     = 2_000_000
	maxArchiveSize = 8 << 30
)

// Importer imports every osv/*/all.zip under the import root.
type Importer struct{}

// Name implements vulndb.Importer.
func (Importer) Name() string { return "osv" }

// Import implements vulndb.Importer.
func (Importer) Import(ctx context.Context, root fs.FS, b *vulndb.Builder) error {
	zips, err := fs.Glob(root, "osv/*/all.zip")
	if err != nil {
		return err
	}
	if len(zips) == 0 {
		return fmt.Errorf("osv: no osv/*/all.zip: %w", fs.ErrNotExist)
	}
	for _, name := range zips {
		if err := importZip(ctx, root, name, b); err != nil {
			return fmt.Errorf("osv %s: %w", name, err)
		}
	}
	return nil
}

func importZip(ctx context.Context, root fs.FS, name string, b *vulndb.Builder) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > maxArchiveSize {
		return fmt.Errorf("archive of %d bytes is larger than %d", st.Size(), int64(maxArchiveSize))
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		data, err := io.ReadAll(io.LimitReader(f, maxArchiveSize))
		if err != nil {
			return err
		}
		ra = bytes.NewReader(data)
	}
	zr, err := zip.NewReader(ra, st.Size())
	if err != nil {
		return fmt.Errorf("not a valid zip archive: %w", err)
	}
	zr.RegisterDecompressor(zip.Deflate, newInflater)
	if len(zr.File) > maxEntries {
		return fmt.Errorf("archive has %d entries, more than %d", len(zr.File), maxEntries)
	}

	rec := b.Source("osv/"+path.Base(path.Dir(name)), name)
	total := int64(len(zr.File))
	files := make(chan *zip.File)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(files)
		for i, zf := range zr.File {
			select {
			case files <- zf:
			case <-gctx.Done():
				return gctx.Err()
			}
			if i%1000 == 0 {
				rec.Progress(int64(i), total)
			}
		}
		rec.Progress(total, total)
		return nil
	})
	for range runtime.GOMAXPROCS(0) {
		g.Go(func() error {
			var buf bytes.Buffer
			for zf := range files {
				if err := importEntry(zf, rec, &buf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// importEntry imports one record. A record it cannot use is counted and
// skipped; an entry that fails its checksum means the archive is damaged,
// and fails the import.
// buf is reused from entry to entry: decoding copies what it keeps.
func importEntry(zf *zip.File, rec *vulndb.Recorder, buf *bytes.Buffer) error {
	if zf.FileInfo().IsDir() {
		return nil
	}
	if !strings.HasSuffix(zf.Name, ".json") {
		rec.Warn("archive entry that is not a .json record", zf.Name)
		return nil
	}
	if zf.UncompressedSize64 > maxRecordSize {
		rec.Warn(fmt.Sprintf("record larger than %d bytes", maxRecordSize), zf.Name)
		return nil
	}
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("entry %s: %w", zf.Name, err)
	}
	buf.Reset()
	buf.Grow(int(zf.UncompressedSize64))
	_, err = buf.ReadFrom(io.LimitReader(rc, maxRecordSize+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("entry %s: %w", zf.Name, err)
	}
	data := buf.Bytes()
	if len(data) > maxRecordSize {
		return fmt.Errorf("entry %s: larger than its header says", zf.Name)
	}
	r, err := decode(data)
	if err != nil {
		rec.Warn(warnMalformed, zf.Name+": "+err.Error())
		return nil
	}
	v, affected, probs := convert(r)
	for _, p := range probs {
		rec.Warn(p.reason, p.example)
	}
	if v != nil {
		rec.Add(v, affected)
	}
	return nil
}

// decode parses one record.
func decode(data []byte) (*record, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Inflaters are pooled, as archive/zip pools its own: each holds a 32 KiB
// window that would otherwise be allocated and cleared for every one of
// tens of thousands of small records. klauspost's inflate is also faster
// than the standard library's, and inflating is a third of the import.
var inflaters sync.Pool

type inflater struct{ io.ReadCloser }

func newInflater(r io.Reader) io.ReadCloser {
	if f, ok := inflaters.Get().(*inflater); ok {
		if err := f.ReadCloser.(flate.Resetter).Reset(r, nil); err == nil {
			return f
		}
	}
	return &inflater{flate.NewReader(r)}
}

// Close returns the inflater to the pool.
func (f *inflater) Close() error {
	err := f.ReadCloser.Close()
	inflaters.Put(f)
	return err
}
