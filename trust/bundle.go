package trust

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// BundleArtifactType marks an OCI 1.1 referrer that carries a Sigstore
// bundle, as cosign 3 attaches signatures by default.
const BundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// cosignSignPredicate is the predicate of the in-toto statement cosign 3
// signs an image with; a bundle with any other predicate is an attestation
// (an SBOM, provenance) and must not count as a signature of the image.
const cosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"

// Keyless trusts certificates issued by a trusted root's certificate
// authorities to one identity, as cosign's --certificate-identity and
// --certificate-oidc-issuer do. The bundle must carry its transparency log
// inclusion proof: it is checked offline against the root's log keys.
type Keyless struct {
	Root     root.TrustedMaterial
	Identity string // the certificate's subject alternative name
	Issuer   string // the OIDC issuer
}

// LoadTrustedRoot reads a Sigstore trusted root (trusted_root.json, as
// `cosign trusted-root create` writes or TUF distributes).
func LoadTrustedRoot(path string) (root.TrustedMaterial, error) {
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted root %s: %w", path, err)
	}
	return tr, nil
}

// emptyMediaType is the OCI 1.1 empty descriptor's: the config of an
// artifact manifest, such as cosign 3's bundle referrers, that has none.
const emptyMediaType = "application/vnd.oci.empty.v1+json"

// VerifyBundles returns the Sigstore bundles attached to d as OCI
// referrers that verify with one of keys or, when keyless is not nil,
// with a certificate for its identity, and sign d (attestations do not).
// Verification uses sigstore-go.
func VerifyBundles(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) ([]Verified, error) {
	r, err := verifyReferrers(ctx, d, keys, keyless, opts)
	if err != nil {
		return nil, err
	}
	nse := &NoSignatureError{Ref: d.String(), Rejected: r.rejected}
	for _, a := range r.atts {
		nse.Rejected = append(nse.Rejected, Rejected{Layer: a.index, Reason: "bundle: an attestation of " + a.PredicateType + ", not a signature"})
	}
	if len(r.sigs) == 0 {
		return nil, nse
	}
	return r.sigs, nil
}

// VerifyBundleAttestations returns the in-toto attestations attached to d
// as Sigstore bundles, cosign 3's layout (OCI 1.1 referrers), that verify
// with one of keys or keyless's identity and whose statement names d.
func VerifyBundleAttestations(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) ([]Attestation, error) {
	r, err := verifyReferrers(ctx, d, keys, keyless, opts)
	if err != nil {
		return nil, err
	}
	if len(r.atts) == 0 {
		return nil, &NoSignatureError{Ref: d.String(), Rejected: r.rejected}
	}
	out := make([]Attestation, len(r.atts))
	for i, a := range r.atts {
		out[i] = a.Attestation
	}
	return out, nil
}

// referrers is what the bundles attached to a digest established.
type referrers struct {
	sigs     []Verified
	atts     []indexedAttestation
	rejected []Rejected
}

type indexedAttestation struct {
	Attestation
	index int
}

// verifyReferrers reads d's bundle referrers once and sorts those that
// verify into signatures and attestations by what their signed content
// says, never by the referrer's annotations, which nobody signed.
func verifyReferrers(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts []remote.Option) (*referrers, error) {
	if len(keys) == 0 && keyless == nil {
		return nil, errors.New("verify bundles: no trusted keys or identities given")
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, err
	}
	want, err := hex.DecodeString(h.Hex)
	if err != nil {
		return nil, err
	}
	raws, err := referredBundles(ctx, d, opts)
	if err != nil {
		return nil, err
	}
	r := &referrers{}
	for i, raw := range raws {
		v, b, res, err := verifyBundle(raw, h.Algorithm, want, keys, keyless)
		if err != nil {
			r.rejected = append(r.rejected, Rejected{Layer: i, Reason: "bundle: " + err.Error()})
			continue
		}
		if isSignature(res) {
			r.sigs = append(r.sigs, *v)
			continue
		}
		a, err := bundleAttestation(b, v)
		if err != nil {
			r.rejected = append(r.rejected, Rejected{Layer: i, Reason: "bundle: " + err.Error()})
			continue
		}
		r.atts = append(r.atts, indexedAttestation{*a, i})
	}
	return r, nil
}

// verifyBundle parses a Sigstore bundle (JSON) and verifies it as
// verifyEntity does.
func verifyBundle(raw []byte, alg string, digest []byte, keys []*PublicKey, keyless *Keyless) (*Verified, *bundle.Bundle, *verify.VerificationResult, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, nil, nil, err
	}
	v, res, err := verifyEntity(&b, alg, digest, keys, keyless)
	return v, &b, res, err
}

// bundleAttestation reads the statement of a verified DSSE bundle. The
// predicate is taken from the signed payload as written: sigstore-go's
// parsed form (structpb) would round numbers and cost far more memory.
func bundleAttestation(b *bundle.Bundle, v *Verified) (*Attestation, error) {
	env, err := b.Envelope()
	if err != nil {
		return nil, err
	}
	payload, err := env.RawEnvelope().DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	return &Attestation{Kind: "bundle", Key: v.Key, Signer: v.Signer, Issuer: v.Issuer, PredicateType: st.PredicateType, Predicate: st.Predicate}, nil
}

// referredBundles reads the Sigstore bundles attached to d. A referrer is
// a bundle when its manifest says so: registries report a referrer's
// artifactType from the manifest's artifactType (cosign 3 sets it, with an
// empty config) or, some of them, from its config's media type (which
// older writers set to the bundle type), so both are looked at.
func referredBundles(ctx context.Context, d name.Digest, opts []remote.Option) ([][]byte, error) {
	opts = append(opts, remote.WithContext(ctx))
	// Not filtered by artifactType: a registry that reports the config's
	// media type would have cosign 3's bundles filtered out.
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	var out [][]byte
	for _, desc := range im.Manifests {
		if desc.ArtifactType != BundleArtifactType && desc.ArtifactType != emptyMediaType {
			continue
		}
		if len(out) == maxSignatureLayers {
			return nil, fmt.Errorf("referrers of %s: more than %d bundles", d, maxSignatureLayers)
		}
		img, err := remote.Image(d.Context().Digest(desc.Digest.String()), opts...)
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", desc.Digest, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", desc.Digest, err)
		}
		if len(m.Layers) != 1 || m.Layers[0].MediaType != BundleArtifactType {
			continue // another artifact with an empty config
		}
		if m.Layers[0].Size > maxPayloadBytes {
			return nil, fmt.Errorf("read bundle %s: larger than %d bytes", desc.Digest, maxPayloadBytes)
		}
		l, err := img.LayerByDigest(m.Layers[0].Digest)
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", desc.Digest, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", desc.Digest, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxPayloadBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", desc.Digest, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// verifyEntity verifies b as a signature of digest by one of keys or
// keyless's identity; what it signs (the image, or a statement about it)
// is the caller's to judge from the result.
func verifyEntity(b verify.SignedEntity, alg string, digest []byte, keys []*PublicKey, keyless *Keyless) (*Verified, *verify.VerificationResult, error) {
	artifact := verify.WithArtifactDigest(alg, digest)
	var errs []error
	for _, k := range keys {
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
		})
		// A key signature needs no log: the key alone vouches for it,
		// and the verification time is now.
		v, err := verify.NewVerifier(tm, verify.WithCurrentTime(), verify.WithoutStatementPredicate())
		if err != nil {
			return nil, nil, err
		}
		res, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithKey()))
		if err != nil {
			errs = append(errs, fmt.Errorf("key %s: %w", k.Name, err))
			continue
		}
		return &Verified{Kind: "bundle", Key: k, Signer: k.ID}, res, nil
	}
	if keyless != nil {
		id, err := verify.NewShortCertificateIdentity(keyless.Issuer, "", keyless.Identity, "")
		if err != nil {
			return nil, nil, err
		}
		v, err := verify.NewVerifier(keyless.Root, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1), verify.WithoutStatementPredicate())
		if err != nil {
			return nil, nil, err
		}
		res, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithCertificateIdentity(id)))
		if err == nil {
			c := res.Signature.Certificate
			return &Verified{Kind: "bundle", Signer: c.SubjectAlternativeName, Issuer: c.Issuer}, res, nil
		}
		errs = append(errs, fmt.Errorf("identity %s from %s: %w", keyless.Identity, keyless.Issuer, err))
	}
	return nil, nil, errors.Join(errs...)
}

// isSignature reports whether a verified bundle signs the image: a message
// signature (over the manifest itself) or a DSSE statement with cosign's
// signing predicate. Any other statement is an attestation (an SBOM,
// provenance) and must not count as a signature of the image.
func isSignature(res *verify.VerificationResult) bool {
	return res.Statement == nil || res.Statement.PredicateType == cosignSignPredicate
}
