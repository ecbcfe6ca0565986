package apk

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"path"

	"github.com/vigilsec/vigil/inventory"
)

// record is one package of the installed database.
type record struct {
	name, version, arch, origin, license string
	maintainer, url, commit              string
	files                                []inventory.File
	// line is where the record starts, for error messages.
	line int
}

const (
	// maxLine bounds one line; real ones are short (the longest are
	// dependency lists of a few KiB).
	maxLine = 1 << 20
	// maxErrors stops collecting errors from a file that is plainly not an
	// installed database, so memory stays bounded.
	maxErrors = 20
)

// parseInstalled reads lib/apk/db/installed, the apk-tools v2 "FDB" format
// (apk-tools src/database.c, apk_db_fdb_read): records separated by blank
// lines, each line a one-letter field, a colon and the value. Package fields
// are those of an APKINDEX (P name, V version, A arch, o origin, L license,
// m maintainer, U url, c commit); the installed database adds the files: F
// sets the directory, R names a file in it, Z gives that file's checksum,
// and a and M hold permissions.
//
// Like apk-tools, a line shorter than two bytes ends a record. Unlike it, a
// malformed line does not abandon the whole database: it is reported in errs,
// naming its line, and the rest of the record is kept, so one bad line does
// not hide a package. It is hand-written because no Go module for the field
// reads the file list and checksums with bounded memory.
func parseInstalled(r io.Reader) (records []record, errs []error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)

	var (
		cur     record
		in      bool
		dir     string
		haveDir bool
		file    = -1 // index in cur.files of the last R, -1 before one
		// truncated is set by "f:S": Z holds the first 160 bits of a
		// SHA-256 (apk-tools 3 writing a v2 database), not a SHA-1.
		truncated bool
	)
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	end := func() {
		if !in {
			return
		}
		if cur.name == "" || cur.version == "" {
			fail("record at line %d: no P: (name) or V: (version)", cur.line)
		} else {
			records = append(records, cur)
		}
		cur, in, dir, haveDir, file, truncated = record{}, false, "", false, -1, false
	}
	n := 0
	for sc.Scan() {
		if len(errs) > maxErrors {
			fail("more than %d errors, stopped at line %d", maxErrors, n)
			return records, errs
		}
		n++
		line := sc.Bytes()
		if len(line) < 2 {
			end()
			continue
		}
		if !in {
			in, cur.line = true, n
		}
		if line[1] != ':' {
			fail("line %d: not a field: %q", n, clip(line))
			continue
		}
		value := line[2:]
		switch line[0] {
		case 'P':
			cur.name = string(value)
		case 'V':
			cur.version = string(value)
		case 'A':
			cur.arch = string(value)
		case 'o':
			cur.origin = string(value)
		case 'L':
			cur.license = string(value)
		case 'm':
			cur.maintainer = string(value)
		case 'U':
			cur.url = string(value)
		case 'c':
			cur.commit = string(value)
		case 'f':
			truncated = bytes.IndexByte(value, 'S') >= 0
		case 'F':
			dir, haveDir, file = string(value), true, -1
		case 'R':
			if !haveDir {
				fail("line %d: file %q before any F: directory", n, clip(value))
				continue
			}
			cur.files = append(cur.files, inventory.File{Path: path.Clean("/" + dir + "/" + string(value))})
			file = len(cur.files) - 1
		case 'Z':
			if file < 0 {
				fail("line %d: checksum before any R: file", n)
				continue
			}
			d, err := digest(value)
			if err != nil {
				fail("line %d: %s: %w", n, cur.files[file].Path, err)
				continue
			}
			if !truncated {
				cur.files[file].Digest = d
			}
		}
	}
	if err := sc.Err(); err != nil {
		fail("line %d: %w", n+1, err)
		return records, errs
	}
	end()
	return records, errs
}

// digest decodes an apk checksum as apk_blob_pull_digest does: "Q1" then
// base64 of a SHA-1, "Q2" then base64 of a SHA-256, or plain hex of an MD5
// (databases older than apk-tools 2.0).
func digest(v []byte) (string, error) {
	if len(v) >= 2 && v[0] == 'Q' {
		var alg string
		var size int
		switch v[1] {
		case '1':
			alg, size = "sha1", 20
		case '2':
			alg, size = "sha256", 32
		default:
			return "", fmt.Errorf("unknown checksum type %q", clip(v))
		}
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(v)-2))
		k, err := base64.StdEncoding.Decode(raw, v[2:])
		if err != nil || k != size {
			return "", fmt.Errorf("checksum %q is not base64 of a %s", clip(v), alg)
		}
		return alg + ":" + hex.EncodeToString(raw[:k]), nil
	}
	if len(v) == 32 {
		raw := make([]byte, 16)
		if _, err := hex.Decode(raw, v); err == nil {
			return "md5:" + hex.EncodeToString(raw), nil
		}
	}
	return "", fmt.Errorf("checksum %q is neither Q1/Q2 base64 nor an MD5", clip(v))
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
