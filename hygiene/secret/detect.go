package secret

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"
)

// A rule finds one kind of secret in text. Every rule starts its match at a
// literal keyword, so a buffer is searched with bytes.Index for the keywords
// (fast, and almost never successful) and a rule's regular expression only
// runs at the few places a keyword occurs. Hand-written rather than taken
// from gitleaks or trufflehog: both are whole programs whose rule sets
// depend on their own engines, and neither is in go.mod.
type rule struct {
	id    string
	title string
	// keywords start every match.
	keywords []string
	// re is anchored at the keyword; submatch 1, when present, is the
	// secret value (else the whole match is).
	re *regexp.Regexp
	// token rules need a non-word byte before the keyword.
	token bool
	// minEntropy, when set, is the Shannon entropy in bits per byte the
	// value must reach: random credentials do, placeholders do not.
	minEntropy float64
	// check, when set, vets the match further and may replace the value
	// that identifies the secret (a key's body, not its header).
	check func(b []byte, m []int) (value []byte, ok bool)
}

// maxMatch bounds how far past its keyword a match may reach; the stream
// scanner keeps this much overlap between chunks.
const maxMatch = 1024

var rules = []*rule{
	{
		id: "private-key", title: "Private key",
		keywords: []string{"-----BEGIN "},
		re:       regexp.MustCompile(`^-----BEGIN ((?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP|SSH2 ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----`),
		check:    pemBody,
	},
	{
		id: "aws-access-key-id", title: "AWS access key id",
		keywords: []string{"AKIA", "ASIA"}, token: true,
		re:         regexp.MustCompile(`^(?:AKIA|ASIA)[A-Z0-9]{16}\b`),
		minEntropy: 3,
	},
	{
		id: "aws-secret-access-key", title: "AWS secret access key",
		keywords: []string{"secret_access_key", "SECRET_ACCESS_KEY", "SecretAccessKey", "secretAccessKey", "secret-access-key"},
		re:       regexp.MustCompile(`^(?i:secret[_-]?access[_-]?key)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
		// 40 random base64 characters carry about 5 bits each.
		minEntropy: 3.5,
	},
	{
		id: "github-token", title: "GitHub token",
		keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"}, token: true,
		re:         regexp.MustCompile(`^(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b`),
		minEntropy: 3,
	},
	{
		id: "gitlab-token", title: "GitLab token",
		keywords: []string{"glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-"}, token: true,
		re:         regexp.MustCompile(`^gl(?:pat|dt|rt|ptt|ft|soat|cbt)-[A-Za-z0-9_-]{20,}`),
		minEntropy: 3,
	},
	{
		id: "slack-token", title: "Slack token",
		keywords: []string{"xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-", "xoxe-", "hooks.slack.com/services/"}, token: true,
		re:         regexp.MustCompile(`^(?:xox[abprse]-[0-9]+-[A-Za-z0-9-]{8,}|hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,})`),
		minEntropy: 3,
	},
	{
		id: "npm-token", title: "npm token",
		keywords: []string{"npm_", "_authToken="}, token: true,
		// An _authToken that is a ${VAR} reference is how it should be done.
		re:         regexp.MustCompile(`^(?:npm_[A-Za-z0-9]{36}\b|_authToken=\s*([^\s$"'][^\s"']{15,}))`),
		minEntropy: 3,
	},
}

// detection is one secret found in a buffer.
type detection struct {
	rule *rule
	// evidence is a redacted form, safe to print.
	evidence string
	// fingerprint identifies the secret without revealing it, so the same
	// secret seen in several layers or places is reported once.
	fingerprint string
}

// detect finds secrets whose match starts before end in b (b may hold up
// to maxMatch more bytes, so matches crossing end are complete).
func detect(b []byte, end int, found func(detection)) {
	for _, r := range rules {
		for _, kw := range r.keywords {
			for off := 0; off < end; {
				i := bytes.Index(b[off:], []byte(kw))
				if i < 0 || off+i >= end {
					break
				}
				pos := off + i
				off = pos + len(kw)
				if r.token && pos > 0 && isWord(b[pos-1]) {
					continue
				}
				if d, ok := r.at(b[pos:min(len(b), pos+maxMatch)]); ok {
					found(d)
				}
			}
		}
	}
}

// at tries the rule on b, which starts with one of its keywords.
func (r *rule) at(b []byte) (detection, bool) {
	m := r.re.FindSubmatchIndex(b)
	if m == nil {
		return detection{}, false
	}
	value := b[m[0]:m[1]]
	if len(m) >= 4 && m[2] >= 0 {
		value = b[m[2]:m[3]]
	}
	if bytes.Contains(value, []byte("EXAMPLE")) {
		return detection{}, false // AWS's documented example keys
	}
	if r.minEntropy > 0 && entropy(value) < r.minEntropy {
		return detection{}, false
	}
	evidence := redact(value)
	if r.check != nil {
		body, ok := r.check(b, m)
		if !ok {
			return detection{}, false
		}
		evidence = string(b[m[0]:m[1]])
		value = body
	}
	return detection{rule: r, evidence: evidence, fingerprint: fingerprint(value)}, true
}

// minKeyBody is how many base64 characters must follow a PEM header for it
// to be a key rather than documentation quoting the header.
const minKeyBody = 64

// pemBody checks that a private key header is followed by a key: optional
// RFC 1421 headers, then base64 (possibly JSON-escaped, "\n" for newlines).
// It returns the first minKeyBody base64 characters, which identify the key.
func pemBody(b []byte, m []int) ([]byte, bool) {
	rest := b[m[1]:]
	body := make([]byte, 0, minKeyBody)
	lineStart := true
	for i := 0; i < len(rest) && len(body) < minKeyBody; i++ {
		c := rest[i]
		switch {
		case c == '\\' && i+1 < len(rest) && (rest[i+1] == 'n' || rest[i+1] == 'r'):
			i++
			lineStart = true
		case c == '\n' || c == '\r':
			lineStart = true
		case c == ' ' || c == '\t':
		case isBase64(c):
			if lineStart && headerLine(rest[i:]) {
				// Proc-Type:, DEK-Info:, Comment:, Version: lines.
				for i < len(rest) && rest[i] != '\n' && rest[i] != '\\' {
					i++
				}
				i--
				continue
			}
			lineStart = false
			body = append(body, c)
		default:
			return nil, false
		}
	}
	return body, len(body) >= minKeyBody
}

// headerLine reports whether b starts with "Name:" (an RFC 1421 header).
func headerLine(b []byte) bool {
	for i, c := range b[:min(len(b), 32)] {
		if c == ':' {
			return i > 0
		}
		if !(isWord(c) || c == '-') {
			return false
		}
	}
	return false
}

func isWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func isBase64(c byte) bool { return isWord(c) && c != '_' || c == '+' || c == '/' || c == '=' }

// entropy is the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	var h float64
	n := float64(len(b))
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// redact keeps a short prefix of a secret and its length: enough to find it
// again, never enough to use it. Short values keep less, so that at most a
// quarter of any value is shown.
func redact(v []byte) string {
	keep := min(4, len(v)/4)
	for keep > 0 && !utf8.Valid(v[:keep]) {
		keep--
	}
	return fmt.Sprintf("%s… (%d chars)", v[:keep], utf8.RuneCount(v))
}

// assignmentEvidence shows NAME=value redacted, with a long name cut short.
func assignmentEvidence(name string, value []byte) string {
	if len(name) > 48 {
		name = strings.ToValidUTF8(name[:48], "") + "…"
	}
	return name + "=" + redact(value)
}

func fingerprint(v []byte) string {
	sum := sha256.Sum256(v)
	return hex.EncodeToString(sum[:8])
}
