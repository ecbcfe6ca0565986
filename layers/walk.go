package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"path"
	"strings"
)

// Options configures Walk and FromDir.
type Options struct {
	// Want reports whether to keep a regular file's contents (name is io/fs
	// style, no leading slash). head holds up to HeadSize leading bytes of
	// the file and is only valid during the call. nil keeps nothing. Want
	// is not asked about hard links: their contents streamed under the
	// target's name, and they are readable when the target's were kept.
	Want func(name string, mode fs.FileMode, size int64, head []byte) bool
	// HeadSize defaults to 8192.
	HeadSize int
	// Limits: zero fields take defaults (DefaultLimits).
	Limits Limits
	// TempDir is the parent of the walk's private temporary directory
	// (os.MkdirTemp); default os.TempDir().
	TempDir string
	// Progress is told the bytes of the stored blob read so far; total is
	// Info.Size (0 when unknown). It is called from a goroutine of the walk
	// that reads the blob, never concurrently. May be nil.
	Progress func(layer int, read, total int64)
	// Warn is told of non-fatal problems (skipped unsafe entries, files
	// too large to keep, duplicate entries). May be nil.
	Warn func(err error)
	// Observe, when set, sees every regular file of every layer as it
	// streams (also files a later layer deletes): for scanners such as
	// secret detection that must not read a layer twice. r yields the
	// file's contents; reading it is optional. Hard links are not regular
	// files here: their contents streamed under the target's name. An
	// error ends the walk.
	Observe func(layer int, name string, hdr *tar.Header, r io.Reader) error
}

const defaultHeadSize = 8192

func (o Options) withDefaults() Options {
	if o.HeadSize <= 0 {
		o.HeadSize = defaultHeadSize
	}
	o.Limits = o.Limits.withDefaults()
	return o
}

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
	// maxNameBytes and maxLinkBytes are PATH_MAX-like bounds (generous for
	// names: tar entries are not bound to one syscall) that keep a hostile
	// entry from making the tree deep or large.
	maxNameBytes = 16 << 10
	maxLinkBytes = 4 << 10
)

// Walk reads each layer blob once, bottom first, and returns the image's
// filesystem with every path's history and the contents Options.Want asked
// for. The FS must be closed to remove its temporary files.
func Walk(ctx context.Context, blobs []Blob, opts Options) (FS, error) {
	if len(blobs) > math.MaxUint16 {
		return nil, &LimitError{Limit: "layers", Value: math.MaxUint16, Detail: fmt.Sprintf("%d layers", len(blobs))}
	}
	opts = opts.withDefaults()
	infos := make([]Info, len(blobs))
	for i, b := range blobs {
		infos[i] = b.Info
		infos[i].Index = i
	}
	f := &imageFS{t: newTree(opts.Limits), infos: infos, store: newStorage(opts.TempDir)}
	w := &walker{opts: opts, f: f, head: make([]byte, opts.HeadSize)}
	var total int64
	for i, b := range blobs {
		n, err := w.layer(ctx, i, b, total)
		if err != nil {
			f.store.close()
			return nil, err
		}
		total += n
	}
	return &view{f: f, top: len(blobs) - 1}, nil
}

type walker struct {
	opts    Options
	f       *imageFS
	head    []byte
	entries int
}

func layerID(i int, info Info) string {
	switch {
	case info.Digest != "":
		return info.Digest
	case info.DiffID != "":
		return info.DiffID
	}
	return fmt.Sprintf("#%d", i)
}

// layer applies one layer and returns its uncompressed size.
func (w *walker) layer(ctx context.Context, i int, b Blob, before int64) (int64, error) {
	id := layerID(i, b.Info)
	fail := func(entry string, err error) error {
		switch {
		case entry == "":
			return fmt.Errorf("read layer %s: %w", id, err)
		case strings.HasPrefix(entry, "after "):
			return fmt.Errorf("read layer %s %s: %w", id, entry, err)
		}
		return fmt.Errorf("read layer %s entry %s: %w", id, entry, err)
	}
	if b.Open == nil {
		return 0, fail("", errors.New("no blob to open"))
	}
	var diff hash.Hash
	if d := b.Info.DiffID; d != "" {
		h, err := newDigest(d)
		if err != nil {
			return 0, fail("", fmt.Errorf("diffID: %w", err))
		}
		diff = h
	}
	p := stream{blob: b, index: i, limits: w.opts.Limits, before: before, progress: w.opts.Progress}.open(ctx, diff)
	defer p.close()
	bld := &builder{t: w.f.t, layer: uint16(i)}
	if w.opts.Warn != nil {
		bld.warn = func(err error) { w.opts.Warn(fmt.Errorf("layer %s: %w", id, err)) }
	}
	tr := tar.NewReader(p)
	entry := ""
	for {
		if err := ctx.Err(); err != nil {
			return 0, fail("", err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if entry != "" {
				entry = "after entry " + entry
			}
			return 0, fail(entry, p.explain(err))
		}
		entry = hdr.Name
		if w.entries++; w.entries > w.opts.Limits.MaxEntries {
			return 0, fail(entry, &LimitError{Limit: "MaxEntries", Value: int64(w.opts.Limits.MaxEntries), Detail: "tar entries"})
		}
		if err := w.entry(bld, i, tr, hdr); err != nil {
			return 0, fail(entry, p.explain(err))
		}
	}
	// The rest of the stream (end-of-archive blocks) counts for the digests.
	if _, err := io.Copy(io.Discard, p); err != nil {
		return 0, fail("", err)
	}
	if diff != nil {
		if err := checkDigest("diffID", b.Info.DiffID, diff); err != nil {
			return 0, fail("", err)
		}
	}
	return p.n, nil
}

// explain returns the error that ended the stream when a tar error is only
// its symptom (a truncated or corrupt blob, a digest that does not match), so
// that the report names the cause.
func (p *pipe) explain(err error) error {
	if perr := p.failed(); perr != nil {
		return perr
	}
	if errors.Is(err, tar.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		io.Copy(io.Discard, p) // the error the stream ends with, if any, wins
		if perr := p.failed(); perr != nil {
			return perr
		}
	}
	return err
}

// cleanName turns a tar entry name into an io/fs name ("." for the root).
// Absolute names become relative; names that climb out of the root, hold a
// NUL or exceed the name bounds are refused.
func cleanName(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("name holds a NUL byte: %w", ErrUnsafeEntry)
	}
	if len(s) > maxNameBytes {
		return "", fmt.Errorf("name of %d bytes: %w", len(s), ErrUnsafeEntry)
	}
	c := path.Clean(strings.TrimLeft(s, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("name escapes the image root: %w", ErrUnsafeEntry)
	}
	for part := range strings.SplitSeq(c, "/") {
		if len(part) > maxNameLen {
			return "", fmt.Errorf("name component of %d bytes: %w", len(part), ErrUnsafeEntry)
		}
	}
	return c, nil
}

// tarMode is the mode of an entry: permission bits from the header, type
// from the type flag alone (the mode's type bits are not trusted).
func tarMode(hdr *tar.Header, typ fs.FileMode) fs.FileMode {
	m := fs.FileMode(hdr.Mode).Perm() | typ
	if hdr.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func (w *walker) entry(b *builder, layer int, tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX defaults for the archive (git archive writes one), not a file
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		b.warnf("entry %q: %w", hdr.Name, err)
		return nil
	}
	if dir, base := splitName(name); strings.HasPrefix(base, whiteoutPrefix) {
		switch {
		case base == opaqueMarker:
			return b.opaque(dir)
		case strings.HasPrefix(base, whiteoutMeta):
			return nil // aufs bookkeeping (.wh..wh.plnk), no meaning in OCI
		}
		target := strings.TrimPrefix(base, whiteoutPrefix)
		if target == "." || target == ".." {
			b.warnf("entry %q: whiteout of %q: %w", hdr.Name, target, ErrUnsafeEntry)
			return nil
		}
		return b.whiteout(path.Join(dir, target))
	}
	v := version{uid: uint32(hdr.Uid), gid: uint32(hdr.Gid), mtime: hdr.ModTime.Unix()}
	switch hdr.Typeflag {
	case tar.TypeDir:
		v.mode = tarMode(hdr, fs.ModeDir)
		if name == "." {
			return b.root(v)
		}
		return b.put(name, v)
	case tar.TypeReg, '\x00', tar.TypeCont, tar.TypeGNUSparse:
		v.mode, v.size = tarMode(hdr, 0), hdr.Size
		if name == "." {
			return b.root(v)
		}
		if v.ref, err = w.regular(b, layer, name, v.mode, tr, hdr); err != nil {
			return err
		}
		return b.put(name, v)
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil || target == "." {
			b.warnf("entry %s: hard link to %q: %w", name, hdr.Linkname, ErrUnsafeEntry)
			return nil
		}
		return b.hardlink(name, target)
	case tar.TypeSymlink:
		if len(hdr.Linkname) > maxLinkBytes || strings.IndexByte(hdr.Linkname, 0) >= 0 {
			b.warnf("entry %s: symbolic link target of %d bytes: %w", name, len(hdr.Linkname), ErrUnsafeEntry)
			return nil
		}
		v.mode, v.size = tarMode(hdr, fs.ModeSymlink), int64(len(hdr.Linkname))
		if v.ref, err = w.f.t.addLink(hdr.Linkname); err != nil {
			return err
		}
	case tar.TypeChar:
		v.mode = tarMode(hdr, fs.ModeDevice|fs.ModeCharDevice)
	case tar.TypeBlock:
		v.mode = tarMode(hdr, fs.ModeDevice)
	case tar.TypeFifo:
		v.mode = tarMode(hdr, fs.ModeNamedPipe)
	default:
		b.warnf("entry %s: tar type %q not supported; skipped", name, hdr.Typeflag)
		return nil
	}
	if name == "." {
		return b.root(v)
	}
	return b.put(name, v)
}

// regular streams a regular file's contents past Observe and keeps them
// if Want asks, returning their reference (0: not kept).
func (w *walker) regular(b *builder, layer int, name string, mode fs.FileMode, tr *tar.Reader, hdr *tar.Header) (uint32, error) {
	o := &w.opts
	if o.Want == nil && o.Observe == nil {
		return 0, nil
	}
	head := w.head[:min(hdr.Size, int64(len(w.head)))]
	if _, err := io.ReadFull(tr, head); err != nil {
		return 0, err
	}
	var c *capture
	// Empty files need no keeping: they read as empty anyway.
	if o.Want != nil && hdr.Size > 0 && o.Want(name, mode, hdr.Size, head) {
		store := w.f.store
		switch {
		case hdr.Size > o.Limits.MaxFileCapture:
			b.warnf("entry %s: %d bytes, more than MaxFileCapture=%d; contents not kept", name, hdr.Size, o.Limits.MaxFileCapture)
		case store.captured+hdr.Size > o.Limits.MaxCaptureBytes:
			b.warnf("entry %s: kept contents would pass MaxCaptureBytes=%d; contents not kept", name, o.Limits.MaxCaptureBytes)
		default:
			var err error
			if c, err = store.begin(hdr.Size, o.Limits.MaxMemoryFile); err != nil {
				return 0, err
			}
		}
	}
	if c == nil && o.Observe == nil {
		return 0, nil
	}
	var r io.Reader = io.MultiReader(bytes.NewReader(head), tr)
	if c != nil {
		r = io.TeeReader(r, c)
	}
	if o.Observe != nil {
		if err := o.Observe(layer, name, hdr, r); err != nil {
			return 0, fmt.Errorf("observe: %w", err)
		}
	}
	if c == nil {
		return 0, nil
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return 0, err
	}
	return c.finish()
}
