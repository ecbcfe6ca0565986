package layers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const (
	chunkSize  = 256 << 10
	chunkCount = 4
	// zstdMaxWindow admits frames written with zstd --long (128 MiB
	// windows) and refuses the larger ones a hostile frame may ask for.
	zstdMaxWindow = 1 << 27
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// newDigest returns the hash a digest ("sha256:<hex>") names.
func newDigest(d string) (hash.Hash, error) {
	alg, _, _ := strings.Cut(d, ":")
	switch alg {
	case "sha256":
		return sha256.New(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("unsupported digest %q", d)
}

func checkDigest(kind, want string, h hash.Hash) error {
	alg, _, _ := strings.Cut(want, ":")
	got := alg + ":" + hex.EncodeToString(h.Sum(nil))
	if !strings.EqualFold(got, want) {
		return &DigestError{Kind: kind, Want: want, Got: got}
	}
	return nil
}

type chunk struct {
	b   []byte
	err error // after b; io.EOF at the clean end of the stream
}

// pipe runs one stage of a layer's stream in its own goroutine and hands
// its output over in large chunks. A layer streams through two: the first
// reads the blob and hashes it (Info.Digest), the second decompresses; the
// walk's goroutine parses the tar and hashes it (Info.DiffID). Decompression
// has a core to itself and the hashes overlap it. (io.Pipe would hand over
// the reader's buffer size at a time and make the two sides wait on each
// other.)
type pipe struct {
	chunks chan chunk
	free   chan []byte
	stop   chan struct{}
	done   chan struct{}

	// Reading side.
	cur  []byte
	buf  []byte
	err  error
	n    int64     // bytes received
	pos  int64     // bytes read or skipped
	hash hash.Hash // of every byte received; may be nil
}

// startPipe runs fill in a goroutine until it returns an error, io.EOF at
// the clean end, or the pipe is closed; then cleanup. fill gets an empty
// buffer and returns how much of it it filled; it is called again only once
// the reading side has room.
func startPipe(ctx context.Context, h hash.Hash, fill func([]byte) (int, error), cleanup func()) *pipe {
	p := &pipe{
		chunks: make(chan chunk, chunkCount),
		free:   make(chan []byte, chunkCount),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		hash:   h,
	}
	for range chunkCount {
		p.free <- make([]byte, chunkSize)
	}
	go func() {
		defer close(p.done)
		defer cleanup()
		for {
			var buf []byte
			select {
			case buf = <-p.free:
			case <-p.stop:
				return
			case <-ctx.Done():
				buf = nil
			}
			var c chunk
			if buf == nil {
				c.err = ctx.Err()
			} else {
				var k int
				k, c.err = fill(buf)
				c.b = buf[:k]
			}
			select {
			case p.chunks <- c:
			case <-p.stop:
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	return p
}

func (p *pipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	p.pos += int64(n)
	return n, nil
}

// next moves to the next chunk, once the current one is used up.
func (p *pipe) next() error {
	if p.err != nil {
		return p.err
	}
	if cap(p.buf) > 0 {
		p.free <- p.buf[:cap(p.buf)] // never blocks: there are only chunkCount buffers
		p.buf = nil
	}
	c := <-p.chunks
	p.buf, p.cur, p.err = c.b, c.b, c.err
	p.n += int64(len(c.b))
	if p.hash != nil {
		p.hash.Write(c.b)
	}
	return nil
}

// Seek skips forward (io.SeekCurrent only): archive/tar skips the contents
// of files nobody reads through it, sparing a copy of every such byte. The
// skipped bytes were already hashed when their chunk arrived.
func (p *pipe) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || offset < 0 {
		return 0, errors.New("layer stream only skips forward")
	}
	for offset > 0 {
		if len(p.cur) == 0 {
			if err := p.next(); err != nil {
				break // the Read that follows reports it
			}
			continue
		}
		k := min(offset, int64(len(p.cur)))
		p.cur = p.cur[k:]
		p.pos += k
		offset -= k
	}
	return p.pos, nil
}

// failed returns the error that ended the stream early, if it has.
func (p *pipe) failed() error {
	if p.err != nil && p.err != io.EOF {
		return p.err
	}
	return nil
}

// close stops the stage and waits for it.
func (p *pipe) close() {
	close(p.stop)
	<-p.done
}

// stream says what the stages need to know about one blob.
type stream struct {
	blob     Blob
	index    int
	limits   Limits
	before   int64 // uncompressed bytes of the layers below
	progress func(layer int, read, total int64)
}

// open starts the stages of s and returns the tar stream, which hashes
// into diff (may be nil). The caller must close it.
func (s stream) open(ctx context.Context, diff hash.Hash) *pipe {
	var raw *pipe
	var dec io.Reader
	var closeDec func()
	var n int64
	fillTar := func(buf []byte) (int, error) {
		if raw == nil {
			raw = s.read(ctx)
			var err error
			if dec, closeDec, err = s.decompressor(raw); err != nil {
				return 0, cause(raw, err)
			}
		}
		k, err := fill(dec, buf)
		n += int64(k)
		lim := s.limits
		switch {
		case n > lim.MaxLayerBytes:
			err = &LimitError{Limit: "MaxLayerBytes", Value: lim.MaxLayerBytes, Detail: "uncompressed layer"}
		case s.before+n > lim.MaxTotalBytes:
			err = &LimitError{Limit: "MaxTotalBytes", Value: lim.MaxTotalBytes, Detail: "uncompressed image"}
		case n > ratioFloor && n/max(raw.n, 1) > lim.MaxRatio:
			err = &LimitError{Limit: "MaxRatio", Value: lim.MaxRatio, Detail: fmt.Sprintf("%d bytes from %d compressed", n, raw.n)}
		case err == io.EOF:
			// Bytes after the compressed stream count for the digest.
			_, err = io.Copy(io.Discard, raw)
			if err == nil {
				err = io.EOF
			}
		case err != nil:
			err = fmt.Errorf("decompress: %w", err)
		}
		if err != nil {
			err = cause(raw, err)
		}
		return k, err
	}
	cleanup := func() {
		if closeDec != nil {
			closeDec()
		}
		if raw != nil {
			raw.close()
		}
	}
	return startPipe(ctx, diff, fillTar, cleanup)
}

// cause returns the error that ended the stream: the reading stage's own
// (open failed, digest mismatch) explains best.
func cause(raw *pipe, err error) error {
	if rerr := raw.failed(); rerr != nil {
		return rerr
	}
	return err
}

// read starts the stage that reads the stored blob, reports progress and
// checks Info.Digest at the end.
func (s stream) read(ctx context.Context) *pipe {
	var rc io.ReadCloser
	var dh hash.Hash
	var n, shown int64
	fillBlob := func(buf []byte) (int, error) {
		if rc == nil {
			var err error
			if rc, err = s.blob.Open(); err != nil {
				return 0, fmt.Errorf("open blob: %w", err)
			}
			if d := s.blob.Info.Digest; d != "" {
				if dh, err = newDigest(d); err != nil {
					return 0, err
				}
			}
		}
		k, err := fill(rc, buf)
		n += int64(k)
		if dh != nil {
			dh.Write(buf[:k])
		}
		if s.progress != nil && (n-shown >= 1<<20 || err != nil) {
			shown = n
			s.progress(s.index, n, s.blob.Info.Size)
		}
		if err == io.EOF && dh != nil {
			if derr := checkDigest("digest", s.blob.Info.Digest, dh); derr != nil {
				err = derr
			}
		}
		return k, err
	}
	cleanup := func() {
		if rc != nil {
			rc.Close()
		}
	}
	return startPipe(ctx, nil, fillBlob, cleanup)
}

// decompressor detects gzip, zstd or a plain tar by magic number.
func (s stream) decompressor(raw io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(raw, 64<<10)
	magic, _ := br.Peek(len(zstdMagic))
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, nil, nil
}

// fill reads into b until it is full or r fails. Unlike io.ReadFull it keeps
// a decompressor's io.ErrUnexpectedEOF (a truncated stream) apart from the
// clean io.EOF.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
