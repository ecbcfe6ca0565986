package trust

import (
	"context"
	"encoding/hex"
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

// VerifyBundles returns the Sigstore bundles attached to d as OCI
// referrers that verify with one of keys or, when keyless is not nil,
// with a certificate for its identity. Verification uses sigstore-go.
func VerifyBundles(ctx context.Context, d name.Digest, keys []*PublicKey, keyless *Keyless, opts ...remote.Option) ([]Verified, error) {
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
	var ok []Verified
	nse := &NoSignatureError{Ref: d.String()}
	for i, raw := range raws {
		v, err := verifyBundle(raw, h.Algorithm, want, keys, keyless)
		if err != nil {
			nse.Rejected = append(nse.Rejected, Rejected{Layer: i, Reason: "bundle: " + err.Error()})
			continue
		}
		ok = append(ok, *v)
	}
	if len(ok) == 0 {
		return nil, nse
	}
	return ok, nil
}

func referredBundles(ctx context.Context, d name.Digest, opts []remote.Option) ([][]byte, error) {
	opts = append(opts, remote.WithContext(ctx))
	idx, err := remote.Referrers(d, append(opts, remote.WithFilter("artifactType", BundleArtifactType))...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", d, err)
	}
	var out [][]byte
	for _, desc := range im.Manifests {
		if desc.ArtifactType != BundleArtifactType {
			continue // registries without filtering support return everything
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
		if len(m.Layers) != 1 || m.Layers[0].Size > maxPayloadBytes {
			return nil, fmt.Errorf("read bundle %s: want one layer of at most %d bytes", desc.Digest, maxPayloadBytes)
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

func verifyBundle(raw []byte, alg string, digest []byte, keys []*PublicKey, keyless *Keyless) (*Verified, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return verifyEntity(&b, alg, digest, keys, keyless)
}

func verifyEntity(b verify.SignedEntity, alg string, digest []byte, keys []*PublicKey, keyless *Keyless) (*Verified, error) {
	artifact := verify.WithArtifactDigest(alg, digest)
	var errs []error
	for _, k := range keys {
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
		})
		// A key signature needs no log: the key alone vouches for it,
		// and the verification time is now.
		v, err := verify.NewVerifier(tm, verify.WithCurrentTime())
		if err != nil {
			return nil, err
		}
		res, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithKey()))
		if err != nil {
			errs = append(errs, fmt.Errorf("key %s: %w", k.Name, err))
			continue
		}
		if err := isSignature(res); err != nil {
			return nil, err
		}
		return &Verified{Kind: "bundle", Key: k, Signer: k.ID}, nil
	}
	if keyless != nil {
		id, err := verify.NewShortCertificateIdentity(keyless.Issuer, "", keyless.Identity, "")
		if err != nil {
			return nil, err
		}
		v, err := verify.NewVerifier(keyless.Root, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
		if err != nil {
			return nil, err
		}
		res, err := v.Verify(b, verify.NewPolicy(artifact, verify.WithCertificateIdentity(id)))
		if err == nil {
			if err := isSignature(res); err != nil {
				return nil, err
			}
			return &Verified{Kind: "bundle", Signer: res.Signature.Certificate.SubjectAlternativeName, Issuer: res.Signature.Certificate.Issuer}, nil
		}
		errs = append(errs, fmt.Errorf("identity %s from %s: %w", keyless.Identity, keyless.Issuer, err))
	}
	return nil, errors.Join(errs...)
}

// isSignature accepts a message signature (over the manifest itself) or a
// DSSE statement with cosign's signing predicate.
func isSignature(res *verify.VerificationResult) error {
	if res.Statement != nil && res.Statement.PredicateType != cosignSignPredicate {
		return fmt.Errorf("an attestation of %s, not a signature", res.Statement.PredicateType)
	}
	return nil
}
