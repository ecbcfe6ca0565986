package trust

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// maxKeyBytes bounds a key file; PEM keys are well under 16 KiB.
const maxKeyBytes = 64 << 10

// PublicKey is a trusted verification key.
type PublicKey struct {
	// Name is where the key came from (its file name), for reports.
	Name string
	// ID is "key:sha256:<hex>" of the DER SubjectPublicKeyInfo: a stable
	// name for the key that policies list as a required signer.
	ID       string
	Key      crypto.PublicKey
	verifier signature.Verifier
}

// LoadPublicKey reads a PEM public key as `cosign generate-key-pair` writes
// it (cosign.pub), or the public key of a PEM certificate.
func LoadPublicKey(path string) (*PublicKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		certs, cerr := cryptoutils.UnmarshalCertificatesFromPEM(b)
		if cerr != nil || len(certs) == 0 {
			return nil, fmt.Errorf("read public key %s: %w", path, err)
		}
		pub = certs[0].PublicKey
	}
	k, err := NewPublicKey(filepath.Base(path), pub)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	return k, nil
}

// NewPublicKey wraps a public key (ECDSA, RSA or Ed25519).
func NewPublicKey(name string, pub crypto.PublicKey) (*PublicKey, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("load verifier: %w", err)
	}
	sum := sha256.Sum256(der)
	return &PublicKey{Name: name, ID: "key:sha256:" + hex.EncodeToString(sum[:]), Key: pub, verifier: v}, nil
}

// Signer is a private key that signs.
type Signer struct {
	sv  signature.SignerVerifier
	Pub *PublicKey
}

// LoadPrivateKey reads a private key: cosign's encrypted format
// ("ENCRYPTED SIGSTORE PRIVATE KEY", scrypt and secretbox, as
// `cosign generate-key-pair` writes it; password may be empty but must
// then be the empty password the key was written with) or an unencrypted
// PKCS#8, SEC 1 or PKCS#1 PEM key.
func LoadPrivateKey(path string, password []byte) (*Signer, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	if password == nil {
		password = []byte{} // cryptoutils skips decryption for a nil password
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(b, cryptoutils.StaticPasswordFunc(password))
	if err != nil {
		return nil, fmt.Errorf("read private key %s (wrong password?): %w", path, err)
	}
	s, err := NewSigner(filepath.Base(path), priv)
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	return s, nil
}

// NewSigner wraps a private key, signing with SHA-256 as cosign does.
func NewSigner(name string, priv crypto.PrivateKey) (*Signer, error) {
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("load signer: %w", err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, err
	}
	pk, err := NewPublicKey(name, pub)
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, Pub: pk}, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if len(b) > maxKeyBytes {
		return nil, fmt.Errorf("read key %s: larger than %d bytes, not a key", path, maxKeyBytes)
	}
	return b, nil
}
