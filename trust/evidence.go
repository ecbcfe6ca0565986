package trust

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vigilsec/vigil/policy"
)

// Evidence is what verification establishes about a digest, in the
// policy's terms: the signatures and attestations that verified, and the
// SLSA provenance among the attestations.
type Evidence struct {
	Signatures   []policy.Signature
	Attestations []policy.Attestation
	Provenance   []policy.Provenance
}

// VerifyImage verifies both places cosign keeps signatures: the
// sha256-<digest>.sig tag (key signatures only) and Sigstore bundles
// attached as OCI 1.1 referrers (keys, or keyless when keyless is set).
// With none valid it returns a *NoSignatureError listing every candidate.
func VerifyImage(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) ([]Verified, error) {
	return both(d, len(keys) > 0,
		func() ([]Verified, error) { return Verify(ctx, d, keys, opts...) },
		func() ([]Verified, error) { return VerifyBundles(ctx, d, keys, keyless, opts...) })
}

// VerifyImageAttestations is VerifyImage for attestations: the
// sha256-<digest>.att tag (keys only) and Sigstore bundle referrers.
func VerifyImageAttestations(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) ([]Attestation, error) {
	return both(d, len(keys) > 0,
		func() ([]Attestation, error) { return VerifyAttestations(ctx, d, keys, opts...) },
		func() ([]Attestation, error) { return VerifyBundleAttestations(ctx, d, keys, keyless, opts...) })
}

// both merges what d's tag (read only when withTag) and its referrers
// hold; with nothing valid in either it returns a *NoSignatureError
// listing the candidates of both.
func both[T any](d name.Digest, withTag bool, tag, referrers func() ([]T, error)) ([]T, error) {
	nse := &NoSignatureError{Ref: d.String()}
	var all []T
	gets := []func() ([]T, error){referrers}
	if withTag {
		gets = []func() ([]T, error){tag, referrers}
	}
	for _, get := range gets {
		v, err := get()
		var e *NoSignatureError
		switch {
		case errors.As(err, &e):
			nse.Rejected = append(nse.Rejected, e.Rejected...)
		case err != nil:
			return nil, err
		}
		all = append(all, v...)
	}
	if len(all) == 0 {
		return nil, nse
	}
	return all, nil
}

// Gather verifies d's signatures and attestations: the .sig and .att tags
// with keys, and the Sigstore bundle referrers with keys or keyless's
// identity. Missing or invalid signatures are not an error (they are
// absent from the evidence, for the policy to judge); failing to reach the
// registry is.
func Gather(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) (*Evidence, error) {
	var ev Evidence
	var atts []Attestation
	var nse *NoSignatureError
	if len(keys) > 0 {
		sigs, err := Verify(ctx, d, keys, opts...)
		if err != nil && !errors.As(err, &nse) {
			return nil, err
		}
		for _, s := range sigs {
			ev.Signatures = append(ev.Signatures, s.PolicySignature())
		}
		if atts, err = VerifyAttestations(ctx, d, keys, opts...); err != nil && !errors.As(err, &nse) {
			return nil, err
		}
	}
	r, err := verifyReferrers(ctx, d, keys, keyless, opts)
	if err != nil {
		return nil, err
	}
	for _, s := range r.sigs {
		ev.Signatures = append(ev.Signatures, s.PolicySignature())
	}
	for _, a := range r.atts {
		atts = append(atts, a.Attestation)
	}
	for _, a := range atts {
		ev.Attestations = append(ev.Attestations, policy.Attestation{Kind: a.Kind, PredicateType: a.PredicateType, Signer: a.Signer, Issuer: a.Issuer})
		if p, ok := a.Provenance(); ok {
			ev.Provenance = append(ev.Provenance, p)
		}
	}
	return &ev, nil
}
