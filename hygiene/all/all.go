// Package all lists Vigil's hygiene checks, so that the pipeline can run
// them without importing each one (package hygiene cannot: the checks import
// it).
package all

import (
	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/base"
	"github.com/vigilsec/vigil/hygiene/config"
	"github.com/vigilsec/vigil/hygiene/email"
	"github.com/vigilsec/vigil/hygiene/integrity"
	"github.com/vigilsec/vigil/hygiene/secret"
)

// Options configure the checks.
type Options struct {
	Email  email.Options
	Secret secret.Options
	Base   base.Options
}

// Default returns a fresh instance of every hygiene check, for one scan:
// the checks gather what the walk shows them, so they are not reused. Its
// only error is an unreadable or malformed e-mail allow-list.
func Default(opts Options) ([]hygiene.Check, error) {
	e, err := email.New(opts.Email)
	if err != nil {
		return nil, err
	}
	return []hygiene.Check{secret.New(opts.Secret), e, integrity.New(), base.New(opts.Base), config.New()}, nil
}
