package secret_test

import (
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/internal/hygienetest"
	"github.com/vigilsec/vigil/hygiene/internal/randtext"
	"github.com/vigilsec/vigil/hygiene/secret"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
)

// TestCleanDebian: a debootstrap minbase ships no secrets, so every issue
// would be a false positive.
func TestCleanDebian(t *testing.T) {
	_, issues := hygienetest.Scan(t, testimage.DebianImage(t), secret.New(secret.Options{}))
	for _, is := range issues["secret"] {
		t.Errorf("false positive: %s: %s [%s]", is.Title, is.Message, is.Evidence)
	}
}

func TestDirtyImage(t *testing.T) {
	img, s := hygienetest.Dirty(t)
	_, all := hygienetest.Scan(t, img, secret.New(secret.Options{}))
	issues := all["secret"]
	for _, is := range issues {
		t.Logf("%s %s %s layer=%v deleted=%v: %s [%s]", is.Severity, is.Path, is.Field, idx(is.Layer), idx(is.DeletedIn), is.Message, is.Evidence)
	}
	tests := []struct {
		path, field, rule string
		layer, deletedIn  int // -1: none
	}{
		{path: "/root/.ssh/id_ed25519", rule: "private-key", layer: hygienetest.SecretLayer, deletedIn: hygienetest.DeleteLayer},
		{path: "/root/.aws/credentials", rule: "aws-access-key-id", layer: hygienetest.SecretLayer, deletedIn: hygienetest.DeleteLayer},
		{path: "/root/.aws/credentials", rule: "aws-secret-access-key", layer: hygienetest.SecretLayer, deletedIn: hygienetest.DeleteLayer},
		{path: "/etc/ssl/private/server.key", rule: "private-key", layer: hygienetest.SecretLayer, deletedIn: -1},
		{path: "/app/.env", rule: "dotenv", layer: hygienetest.SecretLayer, deletedIn: hygienetest.DeleteLayer},
		{path: "/app/deploy.sh", rule: "github-token", layer: hygienetest.SecretLayer, deletedIn: -1},
		{path: "/app/gcp-sa.json", rule: "gcp-service-account", layer: hygienetest.SecretLayer, deletedIn: -1},
		{field: "config.Env[1]", rule: "env", layer: -1, deletedIn: -1},
		{field: "history[2].created_by", rule: "npm-token", layer: hygienetest.TamperLayer, deletedIn: -1},
	}
	for _, tt := range tests {
		t.Run(tt.path+tt.field+"/"+tt.rule, func(t *testing.T) {
			is := find(issues, tt.path, tt.field, tt.rule)
			if is == nil {
				t.Fatalf("no %s issue at %s%s", tt.rule, tt.path, tt.field)
			}
			if got := idx(is.Layer); got != tt.layer {
				t.Errorf("layer = %d, want %d", got, tt.layer)
			}
			if got := idx(is.DeletedIn); got != tt.deletedIn {
				t.Errorf("deletedIn = %d, want %d", got, tt.deletedIn)
			}
			if tt.deletedIn >= 0 && !strings.Contains(is.Message, "still extractable from layer") {
				t.Errorf("message does not say the secret is still extractable: %s", is.Message)
			}
		})
	}
	// The key inside the service account file is reported as that, once.
	if is := find(issues, "/app/gcp-sa.json", "", "private-key"); is != nil {
		t.Errorf("service account key reported twice: %+v", is)
	}
	// A template and a variable naming a file are not secrets.
	for _, is := range issues {
		if is.Path == "/app/.env.example" || strings.Contains(is.Evidence, "GITHUB_TOKEN_FILE") {
			t.Errorf("false positive: %s %s", is.Path, is.Evidence)
		}
	}
	// DB_PASSWORD is in .env and in ENV: the env one is reported once.
	if n := count(issues, "config.Env"); n != 1 {
		t.Errorf("%d issues about config.Env, want 1", n)
	}
	for _, is := range issues {
		for _, v := range []string{s.AWSKeyID, s.AWSSecret, s.GitHubToken, s.NPMToken, s.DBPassword} {
			if strings.Contains(is.Message+is.Evidence+is.Title, v) {
				t.Errorf("issue prints a secret in full: %+v", is)
			}
		}
	}
}

func find(issues []hygiene.Issue, path, field, rule string) *hygiene.Issue {
	for i, is := range issues {
		if is.Path == path && is.Field == field && strings.Contains(is.Message, "(rule "+rule+")") {
			return &issues[i]
		}
	}
	return nil
}

func count(issues []hygiene.Issue, fieldPrefix string) int {
	n := 0
	for _, is := range issues {
		if strings.HasPrefix(is.Field, fieldPrefix) {
			n++
		}
	}
	return n
}

func idx(l *layers.Info) int {
	if l == nil {
		return -1
	}
	return l.Index
}

// TestStory follows one key through layers that keep, rewrite and remove
// it: one issue, from the layer that first added it, naming the layer that
// removed it and the last one it can still be extracted from.
func TestStory(t *testing.T) {
	key := randtext.ECKey(t)
	layer := func(files ...testimage.File) v1.Layer { return testimage.LayerFromFiles(t, files) }
	tests := []struct {
		name              string
		layers            []v1.Layer
		first, last, gone int
		verb              string
	}{
		{
			name: "kept, rewritten, deleted",
			layers: []v1.Layer{
				layer(testimage.File{Path: "srv/key.pem", Body: key}),
				layer(testimage.File{Path: "srv/key.pem", Body: key, Mode: 0o600}),
				layer(testimage.File{Path: "srv/key.pem", Type: testimage.Whiteout}),
			},
			first: 0, last: 1, gone: 2, verb: "deleted",
		},
		{
			name: "overwritten",
			layers: []v1.Layer{
				layer(testimage.File{Path: "srv/key.pem", Body: key}),
				layer(testimage.File{Path: "srv/key.pem", Body: "gone\n"}),
			},
			first: 0, last: 0, gone: 1, verb: "overwritten",
		},
		{
			name: "parent directory deleted",
			layers: []v1.Layer{
				layer(testimage.File{Path: "srv", Type: testimage.Dir}, testimage.File{Path: "srv/key.pem", Body: key}),
				layer(testimage.File{Path: "etc/hosts", Body: "127.0.0.1 localhost\n"}),
				layer(testimage.File{Path: "srv", Type: testimage.Whiteout}),
			},
			first: 0, last: 0, gone: 2, verb: "deleted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, all := hygienetest.Scan(t, testimage.Build(t, nil, tt.layers, nil, nil), secret.New(secret.Options{}))
			issues := all["secret"]
			if len(issues) != 1 {
				t.Fatalf("%d issues, want 1: %+v", len(issues), issues)
			}
			is := issues[0]
			if idx(is.Layer) != tt.first || idx(is.DeletedIn) != tt.gone {
				t.Errorf("layer %d, deleted in %d; want %d, %d", idx(is.Layer), idx(is.DeletedIn), tt.first, tt.gone)
			}
			if want := fmt.Sprintf("%s in layer %d, still extractable from layer %d", tt.verb, tt.gone, tt.last); !strings.Contains(is.Message, want) {
				t.Errorf("message %q does not say %q", is.Message, want)
			}
		})
	}
}
