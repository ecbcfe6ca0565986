package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// maxInputBytes bounds a recorded input; one with every finding of a large
// image is a few MiB.
const maxInputBytes = 64 << 20

// ReadInput decodes a recorded Input (as `vigil policy eval --record`
// writes it). Unknown fields are an error, so a misspelt field in a
// hand-written test input cannot silently read as its zero value. Fields
// whose unknown value is not zero (ageDays, runAsUser) default to unknown.
func ReadInput(r io.Reader) (*Input, error) {
	lr := &io.LimitedReader{R: r, N: maxInputBytes + 1}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	in := &Input{}
	in.Image.AgeDays = -1
	in.Container.RunAsUser = -1
	if err := dec.Decode(in); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("decode policy input: larger than %d bytes", maxInputBytes)
		}
		return nil, fmt.Errorf("decode policy input: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode policy input: trailing data after the input object")
	}
	return in, nil
}

// UnmarshalJSON defaults RunAsUser to unset (-1) rather than root (0).
func (c *Container) UnmarshalJSON(b []byte) error {
	type plain Container
	p := plain{RunAsUser: -1}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*c = Container(p)
	return nil
}
