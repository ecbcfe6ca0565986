package dpkg

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// entry is one stanza of a dpkg database, reduced to what Vigil keeps.
type entry struct {
	name, version, arch string
	// status is the Status field ("install ok installed"); empty in
	// distroless status.d files, which list installed packages only.
	status string
	// source and sourceVersion are the Source field as written: empty when
	// the source package has the binary's name and version.
	source, sourceVersion string
	maintainer            string
	conffiles             []conffile
	// line is where the stanza starts, for error messages.
	line int
}

// conffile is one line of a Conffiles field.
type conffile struct {
	path string
	md5  string // hex; "newconffile" while dpkg is installing it
}

const (
	// maxLine bounds one line of a control file; real ones stay under a few
	// KiB (long Depends lists), so a longer one is not a dpkg database.
	maxLine = 1 << 20
	// maxErrors stops collecting stanza errors from a file that is plainly
	// not a dpkg database, so memory stays bounded.
	maxErrors = 20
)

// fieldID identifies the fields parseControl keeps.
type fieldID int

const (
	fieldNone fieldID = iota // before the first field of a stanza
	fieldOther
	fieldPackage
	fieldVersion
	fieldArchitecture
	fieldSource
	fieldStatus
	fieldMaintainer
	fieldConffiles
)

var fieldNames = [...]struct {
	name string
	id   fieldID
}{
	{"Package", fieldPackage},
	{"Version", fieldVersion},
	{"Architecture", fieldArchitecture},
	{"Source", fieldSource},
	{"Status", fieldStatus},
	{"Maintainer", fieldMaintainer},
	{"Conffiles", fieldConffiles},
}

// lookupField matches a field name case-insensitively, as deb822 requires,
// without allocating: it runs once per line of a multi-megabyte file.
func lookupField(name []byte) fieldID {
	for _, f := range fieldNames {
		if len(name) == len(f.name) && equalFoldASCII(name, f.name) {
			return f.id
		}
	}
	return fieldOther
}

func equalFoldASCII(b []byte, s string) bool {
	for i := range b {
		if b[i]|0x20 != s[i]|0x20 {
			return false
		}
	}
	return true
}

// parseControl reads the deb822 stanzas of a dpkg status file or of one
// distroless status.d file. Every stanza is returned, whatever its Status;
// a malformed stanza is skipped and reported in errs, each naming its line.
// Reading stops at the first I/O error or over-long line.
//
// It is hand-written because the Go modules for Debian control files either
// load every field of every stanza into maps (slow and memory-hungry on a
// 2000-package status file) or do not bound line length.
func parseControl(r io.Reader) (entries []entry, errs []error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)

	var (
		cur  entry
		in   bool    // inside a stanza
		last fieldID // the field a continuation line belongs to
		seen [fieldConffiles + 1]bool
		bad  error // first error of the current stanza
	)
	flush := func() {
		if !in {
			return
		}
		if bad == nil {
			bad = cur.check(seen)
		}
		if bad != nil {
			errs = append(errs, bad)
		} else {
			entries = append(entries, cur)
		}
		cur, in, last, seen, bad = entry{}, false, fieldNone, [len(seen)]bool{}, nil
	}

	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			if len(errs) > maxErrors {
				return entries, append(errs, fmt.Errorf("more than %d malformed stanzas, stopped at line %d", maxErrors, n))
			}
			continue
		}
		if !in {
			in, cur.line = true, n
		}
		if bad != nil {
			continue // skip the rest of a stanza already known bad
		}
		if line[0] == ' ' || line[0] == '\t' {
			switch last {
			case fieldOther: // Description, Depends...: not kept
			case fieldConffiles:
				cf, err := parseConffile(string(bytes.TrimSpace(line)))
				if err != nil {
					bad = fmt.Errorf("line %d: %w", n, err)
				} else {
					cur.conffiles = append(cur.conffiles, cf)
				}
			case fieldNone:
				bad = fmt.Errorf("line %d: continuation line at the start of a stanza", n)
			default:
				bad = fmt.Errorf("line %d: continuation line in a single-line field", n)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			bad = fmt.Errorf("line %d: not a field: %q", n, clip(line))
			continue
		}
		last = lookupField(line[:colon])
		if last == fieldOther {
			continue
		}
		if seen[last] {
			bad = fmt.Errorf("line %d: duplicate field %s", n, line[:colon])
			continue
		}
		seen[last] = true
		value := string(bytes.TrimSpace(line[colon+1:]))
		switch last {
		case fieldPackage:
			cur.name = value
		case fieldVersion:
			cur.version = value
		case fieldArchitecture:
			cur.arch = value
		case fieldStatus:
			cur.status = value
		case fieldMaintainer:
			cur.maintainer = value
		case fieldSource:
			cur.source, cur.sourceVersion, bad = parseSource(value)
			if bad != nil {
				bad = fmt.Errorf("line %d: %w", n, bad)
			}
		case fieldConffiles:
			if value != "" {
				bad = fmt.Errorf("line %d: Conffiles has a value on its first line", n)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return entries, append(errs, fmt.Errorf("line %d: %w", n+1, err))
	}
	flush()
	return entries, errs
}

// check validates a complete stanza.
func (e *entry) check(seen [fieldConffiles + 1]bool) error {
	if !seen[fieldPackage] || e.name == "" {
		return fmt.Errorf("stanza at line %d: no Package field", e.line)
	}
	if e.status != "" && len(strings.Fields(e.status)) != 3 {
		return fmt.Errorf("stanza at line %d (%s): Status %q is not \"want flag status\"", e.line, e.name, e.status)
	}
	// dpkg drops the version of packages it has forgotten; only those may
	// lack one.
	if e.version == "" && e.installed() {
		return fmt.Errorf("stanza at line %d (%s): no Version field", e.line, e.name)
	}
	return nil
}

// installed reports whether the package's files may be on disk, which is
// what a vulnerability scanner must report. dpkg's states (see dpkg-query(1)):
//
//   - not-installed, config-files: no program files remain (config-files
//     keeps only conffiles of a removed package). Not reported.
//   - half-installed: an install, upgrade or removal was interrupted; some
//     files of the old or new version are on disk. Reported: a vulnerable
//     library left behind by a failed upgrade is still there.
//   - unpacked, half-configured, triggers-awaited, triggers-pending,
//     installed: all files are on disk. Reported.
//
// The desired action ("deinstall", "purge") is ignored, unlike Trivy: a
// package marked for removal is still installed until it is removed. A
// stanza without Status (distroless status.d) is installed by construction.
func (e *entry) installed() bool {
	if e.status == "" {
		return true
	}
	f := strings.Fields(e.status)
	if len(f) != 3 {
		return false
	}
	return f[2] != "not-installed" && f[2] != "config-files"
}

// parseSource splits "glibc (2.36-9+deb12u4)" into name and version.
func parseSource(v string) (name, version string, err error) {
	name, rest, _ := strings.Cut(v, " ")
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return name, "", nil
	}
	inner, ok := strings.CutPrefix(rest, "(")
	if ok {
		inner, ok = strings.CutSuffix(inner, ")")
	}
	version = strings.TrimSpace(inner)
	if !ok || version == "" || strings.ContainsAny(version, " ()") {
		return "", "", fmt.Errorf("field Source %q is not \"name (version)\"", v)
	}
	return name, version, nil
}

// parseConffile reads "path md5 [obsolete|remove-on-upgrade]". It splits
// from the end, as dpkg does, since the path may contain spaces.
func parseConffile(s string) (conffile, error) {
	for _, flag := range []string{" obsolete", " remove-on-upgrade"} {
		s = strings.TrimSuffix(s, flag)
	}
	i := strings.LastIndexByte(s, ' ')
	if i <= 0 || !strings.HasPrefix(s, "/") {
		return conffile{}, fmt.Errorf("conffile line %q is not \"path md5\"", s)
	}
	return conffile{path: strings.TrimSpace(s[:i]), md5: s[i+1:]}, nil
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
