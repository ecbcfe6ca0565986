// Package apk catalogs packages installed by apk-tools (Alpine Linux, Wolfi,
// Chainguard images) from its installed database, lib/apk/db/installed.
//
// Each package's origin (the APKBUILD it was built from) becomes its source
// package, because Alpine vulnerability data (secdb) names origins. Files
// come with the checksums apk recorded.
//
// A malformed line does not hide the rest of the database: Catalog returns
// every package it could read together with an error naming each line it
// could not.
package apk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/osrelease"
	"github.com/vigilsec/vigil/layers"
)

const (
	installedFile = "lib/apk/db/installed"
	// maxSize bounds the database Catalog reads. A full Alpine desktop's is
	// under 10 MiB.
	maxSize = 256 << 20

	// Metadata keys.
	metaMaintainer = "apk.maintainer"
	metaURL        = "apk.url"    // upstream project URL
	metaCommit     = "apk.commit" // aports commit the package was built from
)

// Cataloger finds apk packages. The zero value is ready to use.
type Cataloger struct{}

// Name implements inventory.Cataloger.
func (Cataloger) Name() string { return "apk" }

// Wants implements inventory.Cataloger.
func (Cataloger) Wants(name string, _ fs.FileMode, _ int64, _ []byte) bool {
	return name == installedFile
}

// Catalog implements inventory.Cataloger.
func (c Cataloger) Catalog(_ context.Context, fsys layers.FS, env inventory.Environment) ([]inventory.Component, error) {
	f, err := fsys.Open(installedFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", installedFile, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("stat %s: %w", installedFile, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("read %s: not a regular file", installedFile)
	case fi.Size() > maxSize:
		return nil, fmt.Errorf("read %s: %d bytes, more than the %d an installed database may have", installedFile, fi.Size(), maxSize)
	}

	records, errs := parseInstalled(io.LimitReader(f, maxSize))
	for i, err := range errs {
		errs[i] = fmt.Errorf("read %s: %w", installedFile, err)
	}
	comps := make([]inventory.Component, 0, len(records))
	for _, r := range records {
		comps = append(comps, c.component(r, env.Distro))
	}
	return comps, errors.Join(errs...)
}

func (c Cataloger) component(r record, distro *inventory.Distro) inventory.Component {
	comp := inventory.Component{
		Type:      packageurl.TypeApk,
		Namespace: "alpine",
		Name:      r.name,
		Version:   r.version,
		Arch:      r.arch,
		// Subpackages share their origin's pkgver-pkgrel, so the source
		// version is the package's.
		Source:    &inventory.SourcePackage{Name: r.origin, Version: r.version},
		Locations: []string{"/" + installedFile},
		Files:     r.files,
		Cataloger: c.Name(),
	}
	if comp.Source.Name == "" {
		comp.Source.Name = r.name
	}
	if distro != nil && distro.ID != "" {
		comp.Namespace = distro.ID
	}
	if r.license != "" {
		// Kept whole: apk writes an SPDX expression ("MIT AND BSD-2-Clause")
		// or, in old packages, a space-separated list that cannot be split
		// reliably from an expression.
		comp.Licenses = []string{r.license}
	}
	md := map[string]string{}
	for k, v := range map[string]string{metaMaintainer: r.maintainer, metaURL: r.url, metaCommit: r.commit} {
		if v != "" {
			md[k] = v
		}
	}
	if len(md) > 0 {
		comp.Metadata = md
	}

	var q packageurl.Qualifiers
	if r.arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: r.arch})
	}
	if d := osrelease.PURLQualifier(distro); d != "" {
		q = append(q, packageurl.Qualifier{Key: "distro", Value: d})
	}
	if comp.Source.Name != r.name {
		q = append(q, packageurl.Qualifier{Key: "upstream", Value: comp.Source.Name})
	}
	comp.PURL = packageurl.NewPackageURL(packageurl.TypeApk, comp.Namespace, r.name, r.version, q, "").ToString()
	return comp
}
