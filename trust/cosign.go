package trust

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/vigilsec/vigil/policy"
)

// Where cosign keeps things; these strings are its on-registry format.
const (
	SimpleSigningMediaType = types.MediaType("application/vnd.dev.cosign.simplesigning.v1+json")
	SignatureAnnotation    = "dev.cosignproject.cosign/signature"
	signatureSuffix        = ".sig"
)

// Bounds on what a registry may make us read: cosign payloads are a few
// hundred bytes and an image rarely carries more than a handful of
// signatures.
const (
	maxSignatureLayers = 64
	maxPayloadBytes    = 256 << 10
	maxSignatureChars  = 16 << 10
	// An attestation can carry a whole SBOM.
	maxAttestationBytes = 64 << 20
)

// Verified is a signature that verified with a trusted key and signs the
// digest being verified.
type Verified struct {
	Kind string // "cosign" (a .sig tag) or "bundle" (a Sigstore bundle referrer)
	// Key is the trusted key that verified; nil for keyless signatures.
	Key *PublicKey
	// Signer is Key.ID, or a keyless certificate's subject alternative
	// name; Issuer is the certificate's OIDC issuer.
	Signer, Issuer string
	// Claimed is the docker-reference the signer wrote; informative only.
	Claimed string
	// Annotations are the signer's optional annotations (-a key=value).
	Annotations map[string]any
}

// Rejected is a signature that was present but did not count, and why.
type Rejected struct {
	Layer  int
	Reason string
}

// NoSignatureError says that no signature verified, with each candidate's
// reason, so "forged" and "signed another digest" are told apart.
type NoSignatureError struct {
	Ref      string
	Rejected []Rejected
}

func (e *NoSignatureError) Error() string {
	if len(e.Rejected) == 0 {
		return fmt.Sprintf("%s: no signatures found", e.Ref)
	}
	var parts []string
	for _, r := range e.Rejected {
		parts = append(parts, fmt.Sprintf("signature %d: %s", r.Layer, r.Reason))
	}
	return fmt.Sprintf("%s: no valid signature: %s", e.Ref, strings.Join(parts, "; "))
}

// SignatureTag is the tag cosign stores d's signatures under.
func SignatureTag(d name.Digest) (name.Tag, error) {
	return suffixTag(d, signatureSuffix)
}

func suffixTag(d name.Digest, suffix string) (name.Tag, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return name.Tag{}, fmt.Errorf("digest %s: %w", d, err)
	}
	return d.Context().Tag(h.Algorithm + "-" + h.Hex + suffix), nil
}

// Sign signs the image d with s and stores the signature where cosign
// looks for it, keeping signatures already there. annotations go into the
// payload's optional section, as cosign's -a does.
func Sign(ctx context.Context, d name.Digest, s *Signer, annotations map[string]any, opts ...remote.Option) error {
	p, err := json.Marshal(payload.Cosign{Image: d, Annotations: annotations})
	if err != nil {
		return fmt.Errorf("sign %s: %w", d, err)
	}
	sig, err := s.sv.SignMessage(bytes.NewReader(p))
	if err != nil {
		return fmt.Errorf("sign %s: %w", d, err)
	}
	l := static.NewLayer(p, SimpleSigningMediaType)
	return appendLayer(ctx, d, signatureSuffix, l, map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}, opts)
}

// appendLayer adds l to the image at d's suffix tag, creating it if need
// be, as cosign does: one image per kind, one layer per signature.
func appendLayer(ctx context.Context, d name.Digest, suffix string, l v1.Layer, ann map[string]string, opts []remote.Option) error {
	tag, err := suffixTag(d, suffix)
	if err != nil {
		return err
	}
	opts = append(opts, remote.WithContext(ctx))
	base, err := remote.Image(tag, opts...)
	switch {
	case isNotFound(err):
		base = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	case err != nil:
		return fmt.Errorf("read %s: %w", tag, err)
	}
	mt, err := l.MediaType()
	if err != nil {
		return err
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: l, Annotations: ann, MediaType: mt})
	if err != nil {
		return fmt.Errorf("add to %s: %w", tag, err)
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return fmt.Errorf("push %s: %w", tag, err)
	}
	return nil
}

// Verify returns the cosign signatures on d that verify with one of keys
// and sign d's digest. It needs no transparency log: a key signature is
// checked against the key alone. With none valid it returns a
// *NoSignatureError saying why each candidate failed.
func Verify(ctx context.Context, d name.Digest, keys []*PublicKey, opts ...remote.Option) ([]Verified, error) {
	if len(keys) == 0 {
		return nil, errors.New("verify: no trusted keys given")
	}
	layers, err := signatureLayers(ctx, d, signatureSuffix, maxPayloadBytes, opts)
	if err != nil {
		return nil, err
	}
	var ok []Verified
	nse := &NoSignatureError{Ref: d.String()}
	for i, sl := range layers {
		v, err := verifySimpleSigning(d, sl, keys)
		if err != nil {
			nse.Rejected = append(nse.Rejected, Rejected{Layer: i, Reason: err.Error()})
			continue
		}
		ok = append(ok, *v)
	}
	if len(ok) == 0 {
		return nil, nse
	}
	return ok, nil
}

// sigLayer is one layer of a .sig or .att image: its bytes (checked
// against its digest) and annotations.
type sigLayer struct {
	mediaType   types.MediaType
	payload     []byte
	annotations map[string]string
}

func signatureLayers(ctx context.Context, d name.Digest, suffix string, maxBytes int64, opts []remote.Option) ([]sigLayer, error) {
	tag, err := suffixTag(d, suffix)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(tag, append(opts, remote.WithContext(ctx))...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tag, err)
	}
	if len(m.Layers) > maxSignatureLayers {
		return nil, fmt.Errorf("read %s: %d layers, more than the %d signatures Vigil reads", tag, len(m.Layers), maxSignatureLayers)
	}
	var out []sigLayer
	for i, desc := range m.Layers {
		if desc.Size > maxBytes || desc.Size < 0 {
			return nil, fmt.Errorf("read %s layer %d: %d bytes, more than the %d Vigil reads", tag, i, desc.Size, maxBytes)
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("read %s layer %d: %w", tag, i, err)
		}
		// ggcr checks the blob's digest as it is read.
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("read %s layer %s: %w", tag, desc.Digest, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s layer %s: %w", tag, desc.Digest, err)
		}
		if int64(len(b)) != desc.Size {
			return nil, fmt.Errorf("read %s layer %s: %d bytes, manifest says %d", tag, desc.Digest, len(b), desc.Size)
		}
		out = append(out, sigLayer{mediaType: desc.MediaType, payload: b, annotations: desc.Annotations})
	}
	return out, nil
}

func verifySimpleSigning(d name.Digest, l sigLayer, keys []*PublicKey) (*Verified, error) {
	b64 := l.annotations[SignatureAnnotation]
	if b64 == "" {
		return nil, errors.New("no signature annotation")
	}
	if len(b64) > maxSignatureChars {
		return nil, errors.New("signature annotation too long")
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("signature annotation is not base64: %w", err)
	}
	key := verifyWithAny(keys, sig, l.payload)
	if key == nil {
		return nil, errors.New("signature does not verify with any trusted key")
	}
	// Only now, with the payload authenticated, is it worth parsing.
	var sci payload.SimpleContainerImage
	if err := json.Unmarshal(l.payload, &sci); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if sci.Critical.Type != payload.CosignSignatureType {
		return nil, fmt.Errorf("payload type %q is not %q", sci.Critical.Type, payload.CosignSignatureType)
	}
	if got := sci.Critical.Image.DockerManifestDigest; got != d.DigestStr() {
		return nil, fmt.Errorf("signature by %s is for %s, not %s", key.ID, got, d.DigestStr())
	}
	return &Verified{Kind: "cosign", Key: key, Signer: key.ID, Claimed: sci.Critical.Identity.DockerReference, Annotations: sci.Optional}, nil
}

func verifyWithAny(keys []*PublicKey, sig, msg []byte) *PublicKey {
	for _, k := range keys {
		if k.verifier.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)) == nil {
			return k
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// PolicySignature is how a policy sees v.
func (v Verified) PolicySignature() policy.Signature {
	s := policy.Signature{Kind: v.Kind, Signer: v.Signer, Issuer: v.Issuer}
	if v.Key != nil {
		s.KeyName = v.Key.Name
	}
	return s
}
