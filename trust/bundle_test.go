package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigilsec/vigil/internal/testimage"
)

// attachBundle pushes a Sigstore bundle as an OCI 1.1 referrer of d, the
// way cosign 3 does: a manifest whose subject is d, with the bundle as its
// one layer and the bundle media type as its artifact type.
func attachBundle(t *testing.T, d name.Digest, bundleJSON []byte) {
	t.Helper()
	desc, err := remote.Head(d)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, BundleArtifactType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(bundleJSON, BundleArtifactType), MediaType: BundleArtifactType})
	if err != nil {
		t.Fatal(err)
	}
	ref := mutate.Subject(img, *desc).(v1.Image)
	rd, err := ref.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(d.Context().Digest(rd.String()), ref); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyBundleWithKey(t *testing.T) {
	host := testimage.Registry(t)
	ctx := t.Context()
	img := pushRandom(t, host, "app:1")
	other := pushRandom(t, host, "app:2")

	kp, pub := ephemeralKey(t)
	_, untrusted := loadPair(t, "")
	h, _ := v1.NewHash(img.DigestStr())
	st := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"` + img.Context().Name() + `","digest":{"sha256":"` + h.Hex + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`
	pb, err := sign.Bundle(&sign.DSSEData{Data: []byte(st), PayloadType: InTotoPayloadType}, kp, sign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bj, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	attachBundle(t, img, bj)
	attachBundle(t, other, bj) // the same bundle, hung on another image

	got, err := VerifyBundles(ctx, img, []*PublicKey{untrusted, pub}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != "bundle" || got[0].Signer != pub.ID {
		t.Fatalf("verified %+v", got)
	}
	if _, err := VerifyBundles(ctx, img, []*PublicKey{untrusted}, nil); err == nil {
		t.Error("verified with an untrusted key")
	}
	if _, err := VerifyBundles(ctx, other, []*PublicKey{pub}, nil); err == nil {
		t.Error("a bundle about another digest verified")
	}
	// A valid bundle, but of an SBOM attestation: not a signature.
	sbom := pushRandom(t, host, "app:4")
	sh, _ := v1.NewHash(sbom.DigestStr())
	ast := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"` + sh.Hex + `"}}],"predicateType":"https://cyclonedx.org/bom","predicate":{}}`
	apb, err := sign.Bundle(&sign.DSSEData{Data: []byte(ast), PayloadType: InTotoPayloadType}, kp, sign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	abj, err := protojson.Marshal(apb)
	if err != nil {
		t.Fatal(err)
	}
	attachBundle(t, sbom, abj)
	if _, err := VerifyBundles(ctx, sbom, []*PublicKey{pub}, nil); err == nil || !strings.Contains(err.Error(), "not a signature") {
		t.Errorf("an attestation bundle counted as a signature: %v", err)
	}

	tampered := strings.Replace(string(bj), `"signatures":[{"sig":"`, `"signatures":[{"sig":"AAAA`, 1)
	if tampered == string(bj) {
		t.Fatalf("no signature to tamper with in %s", bj)
	}
	forged := pushRandom(t, host, "app:3")
	attachBundle(t, forged, []byte(strings.Replace(tampered, h.Hex, strings.TrimPrefix(forged.DigestStr(), "sha256:"), 1)))
	if _, err := VerifyBundles(ctx, forged, []*PublicKey{pub}, nil); err == nil {
		t.Error("a forged bundle verified")
	}
}

// TestVerifyKeyless uses sigstore-go's in-process Sigstore (a CA, a
// transparency log and a timestamp authority) as the trusted root.
func TestVerifyKeyless(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	artifact := []byte("image manifest bytes")
	sum := sha256.Sum256(artifact)
	const id, issuer = "https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main", "https://token.actions.githubusercontent.com"
	entity, err := vs.Sign(id, issuer, artifact)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := verifyEntity(entity, "sha256", sum[:], nil, &Keyless{Root: vs, Identity: id, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer != id || v.Issuer != issuer {
		t.Errorf("verified %+v", v)
	}
	wrong := sha256.Sum256([]byte("another image"))
	for _, tc := range []struct {
		name    string
		digest  []byte
		keyless Keyless
	}{
		{"other identity", sum[:], Keyless{Root: vs, Identity: "https://github.com/evil/x", Issuer: issuer}},
		{"other issuer", sum[:], Keyless{Root: vs, Identity: id, Issuer: "https://accounts.google.com"}},
		{"untrusted root", sum[:], Keyless{Root: other, Identity: id, Issuer: issuer}},
		{"other digest", wrong[:], Keyless{Root: vs, Identity: id, Issuer: issuer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := verifyEntity(entity, "sha256", tc.digest, nil, &tc.keyless); err == nil {
				t.Fatalf("verified (digest %s)", hex.EncodeToString(tc.digest))
			}
		})
	}
}

// ephemeralKey is a key pair as sigstore-go's signer makes one, and the
// public key to trust for it.
func ephemeralKey(t *testing.T) (*sign.EphemeralKeypair, *PublicKey) {
	t.Helper()
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublicKey("bundle.pub", kp.GetPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return kp, pub
}
