package osrelease

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Parse reads os-release(5) assignments: one KEY=VALUE per line, blank lines
// and lines starting with "#" ignored. Values follow the shell quoting the
// specification allows: double quotes (where backslash escapes ", \, $ and `),
// single quotes (no escapes), and backslash escapes outside quotes; quoted and
// unquoted parts concatenate. Like systemd's own reader, an unquoted value may
// contain inner spaces, and trailing unquoted whitespace and a trailing
// "# comment" are dropped. Variable expansion is not performed (the
// specification forbids it). A later assignment to a key wins.
//
// It is hand-written because no Go module for the field parses the quoting
// rules faithfully; errors name the line.
func Parse(r io.Reader) (map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSize)
	fields := map[string]string{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: no '=' in %q", n, clip(line))
		}
		if !validKey(key) {
			return nil, fmt.Errorf("line %d: invalid variable name %q", n, clip(key))
		}
		value, err := unquote(raw)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n, key, err)
		}
		fields[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return fields, nil
}

// validKey reports whether k is a shell variable name, as os-release requires.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// unquote evaluates one shell word without expansion.
func unquote(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	// keep is the length of b up to the last character that was not
	// unquoted whitespace, so trailing blanks can be dropped at the end.
	keep := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`", s[j+1]) >= 0 {
					j++
				}
				b.WriteByte(s[j])
			}
			if j == len(s) {
				return "", fmt.Errorf("unterminated double quote")
			}
			i, keep = j, b.Len()
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i, keep = i+1+j, b.Len()
		case '\\':
			if i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
			keep = b.Len()
		case ' ', '\t':
			if i+1 < len(s) && s[i+1] == '#' {
				return b.String()[:keep], nil
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
			keep = b.Len()
		}
	}
	return b.String()[:keep], nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
