package integrity

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestMatches compares with digests as dpkg (md5) and apk (Q1: SHA-1) record
// them, computed here from the same bytes.
func TestMatches(t *testing.T) {
	body := []byte("#!/bin/sh\necho hello\n")
	c := New()
	w := c.Begin(1, "usr/bin/hello", nil)
	w.Write(body[:5])
	w.Write(body[5:])
	w.Close()
	rec := c.files["usr/bin/hello"]
	m5, s1, s256 := md5.Sum(body), sha1.Sum(body), sha256.Sum256(body)
	tests := []struct {
		digest    string
		match, ok bool
	}{
		{"md5:" + hex.EncodeToString(m5[:]), true, true},
		{"MD5:" + hex.EncodeToString(m5[:]), false, false},
		{"md5:00000000000000000000000000000000", false, true},
		{"sha1:" + hex.EncodeToString(s1[:]), true, true},
		{"sha1:" + hex.EncodeToString(m5[:]), false, true},
		{"sha256:" + hex.EncodeToString(s256[:]), false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if match, ok := rec.matches(tt.digest); match != tt.match || ok != tt.ok {
			t.Errorf("matches(%q) = %v, %v; want %v, %v", tt.digest, match, ok, tt.match, tt.ok)
		}
	}
	if rec.layer != 1 {
		t.Errorf("layer %d, want 1", rec.layer)
	}
}
