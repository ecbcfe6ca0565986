package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// fuzzKey is a fixed trusted key; forged inputs must never verify with it.
func fuzzKey(f *testing.F) *PublicKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pk, err := NewPublicKey("fuzz.pub", &k.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	return pk
}

var fuzzDigest = name.MustParseReference("r.example/app@sha256:ab23456789012345678901234567890123456789012345678901234567890123").(name.Digest)

func FuzzVerifySimpleSigning(f *testing.F) {
	key := fuzzKey(f)
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r.example/app"},"image":{"docker-manifest-digest":"sha256:ab23456789012345678901234567890123456789012345678901234567890123"},"type":"cosign container image signature"},"optional":null}`), "MEUCIQ==")
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, payload []byte, sig string) {
		l := sigLayer{payload: payload, annotations: map[string]string{SignatureAnnotation: sig}}
		if v, err := verifySimpleSigning(fuzzDigest, l, []*PublicKey{key}); err == nil {
			t.Fatalf("a fuzzed signature verified: %+v", v)
		}
	})
}

func FuzzVerifyBundle(f *testing.F) {
	key := fuzzKey(f)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUCIQ=="}]}}`))
	f.Add([]byte(`{}`))
	digest := make([]byte, 32)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if v, _, _, err := verifyBundle(raw, "sha256", digest, []*PublicKey{key}, nil); err == nil {
			t.Fatalf("a fuzzed bundle verified: %+v", v)
		}
	})
}

func FuzzVerifyAttestation(f *testing.F) {
	key := fuzzKey(f)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"MEUCIQ=="}]}`))
	f.Fuzz(func(t *testing.T, env []byte) {
		if a, err := verifyAttestation(fuzzDigest, sigLayer{payload: env}, []*PublicKey{key}); err == nil {
			t.Fatalf("a fuzzed attestation verified: %+v", a)
		}
	})
}
