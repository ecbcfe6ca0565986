// Package hygienetest builds the images hygiene checks are tested on and
// runs checks on them through the real pipeline: a Debian bookworm minbase
// (debootstrap) base, and the same base with layers that put every kind of
// hygiene problem in it, as real builds do.
package hygienetest

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/internal/randtext"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/vulndb"
)

// Layers of the dirty image, by what they do.
const (
	BaseLayer    = 0 // Debian bookworm minbase
	SecretLayer  = 1 // adds keys, credentials and app metadata
	TamperLayer  = 2 // overwrites package files
	DeleteLayer  = 3 // whites out some of SecretLayer's files
	TamperedFile = "usr/bin/hostname"
	// TamperedConffile is a dpkg conffile (of package login) TamperLayer edits.
	TamperedConffile = "etc/login.defs"
)

// Secrets are the credentials the dirty image holds, generated afresh for
// every test process so that nothing in the tests is a fixed value.
type Secrets struct {
	AWSKeyID, AWSSecret, GitHubToken, NPMToken, DBPassword string
}

// Deleted are the files of SecretLayer that DeleteLayer deletes.
var Deleted = []string{"root/.ssh/id_ed25519", "root/.aws/credentials", "app/.env"}

// Dirty returns the standard Debian image with three layers on top
// (SecretLayer, TamperLayer, DeleteLayer), labels, history, an author,
// environment and manifest annotations holding e-mail addresses and
// secrets, and the secrets it holds.
func Dirty(t testing.TB) (v1.Image, Secrets) {
	t.Helper()
	s := Secrets{
		AWSKeyID:    "AKIA" + randtext.String(t, randtext.Base32, 16),
		AWSSecret:   randtext.String(t, randtext.Base64, 40),
		GitHubToken: "ghp_" + randtext.String(t, randtext.Alnum, 36),
		NPMToken:    "npm_" + randtext.String(t, randtext.Alnum, 36),
		DBPassword:  randtext.String(t, "abcdefghijklmnopqrstuvwxyz0123456789", 20),
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := json.MarshalIndent(map[string]string{
		"type":           "service_account",
		"project_id":     "vigil-test",
		"private_key_id": randtext.String(t, "0123456789abcdef", 40),
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		"client_email":   "builder@vigil-test.iam.gserviceaccount.com",
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	secrets := testimage.LayerFromFiles(t, []testimage.File{
		{Path: "root/.ssh", Type: testimage.Dir, Mode: 0o700},
		{Path: "root/.ssh/id_ed25519", Mode: 0o600, Body: openSSHKey(t)},
		{Path: "root/.aws", Type: testimage.Dir},
		{Path: "root/.aws/credentials", Mode: 0o600, Body: "[default]\naws_access_key_id = " + s.AWSKeyID + "\naws_secret_access_key = " + s.AWSSecret + "\n"},
		{Path: "etc/ssl/private", Type: testimage.Dir, Mode: 0o700},
		{Path: "etc/ssl/private/server.key", Mode: 0o600, Body: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))},
		{Path: "app", Type: testimage.Dir},
		{Path: "app/.env", Body: "# app settings\nPORT=8080\nDB_PASSWORD=\"" + s.DBPassword + "\"\nDB_PASSWORD_FILE=/run/secrets/db\n"},
		{Path: "app/.env.example", Body: "DB_PASSWORD=" + randtext.String(t, "abcdefghijklmnop", 12) + "\n"},
		{Path: "app/deploy.sh", Mode: 0o755, Body: "#!/bin/sh\ncurl -H \"Authorization: token " + s.GitHubToken + "\" https://api.github.com/repos/acme/app/releases\n"},
		{Path: "app/gcp-sa.json", Body: string(sa)},
		{Path: "app/package.json", Body: `{"name": "app", "version": "1.0.0", "author": "Bob Builder <bob.builder@outlook.com>", "bugs": {"email": "support@acme.io"}}`},
		{Path: "app/node_modules/left-pad/package.json", Body: `{"name": "left-pad", "author": "Cameron Westland <camwest@gmail.com>"}`},
	})
	tamper := testimage.LayerFromFiles(t, []testimage.File{
		{Path: "usr/bin/hostname", Mode: 0o755, Body: "#!/bin/sh\n# not the real hostname\necho pwned\n"},
		{Path: "etc/login.defs", Body: "PASS_MAX_DAYS 90\n"},
		{Path: "usr/share/doc/hostname/copyright", Body: "edited\n"},
	})
	var deletes []testimage.File
	for _, p := range Deleted {
		deletes = append(deletes, testimage.File{Path: p, Type: testimage.Whiteout})
	}
	deleted := testimage.LayerFromFiles(t, deletes)

	img := testimage.Build(t, testimage.DebianImage(t), []v1.Layer{secrets, tamper, deleted}, []string{
		"COPY . / # buildkit",
		"RUN |1 NPM_TOKEN=" + s.NPMToken + " /bin/sh -c sed -i s/x/y/ /etc/login.defs # buildkit",
		"RUN /bin/sh -c rm -f /root/.ssh/id_ed25519 /root/.aws/credentials /app/.env # buildkit",
	}, map[string]string{
		"maintainer":                       "Jane Doe <jane.doe@gmail.com>",
		"org.opencontainers.image.authors": "security@example.com",
	})
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Author = "John Smith <john_smith@acme.io>"
	cf.Config.Env = append(cf.Config.Env, "DB_PASSWORD="+s.DBPassword, "GITHUB_TOKEN_FILE=/run/secrets/gh")
	cf.History = append(cf.History, v1.History{Created: v1.Time{Time: testimage.Epoch}, CreatedBy: "LABEL maintainer=Jane Doe <jane.doe@gmail.com>", Comment: "ask dev-team@lists.acme.io", EmptyLayer: true})
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return mutate.Annotations(img, map[string]string{"org.opencontainers.image.authors": "j.random@yahoo.com"}).(v1.Image), s
}

// openSSHKey returns a new ed25519 private key in OpenSSH's own format, made
// by ssh-keygen as a developer would.
func openSSHKey(t testing.TB) string {
	t.Helper()
	testimage.Require(t, "ssh-keygen")
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Scan runs the pipeline on img (written as an OCI layout, which keeps
// manifest annotations) with checks, as the scan command does, and returns
// the input the checks saw and their issues by check name.
func Scan(t testing.TB, img v1.Image, checks ...hygiene.Check) (*hygiene.Input, map[string][]hygiene.Issue) {
	t.Helper()
	return ScanDB(t, img, nil, checks...)
}

// ScanDB is Scan with matching against db, so that Input.Findings are real.
func ScanDB(t testing.TB, img v1.Image, db *vulndb.DB, checks ...hygiene.Check) (*hygiene.Input, map[string][]hygiene.Issue) {
	t.Helper()
	out := map[string][]hygiene.Issue{}
	recorded := make([]hygiene.Check, len(checks))
	for i, c := range checks {
		recorded[i] = recorder{Check: c, out: out}
	}
	res, err := scan.Run(t.Context(), "oci-dir:"+testimage.WriteOCILayout(t, img), scan.Options{
		Layers: layers.Options{TempDir: t.TempDir()},
		DB:     db,
		Checks: recorded,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	for _, w := range res.Inventory.Warnings {
		if strings.HasPrefix(w, "hygiene check ") {
			t.Fatal(w)
		}
	}
	return &hygiene.Input{Source: res.Source, FS: res.FS, Inventory: res.Inventory, Findings: res.Findings}, out
}

// recorder passes a check on to the pipeline and keeps the issues it
// returns under its name.
type recorder struct {
	hygiene.Check
	out map[string][]hygiene.Issue
}

func (r recorder) Begin(layer int, name string, hdr *tar.Header) io.WriteCloser {
	if o, ok := r.Check.(hygiene.Observer); ok {
		return o.Begin(layer, name, hdr)
	}
	return nil
}

func (r recorder) Run(ctx context.Context, in *hygiene.Input) ([]hygiene.Issue, error) {
	issues, err := r.Check.Run(ctx, in)
	r.out[r.Name()] = issues
	return issues, err
}
