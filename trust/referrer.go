package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
)

// Annotations cosign 3 puts on a bundle referrer, for tools listing them
// without reading the bundles; they are not signed, so verification never
// reads them.
const (
	bundleContentAnnotation       = "dev.sigstore.bundle.content"
	bundlePredicateTypeAnnotation = "dev.sigstore.bundle.predicateType"
)

// AttestBundle signs an in-toto statement about d with the predicate (JSON)
// of predicateType as a Sigstore bundle (a DSSE envelope, the key's hint as
// its verification material) and attaches it to d as an OCI 1.1 referrer,
// laid out as `cosign attest` does from cosign 3 on: artifact type the
// bundle media type, an empty config, the bundle as the one layer.
func AttestBundle(ctx context.Context, d name.Digest, s *Signer, predicateType string, predicate []byte, opts ...remote.Option) error {
	st, err := newStatement(d, predicateType, predicate)
	if err != nil {
		return fmt.Errorf("attest %s: %w", d, err)
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: st, PayloadType: InTotoPayloadType}, keypair{s}, sign.BundleOptions{Context: ctx})
	if err != nil {
		return fmt.Errorf("attest %s: %w", d, err)
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		return fmt.Errorf("attest %s: %w", d, err)
	}
	ann := map[string]string{
		"org.opencontainers.image.created": time.Now().UTC().Format(time.RFC3339),
		bundleContentAnnotation:            "dsse-envelope",
		bundlePredicateTypeAnnotation:      predicateType,
	}
	if err := writeReferrer(ctx, d, BundleArtifactType, static.NewLayer(b, BundleArtifactType), ann, opts); err != nil {
		return fmt.Errorf("attest %s: %w", d, err)
	}
	return nil
}

// writeReferrer attaches layer to d as an OCI 1.1 artifact of
// artifactType with an empty config. ggcr writes the referrers fallback
// tag for registries without the referrers API.
func writeReferrer(ctx context.Context, d name.Digest, artifactType string, layer v1.Layer, annotations map[string]string, opts []remote.Option) error {
	opts = append(opts, remote.WithContext(ctx))
	subject, err := remote.Head(d, opts...)
	if err != nil {
		return err
	}
	empty := static.NewLayer([]byte("{}"), emptyMediaType)
	repo := d.Context()
	for _, l := range []v1.Layer{empty, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return err
		}
	}
	desc := func(l v1.Layer) (v1.Descriptor, error) {
		h, err := l.Digest()
		if err != nil {
			return v1.Descriptor{}, err
		}
		n, err := l.Size()
		if err != nil {
			return v1.Descriptor{}, err
		}
		mt, err := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, err
	}
	cfg, err := desc(empty)
	if err != nil {
		return err
	}
	ld, err := desc(layer)
	if err != nil {
		return err
	}
	ld.Annotations = map[string]string{"org.opencontainers.image.title": fmt.Sprintf("%s-%s.sigstore.json", ld.Digest.Algorithm, ld.Digest.Hex)}
	m, err := json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        cfg,
		Layers:        []v1.Descriptor{ld},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   annotations,
	})
	if err != nil {
		return err
	}
	h, _, err := v1.SHA256(bytes.NewReader(m))
	if err != nil {
		return err
	}
	return remote.Put(repo.Digest(h.String()), rawManifest(m), opts...)
}

// rawManifest is a manifest already serialised, for remote.Put.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)      { return m, nil }
func (rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// keypair lets sigstore-go's bundle signer sign with a Signer's key.
type keypair struct{ s *Signer }

func (keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256 // NewSigner signs SHA-256 digests
}

func (k keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	d, err := signature.GetDefaultPublicKeyDetails(k.s.Pub.Key)
	if err != nil {
		return protocommon.PublicKeyDetails_PUBLIC_KEY_DETAILS_UNSPECIFIED
	}
	return d
}

// GetHint is sigstore-go's hint for a key: the base64 SHA-256 of its DER
// form.
func (k keypair) GetHint() []byte {
	der, err := cryptoutils.MarshalPublicKeyToDER(k.s.Pub.Key)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

// GetKeyAlgorithm names the key's type as Fulcio requests do.
func (k keypair) GetKeyAlgorithm() string {
	switch k.s.Pub.Key.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA"
	case *rsa.PublicKey:
		return "RSA"
	case ed25519.PublicKey:
		return "ED25519"
	}
	return ""
}

func (k keypair) GetPublicKey() crypto.PublicKey { return k.s.Pub.Key }

func (k keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.s.Pub.Key)
	return string(b), err
}

func (k keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	sig, err := k.s.sv.SignMessage(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(data)
	return sig, sum[:], nil
}
