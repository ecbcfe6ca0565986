package hygiene

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
)

// Observe returns the layers.Options.Observe function that feeds every
// Observer among checks: it asks each one's Begin and streams the file once,
// through io.MultiWriter, to the sinks that want it. A file no Observer
// wants is not read at all. It returns nil when no check is an Observer, so
// the walk skips the call entirely. The function it returns is not safe for
// concurrent use: the walk calls it for one file at a time.
//
// Sinks must not fail to say "I have seen enough": an error from a sink
// stops the copy for every sink and ends the walk, so a sink that is done
// discards the rest instead.
func Observe(checks []Check) func(layer int, name string, hdr *tar.Header, r io.Reader) error {
	var obs []Observer
	for _, c := range checks {
		if o, ok := c.(Observer); ok {
			obs = append(obs, o)
		}
	}
	if len(obs) == 0 {
		return nil
	}
	sinks := make([]io.WriteCloser, 0, len(obs))
	writers := make([]io.Writer, 0, len(obs))
	return func(layer int, name string, hdr *tar.Header, r io.Reader) error {
		sinks, writers = sinks[:0], writers[:0]
		for _, o := range obs {
			if s := o.Begin(layer, name, hdr); s != nil {
				sinks = append(sinks, s)
				writers = append(writers, s)
			}
		}
		var err error
		switch len(writers) {
		case 0:
			return nil
		case 1:
			_, err = io.Copy(writers[0], r)
		default:
			_, err = io.Copy(io.MultiWriter(writers...), r)
		}
		for _, s := range sinks {
			err = errors.Join(err, s.Close())
		}
		if err != nil {
			return fmt.Errorf("hygiene: %w", err)
		}
		return nil
	}
}
