package layers

import (
	"errors"
	"fmt"
)

// ErrDigestMismatch is matched (errors.Is) by every *DigestError.
var ErrDigestMismatch = errors.New("digest mismatch")

// DigestError reports a layer whose bytes do not have the digest its
// manifest or config claims.
type DigestError struct {
	// Kind is "digest" (the stored blob) or "diffID" (the uncompressed tar).
	Kind string
	Want string
	Got  string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s mismatch: manifest says %s, content is %s", e.Kind, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrDigestMismatch) true.
func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }

// ErrSymlinkLoop is returned when resolving a name needs more than 40
// symbolic links, as Linux's ELOOP.
var ErrSymlinkLoop = errors.New("too many levels of symbolic links")

// ErrUnsafeEntry is matched by the warnings about entries the walk skipped
// because they would land outside the image root or are malformed.
var ErrUnsafeEntry = errors.New("unsafe tar entry")
