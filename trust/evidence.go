package trust

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vigilsec/vigil/policy"
)

// Evidence is what verification establishes about a digest, in the
// policy's terms: the signatures and SLSA provenance that verified.
type Evidence struct {
	Signatures []policy.Signature
	Provenance []policy.Provenance
}

// VerifyImage verifies both places cosign keeps signatures: the
// sha256-<digest>.sig tag (key signatures only) and Sigstore bundles
// attached as OCI 1.1 referrers (keys, or keyless when keyless is set).
// With none valid it returns a *NoSignatureError listing every candidate.
func VerifyImage(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) ([]Verified, error) {
	nse := &NoSignatureError{Ref: d.String()}
	var all []Verified
	collect := func(v []Verified, err error) error {
		var e *NoSignatureError
		switch {
		case errors.As(err, &e):
			nse.Rejected = append(nse.Rejected, e.Rejected...)
		case err != nil:
			return err
		}
		all = append(all, v...)
		return nil
	}
	if len(keys) > 0 {
		if err := collect(Verify(ctx, d, keys, opts...)); err != nil {
			return nil, err
		}
	}
	if err := collect(VerifyBundles(ctx, d, keys, keyless, opts...)); err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, nse
	}
	return all, nil
}

// Gather verifies d's signatures and attestations. Missing or invalid
// signatures are not an error (they are absent from the evidence, for the
// policy to judge); failing to reach the registry is.
func Gather(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) (*Evidence, error) {
	var ev Evidence
	var nse *NoSignatureError
	sigs, err := VerifyImage(ctx, d, keys, keyless, opts...)
	if err != nil && !errors.As(err, &nse) {
		return nil, err
	}
	for _, s := range sigs {
		ev.Signatures = append(ev.Signatures, s.PolicySignature())
	}
	if len(keys) == 0 {
		return &ev, nil // attestations are verified with keys only, for now
	}
	atts, err := VerifyAttestations(ctx, d, keys, opts...)
	if err != nil && !errors.As(err, &nse) {
		return nil, err
	}
	for _, a := range atts {
		if p, ok := a.Provenance(); ok {
			ev.Provenance = append(ev.Provenance, p)
		}
	}
	return &ev, nil
}
