package dpkg

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/inventory"
)

// fileSet gathers a package's files from its .list, .md5sums and
// Conffiles, keyed by absolute path, with the md5 (hex) when dpkg recorded one.
type fileSet map[string]string

// add records p, normalised to an absolute clean path; a digest never
// replaces a known one with nothing.
func (s fileSet) add(p, md5 string) {
	p = path.Clean("/" + strings.TrimPrefix(p, "./"))
	if p == "/" {
		return
	}
	if md5 != "" || s[p] == "" {
		s[p] = md5
	}
}

// files returns the set as sorted inventory files, without directories. A
// .list names every directory the package ships ("/usr", "/usr/bin"); they
// are shared with other packages and are not what "files the package
// installed" means. A path is a directory when another path of the package
// lies below it, or, for an empty directory the package ships, when lstat
// (the image filesystem) says so. Only paths without a digest need lstat:
// dpkg records an md5 for every regular file, so those are symbolic links
// or empty directories, a handful per package.
func (s fileSet) files(lstat func(name string) (fs.FileInfo, error)) []inventory.File {
	if len(s) == 0 {
		return nil
	}
	parent := make(map[string]bool, len(s)/4)
	for p := range s {
		for d := path.Dir(p); d != "/" && !parent[d]; d = path.Dir(d) {
			parent[d] = true
		}
	}
	out := make([]inventory.File, 0, len(s))
	for p, md5 := range s {
		if parent[p] {
			continue
		}
		f := inventory.File{Path: p}
		if md5 != "" {
			f.Digest = "md5:" + md5
		} else if fi, err := lstat(p[1:]); err == nil && fi.IsDir() {
			continue
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b inventory.File) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// readList reads an info/<pkg>.list: one absolute path per line.
func readList(r io.Reader, s fileSet) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if line[0] != '/' {
			return fmt.Errorf("line %d: %q is not an absolute path", n, clip(line))
		}
		s.add(string(line), "")
	}
	return sc.Err()
}

// readMD5sums reads an info/<pkg>.md5sums (or a distroless
// status.d/<pkg>.md5sums): "<32 hex digits>  <path relative to />" per line,
// as md5sum(1) writes it.
func readMD5sums(r io.Reader, s fileSet) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		sum, name, ok := bytes.Cut(line, []byte{' '})
		name = bytes.TrimPrefix(bytes.TrimLeft(name, " "), []byte{'*'}) // "*": md5sum's binary-mode marker
		if !ok || !isMD5(sum) || len(name) == 0 {
			return fmt.Errorf("line %d: %q is not \"<md5>  <path>\"", n, clip(line))
		}
		s.add(string(name), strings.ToLower(string(sum)))
	}
	return sc.Err()
}

func isMD5[T string | []byte](b T) bool {
	if len(b) != 32 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !('0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f') {
			return false
		}
	}
	return true
}
