// Package pkgfs holds what the file-walking catalogers (gobinary, python,
// npm, java) share: one walk over an image filesystem with their common
// error convention, and bounded or random-access reads of captured files.
package pkgfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

// Visit looks at one entry of the walk and returns the components it found
// there. An error is about that entry only and does not stop the walk.
type Visit func(name string, d fs.DirEntry) ([]inventory.Component, error)

// Catalog walks fsys and gathers what visit finds. It returns every
// component found together with an errors.Join of the errors visit returned
// and of directories that could not be read. Errors wrapping
// layers.ErrNotCaptured are dropped: the walk keeps only the files some
// cataloger wanted, so an uncaptured file is not the caller's. Only a done
// ctx makes Catalog return no components, with ctx's error.
//
// Kernel pseudo-filesystems (proc, sys, dev at the root) are not entered:
// they are empty mount points in images.
func Catalog(ctx context.Context, fsys fs.FS, visit Visit) ([]inventory.Component, error) {
	var comps []inventory.Component
	var errs []error
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() && (name == "proc" || name == "sys" || name == "dev") {
			return fs.SkipDir
		}
		found, err := visit(name, d)
		comps = append(comps, found...)
		if err != nil && !errors.Is(err, layers.ErrNotCaptured) {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return comps, errors.Join(errs...)
}

// ReadFile reads the file name of fsys, refusing one larger than limit
// bytes before opening it, and again if it grows past limit while read.
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("/%s: %d bytes, larger than %d: skipped", name, info.Size(), limit)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("/%s: larger than %d bytes: skipped", name, limit)
	}
	return b, nil
}

// File is a captured file open for random access, as debug/buildinfo and
// archive/zip need.
type File struct {
	io.ReaderAt
	Size    int64
	closers []io.Closer
}

// Open opens the captured file name of fsys for random access. Files of
// the layer walk offer io.ReaderAt; for any that does not, Open reads the
// private local copy fsys.LocalPath makes.
func Open(fsys layers.FS, name string) (*File, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	file := &File{closers: []io.Closer{f}}
	info, err := f.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	file.Size = info.Size()
	if ra, ok := f.(io.ReaderAt); ok {
		file.ReaderAt = ra
		return file, nil
	}
	local, err := fsys.LocalPath(name)
	if err != nil {
		file.Close()
		return nil, err
	}
	lf, err := os.Open(local)
	if err != nil {
		file.Close()
		return nil, err
	}
	file.ReaderAt = lf
	file.closers = append(file.closers, lf)
	return file, nil
}

// Close closes the file.
func (f *File) Close() error {
	var errs []error
	for _, c := range f.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
