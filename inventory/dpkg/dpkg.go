// Package dpkg catalogs Debian packages (Debian, Ubuntu and derivatives) from
// the dpkg database: var/lib/dpkg/status on systems with dpkg, and the
// one-file-per-package var/lib/dpkg/status.d/ that distroless images carry
// instead.
//
// Each package's source package comes from its Source field, because Debian
// vulnerability data names source packages. The files it owns come from
// var/lib/dpkg/info/<pkg>[:<arch>].list with digests from the matching
// .md5sums, and from the Conffiles field.
//
// Catalog reports a package whenever its files may be on disk (see
// entry.installed for the dpkg states that means). A malformed stanza or info
// file does not hide the rest: Catalog returns every component it could read
// together with an error naming each file and line it could not.
package dpkg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/osrelease"
	"github.com/vigilsec/vigil/layers"
)

const (
	statusFile = "var/lib/dpkg/status"
	statusDir  = "var/lib/dpkg/status.d"
	infoDir    = "var/lib/dpkg/info"

	// Size limits, far above real files (a 2000-package status file is
	// about 3 MiB, the largest .list about 1 MiB), so that a hostile image
	// cannot make Catalog hold gigabytes.
	maxStatusSize = 256 << 20
	maxInfoSize   = 64 << 20

	// Metadata keys.
	metaStatus     = "dpkg.status"     // the Status field, when the database has one
	metaMaintainer = "dpkg.maintainer" // the Maintainer field
	// metaConffiles lists the package's configuration files (dpkg
	// "conffiles", which dpkg preserves across upgrades when the user changed
	// them), sorted and newline-separated. They are also in Files, with the
	// md5 of the version the package shipped.
	metaConffiles = "dpkg.conffiles"
)

// Cataloger finds dpkg packages. The zero value is ready to use.
type Cataloger struct{}

// Name implements inventory.Cataloger.
func (Cataloger) Name() string { return "dpkg" }

// Wants implements inventory.Cataloger: the status file, every status.d
// file, and the .list and .md5sums files of var/lib/dpkg/info.
func (Cataloger) Wants(name string, _ fs.FileMode, _ int64, _ []byte) bool {
	if name == statusFile {
		return true
	}
	dir, base := path.Split(name)
	switch dir {
	case statusDir + "/":
		return true
	case infoDir + "/":
		return strings.HasSuffix(base, ".list") || strings.HasSuffix(base, ".md5sums")
	}
	return false
}

// Catalog implements inventory.Cataloger.
func (c Cataloger) Catalog(ctx context.Context, fsys layers.FS, env inventory.Environment) ([]inventory.Component, error) {
	var comps []inventory.Component
	var errs []error

	entries, err := readControl(fsys, statusFile, maxStatusSize)
	if err != nil {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if e.installed() {
			comp, err := c.component(fsys, env, e, statusFile, "")
			comps = append(comps, comp)
			errs = append(errs, err)
		}
	}

	distroless, err := fsys.ReadDir(statusDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("read %s: %w", statusDir, err))
	}
	for _, de := range distroless {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !de.Type().IsRegular() || strings.HasSuffix(de.Name(), ".md5sums") {
			continue
		}
		name := statusDir + "/" + de.Name()
		entries, err := readControl(fsys, name, maxInfoSize)
		errs = append(errs, err)
		// rules_distroless writes status.d/<pkg> with one stanza and its
		// md5sums beside it as status.d/<pkg>.md5sums.
		md5sums := ""
		if len(entries) == 1 {
			md5sums = name + ".md5sums"
		}
		for _, e := range entries {
			if e.installed() {
				comp, err := c.component(fsys, env, e, name, md5sums)
				comps = append(comps, comp)
				errs = append(errs, err)
			}
		}
	}
	return comps, errors.Join(errs...)
}

// component builds the inventory entry for e found in db. The error reports
// info files that could not be read; the component is usable regardless.
func (c Cataloger) component(fsys layers.FS, env inventory.Environment, e entry, db, md5sums string) (inventory.Component, error) {
	src := sourceOf(e)
	comp := inventory.Component{
		Type:      packageurl.TypeDebian,
		Namespace: "debian",
		Name:      e.name,
		Version:   e.version,
		Arch:      e.arch,
		Source:    &src,
		Locations: []string{"/" + db},
		Cataloger: c.Name(),
	}
	if env.Distro != nil && env.Distro.ID != "" {
		comp.Namespace = env.Distro.ID
	}
	comp.PURL = purl(comp, osrelease.PURLQualifier(env.Distro))

	// A Multi-Arch: same package's info files carry its architecture.
	info := []string{infoDir + "/" + e.name + ":" + e.arch, infoDir + "/" + e.name}
	sums := []string{info[0] + ".md5sums", info[1] + ".md5sums"}
	if md5sums != "" {
		sums = []string{md5sums}
	}
	files := fileSet{}
	errs := []error{
		readFirst(fsys, []string{info[0] + ".list", info[1] + ".list"}, func(r io.Reader) error { return readList(r, files) }),
		readFirst(fsys, sums, func(r io.Reader) error { return readMD5sums(r, files) }),
	}
	var conffiles []string
	for _, cf := range e.conffiles {
		md5 := ""
		if isMD5(cf.md5) {
			md5 = strings.ToLower(cf.md5)
		}
		files.add(cf.path, md5)
		conffiles = append(conffiles, cf.path)
	}
	comp.Files = files.files(fsys.Lstat)

	md := map[string]string{}
	if e.status != "" {
		md[metaStatus] = e.status
	}
	if e.maintainer != "" {
		md[metaMaintainer] = e.maintainer
	}
	if len(conffiles) > 0 {
		slices.Sort(conffiles)
		md[metaConffiles] = strings.Join(slices.Compact(conffiles), "\n")
	}
	if len(md) > 0 {
		comp.Metadata = md
	}
	if err := errors.Join(errs...); err != nil {
		return comp, fmt.Errorf("package %s: %w", e.name, err)
	}
	return comp, nil
}

// sourceOf names the source package e was built from. Without a Source
// field the source has the binary's name; without a version in it, the
// binary's version less any binNMU suffix: a binNMU ("+b1") rebuilds the
// same source, so dpkg-gencontrol omits the version only when, binNMU aside,
// it is the binary's.
func sourceOf(e entry) inventory.SourcePackage {
	src := inventory.SourcePackage{Name: e.source, Version: e.sourceVersion}
	if src.Name == "" {
		src.Name = e.name
	}
	if src.Version == "" {
		src.Version = stripBinNMU(e.version)
	}
	return src
}

// stripBinNMU removes a trailing "+b<digits>" from a Debian version.
func stripBinNMU(v string) string {
	i := strings.LastIndex(v, "+b")
	if i < 0 || i+2 == len(v) || strings.Trim(v[i+2:], "0123456789") != "" {
		return v
	}
	return v[:i]
}

// purl writes pkg:deb/<vendor>/<name>@<version>?arch=..&distro=..&upstream=..
// following the purl-spec deb type and Syft's use of upstream: the source
// package name when it differs from the binary's, with "@<source version>"
// when the source version differs from the binary's.
func purl(c inventory.Component, distro string) string {
	var q packageurl.Qualifiers
	if c.Arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: c.Arch})
	}
	if distro != "" {
		q = append(q, packageurl.Qualifier{Key: "distro", Value: distro})
	}
	if up := c.Source.Name; up != c.Name || c.Source.Version != c.Version {
		if c.Source.Version != c.Version {
			up += "@" + c.Source.Version
		}
		q = append(q, packageurl.Qualifier{Key: "upstream", Value: up})
	}
	return packageurl.NewPackageURL(packageurl.TypeDebian, c.Namespace, c.Name, c.Version, q, "").ToString()
}

// readControl parses the control file name; a missing file is no packages.
func readControl(fsys fs.FS, name string, limit int64) ([]entry, error) {
	var entries []entry
	var errs []error
	_, err := readFile(fsys, name, limit, func(r io.Reader) error {
		entries, errs = parseControl(r)
		return nil
	})
	for i, e := range errs {
		errs[i] = fmt.Errorf("read %s: %w", name, e)
	}
	return entries, errors.Join(append(errs, err)...)
}

// readFirst parses the first of names that exists.
func readFirst(fsys fs.FS, names []string, parse func(io.Reader) error) error {
	for _, name := range names {
		if found, err := readFile(fsys, name, maxInfoSize, parse); found || err != nil {
			return err
		}
	}
	return nil
}

// readFile opens name and hands it to parse. found is false, with no error,
// when the file does not exist. Errors name the file.
func readFile(fsys fs.FS, name string, limit int64, parse func(io.Reader) error) (found bool, err error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return true, fmt.Errorf("stat %s: %w", name, err)
	} else if !fi.Mode().IsRegular() {
		return true, fmt.Errorf("read %s: not a regular file", name)
	} else if fi.Size() > limit {
		return true, fmt.Errorf("read %s: %d bytes, more than the %d a dpkg database file may have", name, fi.Size(), limit)
	}
	if err := parse(io.LimitReader(f, limit)); err != nil {
		return true, fmt.Errorf("read %s: %w", name, err)
	}
	return true, nil
}
