package secret

import (
	"bufio"
	"bytes"
	"path"
	"regexp"
	"strings"
)

// fileKind says what a file's name makes it: most files are only searched
// for the rules' patterns, but some hold credentials by their nature.
type fileKind uint8

const (
	plain fileKind = iota
	// dotenv is a .env file of KEY=value lines.
	dotenv
	// credentials is a tool's credential store (.git-credentials, .netrc ...).
	credentials
	// keyStore is a binary container of private keys (PKCS#12, Java key store).
	keyStore
)

// classify tells the kind of file name (an io/fs path).
func classify(name string) fileKind {
	base := path.Base(name)
	switch {
	case base == ".env" || strings.HasPrefix(base, ".env.") && !templateEnv(base):
		return dotenv
	case credentialFiles[base] != nil:
		if dir := credentialDirs[base]; dir == "" || path.Base(path.Dir(name)) == dir {
			return credentials
		}
	}
	switch path.Ext(base) {
	case ".p12", ".pfx", ".jks", ".keystore":
		return keyStore
	}
	return plain
}

// templateEnv reports whether a .env.* file is a template committed to show
// which variables exist, not to hold values.
func templateEnv(base string) bool {
	switch strings.TrimPrefix(base, ".env.") {
	case "example", "sample", "template", "dist", "defaults", "schema":
		return true
	}
	return false
}

// credentialFiles maps a credential store's file name to what an entry with
// a credential looks like in it.
var credentialFiles = map[string]*regexp.Regexp{
	// https://user:token@host, as git's credential-store writes it.
	".git-credentials": regexp.MustCompile(`(?m)^[a-z][a-z0-9+.-]*://[^:/\s]+:([^@\s]+)@`),
	".netrc":           regexp.MustCompile(`(?:^|\s)password\s+(\S+)`),
	"_netrc":           regexp.MustCompile(`(?:^|\s)password\s+(\S+)`),
	".pgpass":          regexp.MustCompile(`(?m)^[^:#\s]*:[^:\s]*:[^:\s]*:[^:\s]*:(\S+)$`),
	".pypirc":          regexp.MustCompile(`(?m)^\s*password\s*[:=]\s*(\S+)`),
	".npmrc":           regexp.MustCompile(`(?m)(?:_auth|_password|_authToken)\s*=\s*([^\s$]\S*)`),
	// ~/.aws/credentials (only under .aws, see classify).
	"credentials": regexp.MustCompile(`(?m)^\s*aws_secret_access_key\s*=\s*(\S+)`),
	// ~/.docker/config.json "auth": base64 of user:password.
	"config.json": regexp.MustCompile(`"auth"\s*:\s*"([A-Za-z0-9+/=]{4,})"`),
}

// credentialDirs names the directory a credential store with a common file
// name must be in.
var credentialDirs = map[string]string{"credentials": ".aws", "config.json": ".docker"}

// credentialIn finds the first credential in the contents of a credential
// store.
func credentialIn(name string, b []byte) ([]byte, bool) {
	re := credentialFiles[path.Base(name)]
	if re == nil {
		return nil, false
	}
	m := re.FindSubmatch(b)
	// A credential store's value is never a path: base64 may start with '/'.
	if m == nil || template(m[1]) {
		return nil, false
	}
	return m[1], true
}

// secretName matches the names of variables that hold secrets; names that
// point at a secret rather than hold it (_FILE, _PATH, _URL ...) are
// excluded by nonSecretSuffix.
var (
	secretName      = regexp.MustCompile(`(?i)(?:^|_)(?:secret|token|passw(?:or)?d|pwd|pass|api_?key|apikey|access_?key|private_?key|client_?secret|auth|credentials?)(?:_|$)`)
	nonSecretSuffix = regexp.MustCompile(`(?i)_(?:file|path|dir|url|uri|host|port|user|username|name|id|type|mode|method|enabled|length|ttl|expiry|expires)$`)
)

// secretAssignment reports whether NAME=value looks like a secret being set:
// a secret's name and a value that is not empty, a reference or a
// placeholder.
func secretAssignment(name string, value []byte) bool {
	return secretName.MatchString(name) && !nonSecretSuffix.MatchString(name) &&
		len(value) >= 6 && !placeholder(value)
}

// placeholder reports whether the value of a NAME=value assignment is a
// stand-in rather than a secret: template text, or a path (NAME_FILE=/run/...
// points at a secret instead of holding it).
func placeholder(v []byte) bool {
	return len(v) > 0 && v[0] == '/' || template(v)
}

// template reports whether v is template text: empty, a variable reference,
// a well-known stand-in word, or a bare keyword. Keywords (none, null, true,
// false) count only as the whole value: as substrings they occur in real
// base64 and random tokens, and matching them there hid real credentials.
func template(v []byte) bool {
	s := strings.ToLower(string(v))
	if s == "" || strings.ContainsAny(s[:1], "$<{%") {
		return true
	}
	switch s {
	case "none", "null", "nil", "true", "false", "undefined":
		return true
	}
	for _, p := range []string{"changeme", "change_me", "change-me", "example", "placeholder", "your_", "your-", "xxxx", "****", "redacted", "dummy"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// dotenvSecrets returns the KEY=value lines of a .env file whose key names
// a secret, as (key, value) pairs.
func dotenvSecrets(b []byte, found func(key string, value []byte)) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxNamedFile)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		line = bytes.TrimPrefix(line, []byte("export "))
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok || len(k) == 0 || k[0] == '#' {
			continue
		}
		v = bytes.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if key := string(bytes.TrimSpace(k)); secretAssignment(key, v) {
			found(key, v)
		}
	}
}
