// Package secret finds credentials shipped in an image: private keys, cloud
// keys, service tokens, .env and credential-store files in any layer,
// including files a later layer deleted (their bytes still ship and can be
// extracted from the layer that added them), and secrets set in the config's
// environment or in build arguments recorded in the history.
//
// File contents are searched while the layer walk streams them (the Check is
// a hygiene.Observer), with bounded memory, and never read a second time.
// Secrets are never reported in full: issues carry a redacted prefix and the
// length.
package secret

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/layers"
)

// Rule is the SARIF rule id of every issue this check reports.
const Rule = "vigil/secret"

// Defaults for Options.
const (
	// DefaultMaxFileSize: secrets live in configuration and key files;
	// larger files are data, archives or media.
	DefaultMaxFileSize = 8 << 20
	// sniffSize is how much of a file is looked at for a NUL byte, the
	// sign of a binary file (as git and grep decide).
	sniffSize = 8 << 10
	// chunkSize is how much text is gathered before it is searched.
	chunkSize = 64 << 10
	// maxNamedFile bounds the .env and credential files kept whole.
	maxNamedFile = 1 << 20
	// maxPerFile and maxHits bound what a hostile image full of
	// token-shaped strings can make the check remember.
	maxPerFile = 16
	maxHits    = 10000
)

// Rules that do not come from a pattern in the text.
var (
	ruleGCP         = &rule{id: "gcp-service-account", title: "GCP service account key"}
	ruleDotenv      = &rule{id: "dotenv", title: ".env secret"}
	ruleCredentials = &rule{id: "credentials-file", title: "Credentials file"}
	ruleKeyStore    = &rule{id: "key-store", title: "PKCS#12 key store"}
	ruleEnv         = &rule{id: "env", title: "Secret in environment"}
	ruleBuildArg    = &rule{id: "build-arg", title: "Secret in build history"}
)

var severities = map[string]hygiene.Severity{
	"aws-access-key-id": hygiene.Medium, // useless without its secret key
	"dotenv":            hygiene.Medium,
	"key-store":         hygiene.Medium, // PKCS#12 files are usually password-protected
}

// Options configure the check.
type Options struct {
	// MaxFileSize: larger files are not searched. Zero means DefaultMaxFileSize.
	MaxFileSize int64
}

// Check finds secrets. One Check serves one scan: it gathers what the walk
// shows it and reports in Run. Begin is called by the walk, which is
// sequential, so Check is not safe for concurrent use.
type Check struct {
	opts Options
	sink sink
	hits []hit
	// dropped counts hits past maxHits.
	dropped int
}

// hit is one secret in one file of one layer.
type hit struct {
	detection
	layer int
	name  string
}

// New returns a secret check.
func New(opts Options) *Check {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	c := &Check{opts: opts}
	c.sink.c = c
	return c
}

// Name implements hygiene.Check.
func (c *Check) Name() string { return "secret" }

// Begin implements hygiene.Observer.
func (c *Check) Begin(layer int, name string, hdr *tar.Header) io.WriteCloser {
	if hdr.Size == 0 || hdr.Size > c.opts.MaxFileSize {
		return nil
	}
	s := &c.sink
	*s = sink{c: c, layer: layer, name: name, kind: classify(name), buf: s.buf[:0], named: s.named[:0]}
	return s
}

// sink searches one file as it streams past.
type sink struct {
	c           *Check
	layer       int
	name        string
	kind        fileKind
	buf         []byte
	named       []byte // whole contents of a .env or credential file
	tooBig      bool   // named outgrew maxNamedFile
	decided     bool   // the file is known to be text or binary
	binary      bool
	found       []detection
	gcpType     bool
	gcpKeyField bool
}

func (s *sink) Write(p []byte) (int, error) {
	if s.binary {
		return len(p), nil
	}
	if s.kind == dotenv || s.kind == credentials {
		if len(s.named)+len(p) > maxNamedFile {
			s.tooBig = true
		} else if !s.tooBig {
			s.named = append(s.named, p...)
		}
	}
	s.buf = append(s.buf, p...)
	if !s.decided {
		if len(s.buf) < sniffSize {
			return len(p), nil
		}
		s.decide()
	}
	if !s.binary && len(s.buf) >= chunkSize {
		s.search(false)
	}
	return len(p), nil
}

func (s *sink) decide() {
	s.decided = true
	s.binary = bytes.IndexByte(s.buf[:min(len(s.buf), sniffSize)], 0) >= 0
	if s.binary {
		s.buf = s.buf[:0]
	}
}

// search looks for secrets starting in the buffer, all of it when final,
// else all but the last maxMatch bytes, which are kept for the next call so
// that a match crossing the boundary is seen whole.
func (s *sink) search(final bool) {
	end := len(s.buf)
	if !final {
		end -= maxMatch
	}
	if end <= 0 {
		return
	}
	detect(s.buf, end, s.add)
	// A service account key file is JSON with both fields; each is short,
	// so looking at the whole buffer each time costs nothing.
	s.gcpType = s.gcpType || bytes.Contains(s.buf, []byte(`"service_account"`))
	s.gcpKeyField = s.gcpKeyField || bytes.Contains(s.buf, []byte(`"private_key"`))
	s.buf = s.buf[:copy(s.buf, s.buf[end:])]
}

func (s *sink) add(d detection) {
	if len(s.found) >= maxPerFile {
		return
	}
	for _, f := range s.found {
		if f.rule == d.rule && f.fingerprint == d.fingerprint {
			return
		}
	}
	s.found = append(s.found, d)
}

func (s *sink) Close() error {
	if !s.decided {
		s.decide()
	}
	switch {
	case s.binary && s.kind == keyStore:
		s.add(detection{rule: ruleKeyStore, evidence: path.Ext(s.name) + " file", fingerprint: fingerprint([]byte(s.name))})
	case !s.binary:
		s.search(true)
	}
	if s.gcpType && s.gcpKeyField {
		// The key inside is the service account's: report it once, as that.
		d := detection{rule: ruleGCP, evidence: `"type": "service_account" with "private_key"`, fingerprint: fingerprint([]byte(s.name))}
		s.found = slices.DeleteFunc(s.found, func(f detection) bool {
			if f.rule.id == "private-key" {
				d.fingerprint = f.fingerprint
				return true
			}
			return false
		})
		s.add(d)
	}
	if !s.tooBig && !s.binary {
		switch s.kind {
		case dotenv:
			dotenvSecrets(s.named, func(key string, value []byte) {
				s.add(detection{rule: ruleDotenv, evidence: assignmentEvidence(key, value), fingerprint: fingerprint(value)})
			})
		case credentials:
			if v, ok := credentialIn(s.name, s.named); ok && len(s.found) == 0 {
				s.add(detection{rule: ruleCredentials, evidence: redact(v), fingerprint: fingerprint(v)})
			}
		}
	}
	for _, d := range s.found {
		if len(s.c.hits) == maxHits {
			s.c.dropped++
			continue
		}
		s.c.hits = append(s.c.hits, hit{detection: d, layer: s.layer, name: s.name})
	}
	return nil
}

// Run implements hygiene.Check: it reports the secrets the walk showed it
// and those in the image config and history.
func (c *Check) Run(ctx context.Context, in *hygiene.Input) ([]hygiene.Issue, error) {
	issues := metadataIssues(in)
	exempt := packagedSamples(in, c.hits)
	type key struct{ rule, name, fingerprint string }
	groups := map[key][]hit{}
	var order []key
	for _, h := range c.hits {
		if exempt[h.name] {
			continue
		}
		k := key{h.rule.id, h.name, h.fingerprint}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], h)
	}
	c.hits = nil
	var infos []layers.Info
	if in.FS != nil {
		infos = in.FS.Layers()
	}
	for _, k := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		is := fileIssue(in.FS, infos, groups[k])
		if fixturePath(is.Path) {
			// Published code ships test keys by the dozen (Go's
			// crypto/tls/testdata, every SDK's tests/data): they are
			// keys, but everyone has them. Still listed, at Info, since
			// one could be a real key put in the wrong place.
			is.Severity = hygiene.Info
			is.Message += "; the path is a test or example fixture of published code, so this is most likely a public test key"
		}
		issues = append(issues, is)
	}
	slices.SortStableFunc(issues, func(a, b hygiene.Issue) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Field, b.Field), cmp.Compare(a.Title, b.Title))
	})
	if c.dropped > 0 {
		issues = append(issues, hygiene.Issue{
			Rule:     Rule,
			Severity: hygiene.Info,
			Title:    "More secrets than reported",
			Message:  fmt.Sprintf("The image holds more candidate secrets than the %d the check keeps; %d more were not reported.", maxHits, c.dropped),
		})
		c.dropped = 0
	}
	return issues, nil
}

// fileIssue tells the story of one secret at one path: the layer that
// added it, and the later layer that deleted or overwrote it, if any.
func fileIssue(fsys layers.FS, infos []layers.Info, hs []hit) hygiene.Issue {
	first, last := hs[0].layer, hs[0].layer
	for _, h := range hs {
		first, last = min(first, h.layer), max(last, h.layer)
	}
	h := hs[0]
	is := hygiene.Issue{
		Rule:     Rule,
		Severity: cmp.Or(severities[h.rule.id], hygiene.High),
		Title:    fmt.Sprintf("%s in /%s", h.rule.title, h.name),
		Path:     "/" + h.name,
		Layer:    hygiene.LayerInfo(infos, first),
		Evidence: h.evidence,
		Remediation: "Remove the secret from the build and rotate it. Pass build-time secrets with " +
			"`RUN --mount=type=secret` and run-time ones from the environment or a secret store; " +
			"deleting a file in a later layer does not remove it from the image.",
	}
	is.Message = fmt.Sprintf("%s (rule %s) in /%s, added in layer %d", h.rule.title, h.rule.id, h.name, first)
	if gone, op, ok := removedAfter(fsys, h.name, last); ok {
		is.DeletedIn = hygiene.LayerInfo(infos, gone)
		verb := "deleted"
		if op == layers.Modified {
			verb = "overwritten"
		}
		is.Message += fmt.Sprintf("; %s in layer %d, still extractable from layer %d", verb, gone, last)
	}
	return is
}

// removedAfter finds the first layer above layer that deleted or replaced
// name or one of its parent directories.
func removedAfter(fsys layers.FS, name string, layer int) (int, layers.Op, bool) {
	if fsys == nil {
		return 0, 0, false
	}
	best, op, ok := 0, layers.Op(0), false
	for p := name; p != "." && p != "/"; p = path.Dir(p) {
		for _, ch := range fsys.History(p) {
			if ch.Layer <= layer || ok && ch.Layer >= best {
				continue
			}
			// A parent directory being modified is only a change of its
			// metadata; it is removed when deleted.
			if p == name || ch.Op == layers.Deleted {
				best, op, ok = ch.Layer, ch.Op, true
			}
		}
	}
	return best, op, ok
}

// packagedSamples returns the paths among hits that a distribution package
// installed in its documentation or test suite. Packages ship well-known
// sample and test keys there (Python's test/keycert.pem, OpenSSL's demos);
// they are public, not this image's secrets. Anything else a package owns
// is still reported: a key in /etc is a key whoever put it there.
func packagedSamples(in *hygiene.Input, hits []hit) map[string]bool {
	if in.Inventory == nil || len(hits) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, h := range hits {
		if fixturePath("/" + h.name) {
			want["/"+h.name] = true
		}
	}
	out := map[string]bool{}
	for _, c := range in.Inventory.Components {
		for _, f := range c.Files {
			if want[f.Path] {
				out[f.Path[1:]] = true
			}
		}
	}
	return out
}

// fixturePath reports whether p (absolute) is documentation, a test or an
// example of published code, or the source tree of a toolchain or module
// cache, where keys are fixtures.
func fixturePath(p string) bool {
	for _, d := range []string{"/usr/share/doc/", "/usr/share/man/", "/usr/local/go/src/", "/usr/lib/go/src/", "/go/pkg/mod/"} {
		if strings.Contains(p, d) {
			return true
		}
	}
	for _, d := range []string{"/test/", "/tests/", "/testdata/", "/test_data/", "/testsuite/", "/fixtures/", "/example/", "/examples/", "/demo/", "/demos/", "/dummyserver/"} {
		if strings.Contains(p, d) {
			return true
		}
	}
	base := path.Base(p)
	return strings.HasSuffix(base, "_test.go") || strings.HasSuffix(base, "_test.py") || strings.HasPrefix(base, "test_") && strings.HasSuffix(base, ".py")
}
