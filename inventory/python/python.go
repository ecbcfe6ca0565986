// Package python finds installed Python distributions: the *.dist-info
// directories pip and installers of wheels write (PEP 376, PEP 627) and the
// older *.egg-info directories or files (and EGG-INFO directories of unzipped
// eggs) setuptools and Debian's python3-* packages ship, wherever they are:
// site-packages, dist-packages, virtual environments, vendored trees.
//
// Each distribution becomes one pypi component named by its PEP 503
// normalised name, located at its METADATA or PKG-INFO file. A dist-info's
// RECORD gives the files it installed with their digests, and top_level.txt
// the import names it provides.
//
// # Errors
//
// Catalog never fails a scan for one bad distribution. It returns every
// component it could read, together with an errors.Join of one error per
// distribution it had to skip (metadata that is unreadable, too large, or
// lacks a name or version), each naming the file; inventory.Catalog turns that
// error into inventory warnings. A RECORD or top_level.txt that cannot be
// read costs the component its file list or import names, with an error, not
// its place. Files the walk did not capture are passed over silently. Only a cancelled context makes Catalog return no
// components.
package python

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/textproto"
	"path"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/internal/pkgfs"
	"github.com/vigilsec/vigil/layers"
)

// Cataloger finds installed Python distributions. Its zero value is ready to
// use.
type Cataloger struct{}

// Name implements inventory.Cataloger.
func (Cataloger) Name() string { return "python" }

// Wants implements inventory.Cataloger: it keeps the metadata files of
// distributions, up to the largest size Catalog reads; Catalog warns about
// larger ones.
func (Cataloger) Wants(name string, mode fs.FileMode, size int64, _ []byte) bool {
	if !mode.IsRegular() || size > maxRecord {
		return false
	}
	dir, base := path.Split(name)
	if strings.HasSuffix(base, ".egg-info") {
		return true // a PKG-INFO written as a single file
	}
	switch metadataDir(strings.TrimSuffix(dir, "/")) {
	case distInfo:
		return base == "METADATA" || base == "RECORD" || base == "top_level.txt"
	case eggInfo:
		return base == "PKG-INFO" || base == "top_level.txt"
	}
	return false
}

type dirKind int

const (
	notMetadata dirKind = iota
	distInfo
	eggInfo
)

// metadataDir says whether dir is a distribution's metadata directory.
func metadataDir(dir string) dirKind {
	base := path.Base(dir)
	switch {
	case strings.HasSuffix(base, ".dist-info"):
		return distInfo
	case strings.HasSuffix(base, ".egg-info"), base == "EGG-INFO":
		return eggInfo
	}
	return notMetadata
}

// Catalog implements inventory.Cataloger.
func (c Cataloger) Catalog(ctx context.Context, fsys layers.FS, _ inventory.Environment) ([]inventory.Component, error) {
	return pkgfs.Catalog(ctx, fsys, func(name string, d fs.DirEntry) ([]inventory.Component, error) {
		var comp *inventory.Component
		var err error
		switch {
		case d.IsDir() && metadataDir(name) == distInfo:
			comp, err = readDistInfo(fsys, name)
		case d.IsDir() && metadataDir(name) == eggInfo:
			comp, err = readEgg(fsys, name, path.Join(name, "PKG-INFO"))
		case d.Type().IsRegular() && strings.HasSuffix(name, ".egg-info"):
			comp, err = readEgg(fsys, path.Dir(name), name)
		default:
			return nil, nil
		}
		// A component may come with an error: one whose RECORD was bad.
		var found []inventory.Component
		if comp != nil {
			found = append(found, *comp)
		}
		return found, err
	})
}

// Size bounds: the largest real METADATA files (long descriptions inlined)
// are a few hundred KiB and the largest RECORDs a few MiB.
const (
	maxMetadata = 4 << 20
	maxRecord   = 16 << 20
	maxTopLevel = 64 << 10
)

// readDistInfo returns the component of the dist-info directory dir. A
// RECORD or top_level.txt that cannot be read costs the component its files
// or import names, reported in the error, not its place.
func readDistInfo(fsys fs.FS, dir string) (*inventory.Component, error) {
	comp, err := readMetadata(fsys, path.Join(dir, "METADATA"))
	if err != nil {
		return nil, err
	}
	comp.Metadata[MetaFormat] = "dist-info"
	record := path.Join(dir, "RECORD")
	b, rerr := readOptional(fsys, record, maxRecord)
	if rerr == nil && b != nil {
		// RECORD paths are relative to the directory holding the dist-info.
		comp.Files, rerr = ParseRecord(bytes.NewReader(b), "/"+path.Dir(dir))
		if rerr != nil {
			rerr = fmt.Errorf("python /%s: %w", record, rerr)
		}
	}
	return comp, errors.Join(rerr, addTopLevel(fsys, comp, dir))
}

// readEgg returns the component whose PKG-INFO is meta; dir is the egg-info
// directory, or the directory holding a single-file egg-info.
func readEgg(fsys fs.FS, dir, meta string) (*inventory.Component, error) {
	comp, err := readMetadata(fsys, meta)
	if err != nil {
		return nil, err
	}
	comp.Metadata[MetaFormat] = "egg-info"
	if meta != path.Join(dir, "PKG-INFO") {
		return comp, nil
	}
	return comp, addTopLevel(fsys, comp, dir)
}

// readMetadata parses the METADATA or PKG-INFO file name.
func readMetadata(fsys fs.FS, name string) (*inventory.Component, error) {
	b, err := pkgfs.ReadFile(fsys, name, maxMetadata)
	if err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	comp, err := ParseMetadata(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("python /%s: %w", name, err)
	}
	comp.Locations = []string{"/" + name}
	return comp, nil
}

func addTopLevel(fsys fs.FS, comp *inventory.Component, dir string) error {
	b, err := readOptional(fsys, path.Join(dir, "top_level.txt"), maxTopLevel)
	if names := strings.Fields(string(b)); len(names) > 0 {
		comp.Metadata[MetaTopLevel] = strings.Join(names, ",")
	}
	return err
}

// readOptional reads a file a distribution may lack: absent or not
// captured, it yields neither contents nor error.
func readOptional(fsys fs.FS, name string, limit int64) ([]byte, error) {
	b, err := pkgfs.ReadFile(fsys, name, limit)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, layers.ErrNotCaptured) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	return b, nil
}

// Metadata keys.
const (
	// MetaName is the distribution name as declared ("PyYAML"); the
	// component's Name is its normalised form ("pyyaml").
	MetaName = "python.name"
	// MetaTopLevel lists, comma-separated, the import names the
	// distribution provides (top_level.txt).
	MetaTopLevel = "python.topLevel"
	// MetaFormat is "dist-info" or "egg-info".
	MetaFormat = "python.format"
)

// maxLicenseField is the longest License field taken as a license name.
// Older packages paste the whole license text into that field; a name or
// SPDX expression is short, and the classifiers name the license then.
const maxLicenseField = 128

// ParseMetadata parses the core metadata of a distribution, the email-header
// format of METADATA and PKG-INFO files, and returns its component with Type,
// Name, Version, PURL, Licenses, Cataloger and Metadata set.
//
// Like Python's email parser, which importlib.metadata and pip use, it takes
// a line that is not a header as the end of the headers instead of refusing
// the whole file: net/textproto returns the headers read before it.
func ParseMetadata(r io.Reader) (*inventory.Component, error) {
	h, err := textproto.NewReader(bufio.NewReader(r)).ReadMIMEHeader()
	var perr textproto.ProtocolError
	if err != nil && !errors.As(err, &perr) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("parse metadata: %w", err)
	}
	name, version := strings.TrimSpace(h.Get("Name")), strings.TrimSpace(h.Get("Version"))
	if name == "" || version == "" {
		missing := "Name"
		if name != "" {
			missing = "Version"
		}
		if perr != "" {
			return nil, fmt.Errorf("parse metadata: no %s header before %w", missing, perr)
		}
		return nil, fmt.Errorf("parse metadata: no %s header", missing)
	}
	norm := NormalizeName(name)
	return &inventory.Component{
		Type:      packageurl.TypePyPi,
		Name:      norm,
		Version:   version,
		PURL:      packageurl.NewPackageURL(packageurl.TypePyPi, "", norm, version, nil, "").ToString(),
		Licenses:  licenses(h),
		Cataloger: Cataloger{}.Name(),
		Metadata:  map[string]string{MetaName: name},
	}, nil
}

// licenses prefers the SPDX expression of metadata 2.4 (PEP 639), then the
// free-text License field, then the license classifiers.
func licenses(h textproto.MIMEHeader) []string {
	if expr := strings.TrimSpace(h.Get("License-Expression")); expr != "" {
		return []string{expr}
	}
	if l := strings.TrimSpace(h.Get("License")); l != "" && !strings.EqualFold(l, "UNKNOWN") && len(l) <= maxLicenseField {
		return []string{l}
	}
	var ls []string
	for _, c := range h.Values("Classifier") {
		parts := strings.Split(c, "::")
		if len(parts) > 1 && strings.TrimSpace(parts[0]) == "License" {
			ls = append(ls, strings.TrimSpace(parts[len(parts)-1]))
		}
	}
	return ls
}

var nameSeparators = regexp.MustCompile(`[-_.]+`)

// NormalizeName returns the PEP 503 normal form of a distribution name, the
// form PyPI, pip and the purl spec compare names in.
func NormalizeName(name string) string {
	return strings.ToLower(nameSeparators.ReplaceAllString(name, "-"))
}

// ParseRecord parses a RECORD file (PEP 376: CSV rows of path, hash, size)
// and returns the files it lists, with paths resolved against root (the
// directory holding the dist-info, with a leading slash) and digests written
// "<algorithm>:<hex>". Rows without a hash (RECORD itself, .pyc files) are
// kept without a digest.
func ParseRecord(r io.Reader, root string) ([]inventory.File, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var files []inventory.File
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse RECORD: %w", err)
		}
		if len(row) == 0 || row[0] == "" {
			continue
		}
		f := inventory.File{Path: path.Join(root, row[0])}
		if len(row) > 1 && row[1] != "" {
			d, err := recordDigest(row[1])
			if err != nil {
				return nil, fmt.Errorf("parse RECORD: %s: %w", row[0], err)
			}
			f.Digest = d
		}
		files = append(files, f)
	}
}

// recordDigest converts a RECORD hash ("sha256=<urlsafe base64, unpadded>")
// to the "<algorithm>:<hex>" form inventory.File uses.
func recordDigest(s string) (string, error) {
	algo, b64, ok := strings.Cut(s, "=")
	if !ok || algo == "" {
		return "", fmt.Errorf("hash %q is not algorithm=value", s)
	}
	sum, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil {
		return "", fmt.Errorf("hash %q: %w", s, err)
	}
	return strings.ToLower(algo) + ":" + hex.EncodeToString(sum), nil
}
