// Package rpm catalogs packages installed by RPM (RHEL, CentOS, Fedora,
// Rocky, Alma, Amazon Linux, openSUSE/SLES, Mariner) from the rpm database
// in any of its three formats: SQLite (rpmdb.sqlite, RPM 4.16+), NDB
// (Packages.db, SUSE) and Berkeley DB (Packages, RHEL 8 and older), under
// var/lib/rpm or usr/lib/sysimage/rpm.
//
// The database is read by github.com/knqyf263/go-rpmdb in a child process
// (see readDB): that library panics in its own goroutines, loops and
// allocates without bound on crafted input, and a recover in the caller
// cannot catch any of that.
//
// Each package's source package comes from its source RPM file name
// ("openssl-3.0.7-27.el9.src.rpm"), because distribution vulnerability data
// names source packages. Files come with the digests RPM recorded.
package rpm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/osrelease"
	"github.com/vigilsec/vigil/layers"
)

// dbPaths are the rpm databases Catalog looks for, in order; it reads the
// first one present. An image holds one database, but Fedora and SUSE link
// var/lib/rpm to usr/lib/sysimage/rpm, so the same file can show under two
// names.
var dbPaths = []string{
	"usr/lib/sysimage/rpm/rpmdb.sqlite",
	"usr/lib/sysimage/rpm/Packages.db",
	"usr/lib/sysimage/rpm/Packages",
	"var/lib/rpm/rpmdb.sqlite",
	"var/lib/rpm/Packages.db",
	"var/lib/rpm/Packages",
}

const (
	// maxDBSize bounds the database Catalog hands to the reader. A RHEL
	// image with 1500 packages has a 100 MiB Berkeley DB.
	maxDBSize = 1 << 30

	// Metadata keys.
	metaVendor      = "rpm.vendor"
	metaSourceRPM   = "rpm.sourceRpm"
	metaModularity  = "rpm.modularityLabel" // RHEL/CentOS module stream, for matching module advisories
	gpgPubkeyPseudo = "gpg-pubkey"          // rpm --import stores signing keys as packages
)

// Cataloger finds rpm packages. The zero value is ready to use.
type Cataloger struct{}

// Name implements inventory.Cataloger.
func (Cataloger) Name() string { return "rpm" }

// Wants implements inventory.Cataloger.
func (Cataloger) Wants(name string, _ fs.FileMode, _ int64, _ []byte) bool {
	return slices.Contains(dbPaths, name)
}

// Catalog implements inventory.Cataloger.
func (c Cataloger) Catalog(ctx context.Context, fsys layers.FS, env inventory.Environment) ([]inventory.Component, error) {
	for _, name := range dbPaths {
		fi, err := fsys.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		switch {
		case err != nil:
			return nil, fmt.Errorf("stat %s: %w", name, err)
		case !fi.Mode().IsRegular():
			return nil, fmt.Errorf("read %s: not a regular file", name)
		case fi.Size() > maxDBSize:
			return nil, fmt.Errorf("read %s: %d bytes, more than the %d an rpm database may have", name, fi.Size(), maxDBSize)
		}
		local, err := fsys.LocalPath(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		pkgs, err := readDB(ctx, local)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		comps := make([]inventory.Component, 0, len(pkgs))
		for _, p := range pkgs {
			if p.Name != gpgPubkeyPseudo {
				comps = append(comps, c.component(p, name, env.Distro))
			}
		}
		return comps, nil
	}
	return nil, nil
}

func (c Cataloger) component(p pkg, db string, distro *inventory.Distro) inventory.Component {
	epoch := ""
	if p.Epoch != nil {
		epoch = strconv.Itoa(*p.Epoch)
	}
	comp := inventory.Component{
		Type:      packageurl.TypeRPM,
		Name:      p.Name,
		Version:   evr(epoch, p.Version, p.Release),
		Arch:      p.Arch,
		Source:    sourceOf(p.SourceRPM, epoch),
		Locations: []string{"/" + db},
		Files:     p.Files,
		Cataloger: c.Name(),
	}
	if comp.Source == nil {
		comp.Source = &inventory.SourcePackage{Name: p.Name, Version: comp.Version}
	}
	if distro != nil {
		comp.Namespace = distro.ID
	}
	if p.License != "" {
		comp.Licenses = []string{p.License}
	}
	md := map[string]string{}
	for k, v := range map[string]string{metaVendor: p.Vendor, metaSourceRPM: p.SourceRPM, metaModularity: p.ModularityLabel} {
		if v != "" {
			md[k] = v
		}
	}
	if len(md) > 0 {
		comp.Metadata = md
	}

	// pkg:rpm/<vendor>/<name>@<version>-<release>?arch=..&epoch=..&distro=..,
	// as the purl-spec rpm type and Syft write it: the epoch is a qualifier,
	// not part of the version.
	var q packageurl.Qualifiers
	if p.Arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
	}
	if epoch != "" {
		q = append(q, packageurl.Qualifier{Key: "epoch", Value: epoch})
	}
	if d := osrelease.PURLQualifier(distro); d != "" {
		q = append(q, packageurl.Qualifier{Key: "distro", Value: d})
	}
	comp.PURL = packageurl.NewPackageURL(packageurl.TypeRPM, comp.Namespace, p.Name, evr("", p.Version, p.Release), q, "").ToString()
	return comp
}

// evr writes [epoch:]version[-release], RPM's own notation.
func evr(epoch, version, release string) string {
	v := version
	if release != "" {
		v += "-" + release
	}
	if epoch != "" {
		v = epoch + ":" + v
	}
	return v
}

// sourceOf parses a source RPM file name, "<name>-<version>-<release>.src.rpm"
// (".nosrc.rpm" for packages whose sources are not redistributable). Neither
// version nor release may contain '-', so the last two dashes split it. The
// file name has no epoch; the source package is built with the binary's, so
// it is carried over, keeping Source.Version comparable with Version. It
// returns nil when name is empty or not of that form.
func sourceOf(name, epoch string) *inventory.SourcePackage {
	base, ok := strings.CutSuffix(name, ".src.rpm")
	if !ok {
		base, ok = strings.CutSuffix(name, ".nosrc.rpm")
	}
	if !ok || strings.ContainsRune(base, '/') {
		return nil
	}
	i := strings.LastIndexByte(base, '-')
	if i <= 0 {
		return nil
	}
	j := strings.LastIndexByte(base[:i], '-')
	if j <= 0 || j+1 == i || i+1 == len(base) {
		return nil
	}
	return &inventory.SourcePackage{Name: base[:j], Version: evr(epoch, base[j+1:i], base[i+1:])}
}

// cleanPath makes an rpm file name absolute and clean; it is untrusted.
func cleanPath(p string) string { return path.Clean("/" + p) }
