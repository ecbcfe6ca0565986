package secret

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/internal/randtext"
)

const (
	upper   = randtext.Base32
	alnum   = randtext.Alnum
	base64s = randtext.Base64
)

// random is randtext.String, short for the tables below.
var random = randtext.String

// scanFile runs the check's sink over one file, written in pieces of step
// bytes, and returns the rule ids found, sorted.
func scanFile(t testing.TB, name string, body []byte, step int) []string {
	c := New(Options{})
	w := c.Begin(0, name, &tar.Header{Size: int64(len(body))})
	if w == nil {
		return nil
	}
	for b := body; len(b) > 0; {
		n := min(step, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range c.hits {
		ids = append(ids, h.rule.id)
	}
	slices.Sort(ids)
	return ids
}

func TestDetectors(t *testing.T) {
	key := randtext.ECKey(t)
	tests := []struct {
		name, file, body string
		want             []string
	}{
		{"EC key", "etc/app/key.pem", key, []string{"private-key"}},
		{"encrypted PEM headers", "k.pem", strings.Replace(key, "\n", "\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n", 1), []string{"private-key"}},
		{"JSON-escaped key", "k.json", `{"key": "` + strings.ReplaceAll(key, "\n", `\n`) + `"}`, []string{"private-key"}},
		{"header quoted in docs", "usr/share/doc/x/README", "Keys start with -----BEGIN RSA PRIVATE KEY----- and then...\n", nil},
		{"header in a grep", "usr/bin/check", "grep -q -- '-----BEGIN PRIVATE KEY-----' \"$f\"\n", nil},
		{"truncated example", "README", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----\n", nil},
		{"certificate", "ca.pem", strings.NewReplacer("EC PRIVATE KEY", "CERTIFICATE").Replace(key), nil},
		{"AWS key id", "conf", "key=AKIA" + random(t, upper, 16) + "\n", []string{"aws-access-key-id"}},
		{"AWS documented example", "conf", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\n", nil},
		{"AWS key id inside a word", "conf", "XAKIA" + random(t, upper, 16) + "\n", nil},
		{"AWS low-entropy id", "conf", "AKIAAAAAAAAAAAAAAAAA\n", nil},
		{"AWS secret", "conf", "aws_secret_access_key = " + random(t, base64s, 40) + "\n", []string{"aws-secret-access-key"}},
		{"AWS secret JSON", "c.json", `{"SecretAccessKey": "` + random(t, base64s, 40) + `"}`, []string{"aws-secret-access-key"}},
		{"AWS secret placeholder", "conf", "aws_secret_access_key = " + strings.Repeat("x", 40) + "\n", nil},
		{"AWS secret too long", "conf", "secret_access_key=" + random(t, base64s, 60) + "\n", nil},
		{"GitHub token", "s.sh", "TOKEN=ghp_" + random(t, alnum, 36) + "\n", []string{"github-token"}},
		{"GitHub fine-grained", "s.sh", "github_pat_" + random(t, alnum, 82) + "\n", []string{"github-token"}},
		{"GitHub token too short", "s.sh", "ghp_" + random(t, alnum, 20) + "\n", nil},
		{"GitLab token", "ci.yml", "token: glpat-" + random(t, alnum, 20) + "\n", []string{"gitlab-token"}},
		{"Slack bot token", "s.py", `SLACK = "xoxb-1234567890-` + random(t, alnum, 24) + `"`, []string{"slack-token"}},
		{"Slack webhook", "s.py", "https://hooks.slack.com/services/T0" + random(t, "ABCDEFGH", 8) + "/B0" + random(t, "ABCDEFGH", 8) + "/" + random(t, alnum, 24), []string{"slack-token"}},
		{"npm token", "s.sh", "npm_" + random(t, alnum, 36), []string{"npm-token"}},
		{"npmrc authToken", "home/u/.npmrc", "//registry.npmjs.org/:_authToken=" + random(t, alnum, 36) + "\n", []string{"npm-token"}},
		{"npmrc from environment", "home/u/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", nil},
		{".env", "srv/.env", "API_KEY=" + random(t, alnum, 24) + "\nDEBUG=1\n", []string{"dotenv"}},
		{".env.production", "srv/.env.production", "export SECRET_TOKEN='" + random(t, alnum, 24) + "'\n", []string{"dotenv"}},
		{".env.example", "srv/.env.example", "API_KEY=" + random(t, alnum, 24) + "\n", nil},
		{".env reference", "srv/.env", "API_KEY=${API_KEY}\nPASSWORD_FILE=/run/secrets/pw\nTOKEN=changeme\n", nil},
		{"git credentials", "root/.git-credentials", "https://jane:" + random(t, alnum, 20) + "@git.example.com\n", []string{"credentials-file"}},
		{"netrc", "root/.netrc", "machine example.com login jane password " + random(t, alnum, 12) + "\n", []string{"credentials-file"}},
		{"docker config", "root/.docker/config.json", `{"auths": {"r.example.com": {"auth": "` + random(t, base64s, 24) + `"}}}`, []string{"credentials-file"}},
		// Real base64 may start with '/' or hold "none", "true"...: still a credential.
		{"docker auth starting with a slash", "root/.docker/config.json", `{"auths": {"r": {"auth": "/2FuZTpub25lVHJ1ZWx5c2VjcmV0"}}}`, []string{"credentials-file"}},
		{"docker auth holding keywords", "root/.docker/config.json", `{"auths": {"r": {"auth": "amFuZTpnone1trueXNlY3JldA=="}}}`, []string{"credentials-file"}},
		{"secret variable holding keywords", "srv/.env", "API_KEY=q8NoneTRUEz1nullw7Kp\n", []string{"dotenv"}},
		{"secret variable naming a file", "srv/.env", "API_KEY=/run/secrets/api_key\n", nil},
		{"keyword as the whole value", "srv/.env", "API_TOKEN=none\n", nil},
		{"other config.json", "app/config.json", `{"auth": "` + random(t, base64s, 24) + `"}`, nil},
		{"aws credentials: specific rules win", "root/.aws/credentials", "aws_secret_access_key=" + random(t, base64s, 40) + "\n", []string{"aws-secret-access-key"}},
		{"binary with a token", "usr/lib/libx.so", "\x7fELF\x00\x00ghp_" + random(t, alnum, 36), nil},
		{"PKCS#12", "certs/client.p12", "0\x82\x00\x00binary", []string{"key-store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []int{len(tt.body) + 1, 7} {
				got := scanFile(t, tt.file, []byte(tt.body), step)
				if !slices.Equal(got, tt.want) {
					t.Errorf("written %d bytes at a time: rules %q, want %q", step, got, tt.want)
				}
			}
		})
	}
}

// TestChunkBoundary puts secrets across the boundaries where the stream
// scanner searches, so that a match split between two chunks is still found.
func TestChunkBoundary(t *testing.T) {
	key := randtext.ECKey(t)
	for _, at := range []int{chunkSize - maxMatch - 40, chunkSize - maxMatch, chunkSize - 10, chunkSize, 3*chunkSize + 5} {
		body := append(bytes.Repeat([]byte("lorem ipsum\n"), at/12+1)[:at], key...)
		body = append(body, "\nAKIA"+random(t, upper, 16)+"\n"...)
		body = append(body, bytes.Repeat([]byte("x\n"), chunkSize)...)
		for _, step := range []int{32 << 10, 4093} {
			if got := scanFile(t, "f", body, step); !slices.Equal(got, []string{"aws-access-key-id", "private-key"}) {
				t.Errorf("secrets at %d, writes of %d: %q", at, step, got)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ghp_abcdefghijklmnop", "ghp_… (20 chars)"},
		{"hunter22", "hu… (8 chars)"},
		{"abc", "… (3 chars)"},
		{"ééééééééééééé", "éé… (13 chars)"},
	}
	for _, tt := range tests {
		if got := redact([]byte(tt.in)); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzDetect(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz-seeds/*")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(s), b)
	}
	f.Add("k.pem", []byte(randtext.ECKey(f)))
	f.Add(".env", []byte("TOKEN=abcdef123456\n"))
	pad := bytes.Repeat([]byte{' '}, chunkSize-maxMatch-100)
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		if len(body) > 1<<16 {
			return
		}
		body = append(pad[:len(pad):len(pad)], body...)
		whole := scanFile(t, name, body, len(body))
		pieces := scanFile(t, name, body, 1000)
		if !slices.Equal(whole, pieces) {
			t.Errorf("whole file: %q; in pieces: %q", whole, pieces)
		}
		c := New(Options{})
		w := c.Begin(0, name, &tar.Header{Size: int64(len(body))})
		if w == nil {
			return
		}
		io.Copy(w, bytes.NewReader(body))
		w.Close()
		for _, h := range c.hits {
			// Evidence is a redacted prefix or a PEM header: never long.
			if len(h.evidence) > 80 {
				t.Errorf("evidence of %d bytes: %q", len(h.evidence), h.evidence)
			}
		}
	})
}

// TestFixtures: keys in the test data of published code are listed at Info;
// the same key anywhere else is a finding.
func TestFixtures(t *testing.T) {
	key := []byte(randtext.ECKey(t))
	tests := []struct {
		name string
		want hygiene.Severity
	}{
		{"usr/local/go/src/crypto/tls/testdata/example-key.pem", hygiene.Info},
		{"go/pkg/mod/golang.org/x/crypto@v0.53.0/ssh/testdata/keys.go", hygiene.Info},
		{"usr/lib/python3/dist-packages/urllib3/tests/server.key", hygiene.Info},
		{"app/handlers_test.go", hygiene.Info},
		{"srv/key.pem", hygiene.High},
		{"app/test.pem", hygiene.High},
	}
	for _, tt := range tests {
		c := New(Options{})
		w := c.Begin(0, tt.name, &tar.Header{Size: int64(len(key))})
		w.Write(key)
		w.Close()
		issues, err := c.Run(t.Context(), &hygiene.Input{})
		if err != nil {
			t.Fatal(err)
		}
		if len(issues) != 1 || issues[0].Severity != tt.want {
			t.Errorf("%s: %+v, want one issue at %s", tt.name, issues, tt.want)
		}
	}
}
