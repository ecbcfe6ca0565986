// Package layers walks an image's layers once, as streams, and gives the rest of
// Vigil a read-only view of the final filesystem in which every path keeps its
// history: which layer added it, changed it or deleted it.
//
// Nothing is ever extracted. While a layer streams past, the walk keeps the
// contents of only the files some consumer asked for (Options.Want), in memory
// when small and in a private temporary directory when large, so that later
// stages (inventory, hygiene, triage) can read them through FS without a second
// pass over the image.
package layers

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// Info describes one layer as reported to users: it is what findings point at.
type Info struct {
	// Index is the layer's position, 0 being the bottom (base) layer.
	Index int `json:"index"`
	// Digest is the digest of the layer blob as stored (compressed).
	Digest string `json:"digest,omitempty"`
	// DiffID is the digest of the uncompressed tar; it is the layer's identity
	// in the image config and what SBOMs record.
	DiffID    string `json:"diffID,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	// Size is the blob size in bytes as stored, when known.
	Size int64 `json:"size,omitempty"`
	// CreatedBy and Comment come from the image history entry of this layer.
	CreatedBy string    `json:"createdBy,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Created   time.Time `json:"created,omitzero"`
	// Base is true when the layer belongs to the base image the application
	// was built on (from org.opencontainers.image.base.* annotations or labels).
	Base bool `json:"base,omitempty"`
}

// Blob is one layer as the walk reads it.
type Blob struct {
	Info Info
	// Open returns the layer's bytes as stored. The walk detects gzip, zstd or
	// a plain tar by magic number, and verifies Info.Digest (of the bytes
	// returned) and Info.DiffID (of the uncompressed tar) when they are set.
	Open func() (io.ReadCloser, error)
}

// Op is what a layer did to a path.
type Op uint8

const (
	// Added means the path did not exist below this layer.
	Added Op = iota + 1
	// Modified means the layer wrote a path that existed below it.
	Modified
	// Deleted means the layer removed the path: a whiteout, an opaque
	// directory, or a parent replaced by a non-directory.
	Deleted
)

func (o Op) String() string {
	switch o {
	case Added:
		return "added"
	case Modified:
		return "modified"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}

// MarshalText makes Op readable in JSON output.
func (o Op) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads what MarshalText wrote, so reports decode back.
func (o *Op) UnmarshalText(b []byte) error {
	for _, op := range []Op{Added, Modified, Deleted} {
		if string(b) == op.String() {
			*o = op
			return nil
		}
	}
	return fmt.Errorf("unknown layer op %q", b)
}

// Change is one step in a path's history.
type Change struct {
	Layer int `json:"layer"`
	Op    Op  `json:"op"`
}

// FS is a read-only view of an image filesystem at one layer (the final one,
// unless obtained from At). Names follow io/fs rules: slash-separated,
// unrooted ("etc/os-release"). Symbolic links are followed inside the image
// root only: an absolute or "../" target resolves against the image root, never
// the host.
//
// Every path can be listed and stat'ed, but only captured files (those the
// walk was asked to keep) can be read; reading any other regular file fails
// with an error wrapping ErrNotCaptured.
type FS interface {
	fs.FS
	fs.StatFS
	fs.ReadDirFS
	fs.ReadFileFS
	// Lstat is Stat without following a final symbolic link.
	Lstat(name string) (fs.FileInfo, error)
	// ReadLink returns a symbolic link's target as written in the layer.
	ReadLink(name string) (string, error)
	// History returns every change to name across all layers, oldest first,
	// including changes above this view's layer. Symlinks are not followed.
	History(name string) []Change
	// Layers describes every layer of the image, bottom first.
	Layers() []Info
	// Top is the index of the last layer this view includes.
	Top() int
	// At returns the view as it stood right after layer i was applied.
	At(i int) FS
	// LocalPath returns a path on the host to a private copy of a captured
	// file, for libraries that only take file names (SQLite). The copy lives
	// in the walk's temporary directory and is removed by Close.
	LocalPath(name string) (string, error)
	// Close releases the walk's temporary storage.
	Close() error
}

// ErrNotCaptured is returned when the contents of a file were not kept by the walk.
var ErrNotCaptured = errors.New("file contents were not captured by the layer walk")
