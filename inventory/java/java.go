// Package java finds Java libraries in JAR, WAR and EAR archives (and the
// Jenkins plugin archives JPI and HPI), including archives nested in them:
// WEB-INF/lib of web applications, BOOT-INF/lib of Spring Boot fat jars, the
// modules of an EAR.
//
// # How an archive is identified
//
// Every META-INF/maven/<groupId>/<artifactId>/pom.properties in an archive
// is one component: Maven writes it into every artifact it builds, and a
// shaded or uber jar keeps the files of everything it absorbed, so one jar
// may hold several. An archive without any falls back to its manifest and
// file name: the artifact name comes from the file name when it carries a
// version (commons-lang3-3.12.0.jar, the way Maven names artifacts),
// otherwise from a one-word Implementation-Title, otherwise from the bare
// file name; the version from Implementation-Version or Bundle-Version,
// otherwise the file name; the group from Implementation-Vendor-Id,
// otherwise from Bundle-SymbolicName. Such guesses are marked with
// maven.source. An archive that yields no version is not reported: a zip of
// resources is not a package anyone publishes advisories for.
//
// Locations name nested archives after their parent, separated by a colon:
// /srv/app.war:WEB-INF/lib/guava-31.1-jre.jar.
//
// # Hostile archives
//
// Nested archives are read into memory, so everything read from inside an
// archive is bounded: the nesting depth (MaxDepth), the size of one nested
// archive (MaxNested) and of one metadata file (maxMetadata), and the
// uncompressed bytes read from one top-level archive all told (MaxInflate),
// counted as they are inflated rather than as the zip headers claim, which
// defuses zip bombs.
//
// # Errors
//
// Catalog never fails a scan for one bad archive. It returns every component
// it could read, together with an errors.Join of one error per archive (or
// nested archive) it could not read or had to cut short, each naming it;
// inventory.Catalog turns that error into inventory warnings. Files the walk
// did not capture are passed over silently. Only a cancelled context makes
// Catalog return no components.
package java

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/internal/pkgfs"
	"github.com/vigilsec/vigil/layers"
)

// Bounds on what one top-level archive may make Catalog read.
const (
	// MaxDepth is how deep archives nest: 0 is a file of the image, 1 a
	// jar in it (WEB-INF/lib/x.jar), and so on. Real nesting stops at 2
	// (an EAR holding a WAR holding jars).
	MaxDepth = 4
	// MaxNested bounds the size of one nested archive, read into memory.
	MaxNested = 256 << 20
	// MaxInflate bounds the uncompressed bytes read from one top-level
	// archive and everything nested in it.
	MaxInflate = 1 << 30
	// maxMetadata bounds one MANIFEST.MF or pom.properties.
	maxMetadata = 1 << 20
)

// Cataloger finds Java archives. Its zero value is ready to use.
type Cataloger struct{}

// Name implements inventory.Cataloger.
func (Cataloger) Name() string { return "java" }

// Wants implements inventory.Cataloger: it keeps Java archives, by
// extension.
func (Cataloger) Wants(name string, mode fs.FileMode, _ int64, _ []byte) bool {
	return mode.IsRegular() && isArchive(name)
}

func isArchive(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jar", ".war", ".ear", ".jpi", ".hpi":
		return true
	}
	return false
}

// Catalog implements inventory.Cataloger.
func (c Cataloger) Catalog(ctx context.Context, fsys layers.FS, _ inventory.Environment) ([]inventory.Component, error) {
	return pkgfs.Catalog(ctx, fsys, func(name string, d fs.DirEntry) ([]inventory.Component, error) {
		if !d.Type().IsRegular() || !isArchive(name) {
			return nil, nil
		}
		f, err := pkgfs.Open(fsys, name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return Read(ctx, "/"+name, f, f.Size)
	})
}

// Read returns the components of the archive r of the given size and of the
// archives nested in it; location is the archive's path, with a leading
// slash. It returns what it found along with an error for each archive it
// could not read whole.
func Read(ctx context.Context, location string, r io.ReaderAt, size int64) ([]inventory.Component, error) {
	w := &walker{ctx: ctx, budget: MaxInflate}
	w.archive(location, r, size, 0)
	return w.comps, errors.Join(w.errs...)
}

// walker carries the state of one top-level archive through its nesting.
type walker struct {
	ctx    context.Context
	budget int64 // uncompressed bytes left to read
	comps  []inventory.Component
	errs   []error
}

func (w *walker) fail(location string, err error) {
	w.errs = append(w.errs, fmt.Errorf("java archive %s: %w", location, err))
}

func (w *walker) archive(location string, r io.ReaderAt, size int64, depth int) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// Entry names are only reported, never used as paths, so
		// names with "../" are harmless here.
		w.fail(location, err)
		return
	}
	var poms []*zip.File
	var manifest *zip.File
	var nested []*zip.File
	for _, f := range zr.File {
		switch {
		case f.FileInfo().IsDir():
		case f.Name == "META-INF/MANIFEST.MF":
			manifest = f
		case strings.HasPrefix(f.Name, "META-INF/maven/") && path.Base(f.Name) == "pom.properties":
			poms = append(poms, f)
		case isArchive(f.Name):
			nested = append(nested, f)
		}
	}

	found := false
	for _, f := range poms {
		b, err := w.read(f, maxMetadata)
		if err != nil {
			w.fail(location, fmt.Errorf("%s: %w", f.Name, err))
			continue
		}
		if c, ok := fromPom(ParseProperties(b), f.Name); ok {
			w.add(c, location)
			found = true
		}
	}
	if !found {
		var m map[string]string
		if manifest != nil {
			b, err := w.read(manifest, maxMetadata)
			if err != nil {
				w.fail(location, fmt.Errorf("%s: %w", manifest.Name, err))
			}
			m = ParseManifest(b)
		}
		if c, ok := fromManifest(m, location); ok {
			w.add(c, location)
		}
	}

	for _, f := range nested {
		if err := w.ctx.Err(); err != nil {
			return
		}
		inner := location + ":" + f.Name
		if depth+1 > MaxDepth {
			w.fail(inner, fmt.Errorf("nested deeper than %d archives: skipped", MaxDepth))
			continue
		}
		b, err := w.read(f, MaxNested)
		if err != nil {
			w.fail(inner, err)
			continue
		}
		w.archive(inner, bytes.NewReader(b), int64(len(b)), depth+1)
	}
}

// errBudget is returned once an archive has had all the bytes it may inflate.
var errBudget = fmt.Errorf("more than %d uncompressed bytes in one archive: rest skipped", MaxInflate)

// read inflates the entry f, refusing more than limit bytes and charging
// what it reads to the walker's budget. The sizes in zip headers are the
// attacker's word, so the limit is enforced on the bytes actually read.
func (w *walker) read(f *zip.File, limit int64) ([]byte, error) {
	if w.budget <= 0 {
		return nil, errBudget
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes uncompressed, more than %d: skipped", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	allowed := min(limit, w.budget)
	b, err := io.ReadAll(io.LimitReader(rc, allowed+1))
	w.budget -= int64(len(b))
	switch {
	case err != nil:
		return nil, err
	case int64(len(b)) > allowed && allowed == limit:
		return nil, fmt.Errorf("inflates past %d bytes: skipped", limit)
	case int64(len(b)) > allowed:
		return nil, errBudget
	}
	return b, nil
}

func (w *walker) add(c inventory.Component, location string) {
	c.Type = packageurl.TypeMaven
	c.PURL = packageurl.NewPackageURL(packageurl.TypeMaven, c.Namespace, c.Name, c.Version, nil, "").ToString()
	c.Locations = []string{location}
	c.Cataloger = Cataloger{}.Name()
	w.comps = append(w.comps, c)
}

// Metadata keys.
const (
	MetaGroupID    = "maven.groupId"
	MetaArtifactID = "maven.artifactId"
	// MetaSource says where the coordinates come from: "pom.properties",
	// or "manifest" and "filename" when they are guessed.
	MetaSource = "maven.source"
	// MetaPomProperties is the path of the pom.properties inside the
	// archive.
	MetaPomProperties = "maven.pomProperties"
)

// fromPom makes the component a pom.properties describes.
func fromPom(p map[string]string, name string) (inventory.Component, bool) {
	g, a, v := p["groupId"], p["artifactId"], p["version"]
	if a == "" || v == "" {
		return inventory.Component{}, false
	}
	return inventory.Component{
		Namespace: g,
		Name:      a,
		Version:   v,
		Metadata:  map[string]string{MetaGroupID: g, MetaArtifactID: a, MetaSource: "pom.properties", MetaPomProperties: name},
	}, true
}

// fileVersion splits an archive's file name into artifact name and version at
// the first dash followed by a digit: commons-lang3-3.12.0 → commons-lang3,
// 3.12.0; guava-31.1-jre → guava, 31.1-jre.
var fileVersion = regexp.MustCompile(`^(.+?)-(\d[^/]*)$`)

// fromManifest guesses the coordinates of an archive without pom.properties
// from its manifest m (nil when absent) and its location.
func fromManifest(m map[string]string, location string) (inventory.Component, bool) {
	base := path.Base(location[strings.LastIndexByte(location, ':')+1:])
	stem := strings.TrimSuffix(base, path.Ext(base))
	name, version, source := stem, "", "filename"
	if sm := fileVersion.FindStringSubmatch(stem); sm != nil {
		name, version = sm[1], sm[2]
	} else if t := m["Implementation-Title"]; t != "" && !strings.ContainsAny(t, " \t") {
		name = t
	}
	if v := firstOf(m, "Implementation-Version", "Bundle-Version"); v != "" {
		version, source = v, "manifest"
	}
	if name == "" || version == "" {
		return inventory.Component{}, false
	}
	group := groupID(m)
	md := map[string]string{MetaArtifactID: name, MetaSource: source}
	if group != "" {
		md[MetaGroupID] = group
	}
	return inventory.Component{
		Namespace: group,
		Name:      name,
		Version:   version,
		Licenses:  bundleLicenses(m["Bundle-License"]),
		Metadata:  md,
	}, true
}

// groupID guesses a Maven group from a manifest: Implementation-Vendor-Id
// is one; otherwise a bundle's symbolic name is usually the group followed
// by a label for the bundle (org.apache.commons.lang3, com.jcraft.jsch),
// except for single-artifact projects named after their domain
// (org.hamcrest), where the whole name is the group.
func groupID(m map[string]string) string {
	if g := m["Implementation-Vendor-Id"]; g != "" {
		return g
	}
	bsn, _, _ := strings.Cut(m["Bundle-SymbolicName"], ";") // drop directives
	bsn = strings.TrimSpace(bsn)
	i := strings.LastIndexByte(bsn, '.')
	if i < 0 {
		return ""
	}
	if g := bsn[:i]; strings.Contains(g, ".") {
		return g
	}
	return bsn
}

// bundleLicenses reads the OSGi Bundle-License header: comma-separated
// licenses (SPDX ids or URLs), each possibly followed by ;attributes.
func bundleLicenses(h string) []string {
	var out []string
	for _, clause := range strings.Split(h, ",") {
		l, _, _ := strings.Cut(clause, ";")
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// ParseManifest returns the main section of a JAR manifest (the attributes
// before the first blank line). Hand-written: the standard library has no
// manifest reader, and net/textproto joins continuation lines with a space
// where the JAR format joins them with nothing (lines wrap at 72 bytes, in
// the middle of words and version strings).
func ParseManifest(b []byte) map[string]string {
	m := map[string]string{}
	var key string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		switch {
		case line == "":
			return m
		case line[0] == ' ':
			if key != "" {
				m[key] += line[1:]
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				key = ""
				continue
			}
			key = strings.TrimSpace(k)
			m[key] = strings.TrimPrefix(v, " ")
		}
	}
	return m
}

// ParseProperties reads a Java .properties file (key=value, key: value or
// key value lines, # and ! comments, backslash continuations and escapes).
// Hand-written: pom.properties is a few machine-written lines, and the
// properties libraries for Go add ${} expansion that must not apply here.
func ParseProperties(b []byte) map[string]string {
	p := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for continues(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		k, v := splitProperty(line)
		p[unescape(k)] = unescape(v)
	}
	return p
}

// continues reports whether a line ends with an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty splits at the first unescaped '=', ':' or whitespace.
func splitProperty(line string) (key, value string) {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '=', ':', ' ', '\t', '\f':
			key, value = line[:i], strings.TrimLeft(line[i:], " \t\f")
			if value != "" && (value[0] == '=' || value[0] == ':') {
				value = strings.TrimLeft(value[1:], " \t\f")
			}
			return key, value
		}
	}
	return line, ""
}

var unescaper = strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\f`, "\f", `\\`, `\`, `\=`, "=", `\:`, ":", `\ `, " ", `\#`, "#", `\!`, "!")

// unescape undoes the escapes Maven's writer uses; \uXXXX does not occur in
// coordinates and is left as written.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return unescaper.Replace(s)
}
