package trust

import (
	"bytes"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/vigilsec/vigil/internal/testimage"
)

// keyPair writes an encrypted key pair in cosign's format (what
// `cosign generate-key-pair` writes) and returns the paths.
func keyPair(t *testing.T, password string) (priv, pub string) {
	t.Helper()
	privPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if !bytes.Contains(privPEM, []byte("ENCRYPTED SIGSTORE PRIVATE KEY")) {
		t.Fatalf("key is not in cosign's encrypted format:\n%s", privPEM)
	}
	if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func loadPair(t *testing.T, password string) (*Signer, *PublicKey) {
	t.Helper()
	privPath, pubPath := keyPair(t, password)
	s, err := LoadPrivateKey(privPath, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != s.Pub.ID {
		t.Fatalf("public key %s does not match private key %s", p.ID, s.Pub.ID)
	}
	return s, p
}

// pushRandom pushes a random image and returns its digest reference.
func pushRandom(t *testing.T, host, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(testimage.Push(t, host, repo, img), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLoadPrivateKeyWrongPassword(t *testing.T) {
	priv, _ := keyPair(t, "right")
	if _, err := LoadPrivateKey(priv, []byte("wrong")); err == nil {
		t.Fatal("loaded an encrypted key with the wrong password")
	}
	if _, err := LoadPrivateKey(priv, nil); err == nil {
		t.Fatal("loaded an encrypted key with no password")
	}
}

func TestSignVerify(t *testing.T) {
	for _, reg := range []struct {
		name  string
		start func(testing.TB) string
	}{
		{"ggcr", testimage.Registry},
		{"docker-registry", testimage.DockerRegistry},
	} {
		t.Run(reg.name, func(t *testing.T) {
			host := reg.start(t)
			signer, pub := loadPair(t, "")
			_, otherPub := loadPair(t, "x")
			ctx := t.Context()
			opts := []remote.Option{}

			img := pushRandom(t, host, "app:1")
			other := pushRandom(t, host, "app:2")
			unsigned := pushRandom(t, host, "app:3")
			if err := Sign(ctx, img, signer, map[string]any{"scanned-by": "vigil"}, opts...); err != nil {
				t.Fatal(err)
			}
			// A second signature is added beside the first, as cosign does.
			signer2, pub2 := loadPair(t, "")
			if err := Sign(ctx, img, signer2, nil, opts...); err != nil {
				t.Fatal(err)
			}

			got, err := Verify(ctx, img, []*PublicKey{pub})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Key.ID != pub.ID || got[0].Annotations["scanned-by"] != "vigil" {
				t.Fatalf("verified %+v", got)
			}
			if got, err := Verify(ctx, img, []*PublicKey{otherPub, pub, pub2}); err != nil || len(got) != 2 {
				t.Fatalf("with both signers trusted: %d signatures, %v", len(got), err)
			}

			// Moving img's signatures under other's tag must not make
			// other verify: the payload names img's digest.
			copyTag(t, img, other, signatureSuffix)

			for _, tc := range []struct {
				name string
				ref  name.Digest
				keys []*PublicKey
				want string
			}{
				{"untrusted key", img, []*PublicKey{otherPub}, "does not verify with any trusted key"},
				{"signature for another digest", other, []*PublicKey{pub}, "is for " + img.DigestStr()},
				{"unsigned", unsigned, []*PublicKey{pub}, "no signatures found"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := Verify(ctx, tc.ref, tc.keys)
					var nse *NoSignatureError
					if !errors.As(err, &nse) || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("err %v, want a NoSignatureError containing %q", err, tc.want)
					}
				})
			}
		})
	}
}

func copyTag(t *testing.T, from, to name.Digest, suffix string) {
	t.Helper()
	src, _ := suffixTag(from, suffix)
	dst, _ := suffixTag(to, suffix)
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}
}

// TestForged checks payloads and signatures that were tampered with.
func TestForged(t *testing.T) {
	host := testimage.Registry(t)
	signer, pub := loadPair(t, "")
	ctx := t.Context()
	img := pushRandom(t, host, "app:1")
	if err := Sign(ctx, img, signer, nil); err != nil {
		t.Fatal(err)
	}
	layers, err := signatureLayers(ctx, img, signatureSuffix, maxPayloadBytes, nil)
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	good := layers[0]
	sig, _ := base64.StdEncoding.DecodeString(good.annotations[SignatureAnnotation])
	flipped := bytes.Clone(sig)
	flipped[len(flipped)-1] ^= 1
	// A payload for this digest, but with an extra claim the key never signed.
	edited := bytes.Replace(good.payload, []byte(`"optional":null`), []byte(`"optional":{"approved":"yes"}`), 1)
	if bytes.Equal(edited, good.payload) {
		t.Fatalf("payload has no optional section to edit: %s", good.payload)
	}
	for _, tc := range []struct {
		name, payload, sig, want string
	}{
		{"flipped signature bit", string(good.payload), base64.StdEncoding.EncodeToString(flipped), "does not verify"},
		{"edited payload", string(edited), good.annotations[SignatureAnnotation], "does not verify"},
		{"no signature", string(good.payload), "", "no signature annotation"},
		{"not base64", string(good.payload), "!!!", "not base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forged := pushRandom(t, host, "forged:"+strings.ReplaceAll(tc.name, " ", "-"))
			// Re-sign-free forgery: the attacker controls the registry
			// and writes whatever layer they like.
			base, err := remote.Image(mustTag(t, forged))
			if err == nil {
				t.Fatalf("fresh image already has signatures: %v", base)
			}
			p := strings.Replace(tc.payload, img.DigestStr(), forged.DigestStr(), 1)
			ann := map[string]string{}
			if tc.sig != "" {
				ann[SignatureAnnotation] = tc.sig
			}
			if err := appendLayer(ctx, forged, signatureSuffix, static.NewLayer([]byte(p), SimpleSigningMediaType), ann, nil); err != nil {
				t.Fatal(err)
			}
			_, err = Verify(ctx, forged, []*PublicKey{pub})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func mustTag(t *testing.T, d name.Digest) name.Tag {
	tag, err := SignatureTag(d)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// TestTooManySignatures bounds what a hostile registry can make Verify read.
func TestTooManySignatures(t *testing.T) {
	host := testimage.Registry(t)
	_, pub := loadPair(t, "")
	img := pushRandom(t, host, "app:1")
	base, err := random.Image(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for range maxSignatureLayers {
		base, err = mutate.AppendLayers(base, static.NewLayer([]byte("x"), SimpleSigningMediaType))
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := remote.Write(mustTag(t, img), base); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(t.Context(), img, []*PublicKey{pub}); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err %v", err)
	}
}
