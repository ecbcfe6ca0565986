// Package randtext makes random strings and keys for tests, so that the
// secrets test images hold are fresh for every run and no test depends on a
// fixed value a detector could be tuned to.
package randtext

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// Alphabets secrets are made of.
const (
	Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	Alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	Base64 = Alnum + "+/"
)

// String returns n characters of alphabet from crypto/rand.
func String(t testing.TB, alphabet string, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ECKey returns a new P-256 private key as an "EC PRIVATE KEY" PEM block,
// as openssl ecparam -genkey writes it.
func ECKey(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}
