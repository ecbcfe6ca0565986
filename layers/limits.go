package layers

import (
	"errors"
	"fmt"
)

// Limits bound what a hostile image can make the walk consume. Zero fields
// take the defaults of DefaultLimits.
type Limits struct {
	// MaxLayerBytes bounds the uncompressed bytes of one layer.
	MaxLayerBytes int64
	// MaxTotalBytes bounds the uncompressed bytes of the whole image.
	MaxTotalBytes int64
	// MaxRatio bounds uncompressed/compressed bytes of a layer; it is
	// enforced once the layer passes 64 MiB uncompressed, so that small,
	// very compressible layers (a few empty files) are not refused.
	MaxRatio int64
	// MaxEntries bounds the tar entries over the image. It also bounds the
	// tree the walk keeps, and so its memory: paths and changes to 4×, names
	// and link targets to 128 bytes per entry (at least 64 MiB). A path
	// costs about 90 bytes with typical names.
	MaxEntries int
	// MaxFileCapture is the largest file whose contents are kept; larger
	// wanted files are skipped with a warning.
	MaxFileCapture int64
	// MaxCaptureBytes bounds the kept contents of all files together.
	MaxCaptureBytes int64
	// MaxMemoryFile is the largest kept file held in memory; larger ones
	// spill to the walk's temporary directory.
	MaxMemoryFile int64
}

// ratioFloor is where MaxRatio starts to apply.
const ratioFloor = 64 << 20

// DefaultLimits returns the limits used for zero fields of Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxLayerBytes:   16 << 30,
		MaxTotalBytes:   64 << 30,
		MaxRatio:        200,
		MaxEntries:      4_000_000,
		MaxFileCapture:  1 << 30,
		MaxCaptureBytes: 8 << 30,
		MaxMemoryFile:   1 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxLayerBytes, d.MaxLayerBytes)
	set(&l.MaxTotalBytes, d.MaxTotalBytes)
	set(&l.MaxRatio, d.MaxRatio)
	set(&l.MaxFileCapture, d.MaxFileCapture)
	set(&l.MaxCaptureBytes, d.MaxCaptureBytes)
	set(&l.MaxMemoryFile, d.MaxMemoryFile)
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l
}

// ErrLimit is matched (errors.Is) by every *LimitError.
var ErrLimit = errors.New("limit exceeded")

// LimitError reports which limit a walk hit.
type LimitError struct {
	// Limit is the name of the Limits field ("MaxLayerBytes", "MaxRatio"...).
	Limit string
	// Value is the limit's value.
	Value int64
	// Detail says what exceeded it, when it adds to the name.
	Detail string
}

func (e *LimitError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: limit %s=%d exceeded", e.Detail, e.Limit, e.Value)
	}
	return fmt.Sprintf("limit %s=%d exceeded", e.Limit, e.Value)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }
