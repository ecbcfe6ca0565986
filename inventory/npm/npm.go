// Package npm finds installed Node.js packages from their package.json
// manifests.
//
// # What counts as a package
//
// Like Syft and Trivy on images, it reports what is installed rather than
// what a lock file promises (package-lock.json is not read):
//
//   - every package.json at the root of a package in a node_modules
//     directory: node_modules/<name>/package.json and
//     node_modules/@<scope>/<name>/package.json, at any depth (nested
//     node_modules, pnpm's node_modules/.pnpm/<id>/node_modules/<name>);
//   - the same layout under Debian's global module directories
//     (usr/share/nodejs, usr/lib/nodejs, usr/lib/<triplet>/nodejs), where
//     node-* packages install;
//   - any other package.json that declares both a name and a version: the
//     application's own manifest (/app/package.json). It is reported as a
//     component too, because advisories can name it, but marked with
//     npm.app="true" so that reports can tell it from its dependencies.
//
// A package.json below a package's root (node_modules/x/lib/package.json,
// test fixtures) describes no installed package and is ignored; so is any
// manifest without a name or version, which npm itself refuses to install.
//
// # Errors
//
// Catalog never fails a scan for one bad manifest. It returns every
// component it could read, together with an errors.Join of one error per
// manifest it had to skip (unreadable, larger than MaxManifest, not JSON, or
// an installed package without name or version), each naming the file;
// inventory.Catalog turns that error into inventory warnings. Files the walk
// did not capture are passed over silently. Only a cancelled context makes
// Catalog return no components.
package npm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/internal/pkgfs"
	"github.com/vigilsec/vigil/layers"
)

// MaxManifest bounds the size of a package.json. The largest real ones are a
// few hundred KiB; the limit keeps a hostile file from costing more.
const MaxManifest = 4 << 20

// Cataloger finds installed npm packages. Its zero value is ready to use.
type Cataloger struct{}

// Name implements inventory.Cataloger.
func (Cataloger) Name() string { return "npm" }

// Wants implements inventory.Cataloger: it keeps package.json files that can
// describe a package (see the package documentation) and are not too large;
// Catalog warns about the large ones.
func (Cataloger) Wants(name string, mode fs.FileMode, size int64, _ []byte) bool {
	return mode.IsRegular() && size <= MaxManifest && classify(name) != ignored
}

type kind int

const (
	ignored   kind = iota
	installed      // the root of a package in a module directory
	app            // a manifest outside any module directory
)

// classify says what the manifest at name describes.
func classify(name string) kind {
	dir, base := path.Split(name)
	if base != "package.json" {
		return ignored
	}
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if !isModuleDir(parts[:i+1]) {
			continue
		}
		switch rest := parts[i+1:]; {
		case len(rest) == 1 && !strings.HasPrefix(rest[0], "@") && !strings.HasPrefix(rest[0], "."):
			return installed
		case len(rest) == 2 && strings.HasPrefix(rest[0], "@") && len(rest[0]) > 1:
			return installed
		}
		return ignored
	}
	return app
}

// isModuleDir says whether the path made of parts is a directory node
// resolves packages in: any node_modules, or a Debian global module
// directory.
func isModuleDir(parts []string) bool {
	n := len(parts)
	switch {
	case parts[n-1] == "node_modules":
		return true
	case parts[n-1] != "nodejs":
		return false
	case n == 3 && parts[0] == "usr" && (parts[1] == "share" || parts[1] == "lib"):
		return true // usr/share/nodejs, usr/lib/nodejs
	case n == 4 && parts[0] == "usr" && parts[1] == "lib":
		return true // usr/lib/x86_64-linux-gnu/nodejs
	}
	return false
}

// Catalog implements inventory.Cataloger.
func (c Cataloger) Catalog(ctx context.Context, fsys layers.FS, _ inventory.Environment) ([]inventory.Component, error) {
	return pkgfs.Catalog(ctx, fsys, func(name string, d fs.DirEntry) ([]inventory.Component, error) {
		k := classify(name)
		if k == ignored || !d.Type().IsRegular() {
			return nil, nil
		}
		b, err := pkgfs.ReadFile(fsys, name, MaxManifest)
		if err != nil {
			return nil, fmt.Errorf("npm: %w", err)
		}
		comp, err := Parse(b)
		switch {
		case errors.Is(err, ErrNoPackage) && k == app:
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("npm /%s: %w", name, err)
		}
		comp.Locations = []string{"/" + name}
		if k == app {
			comp.Metadata[MetaApp] = "true"
		}
		return []inventory.Component{*comp}, nil
	})
}

// Metadata keys.
const (
	// MetaAuthor is the author as declared: "Name <email> (url)" or the
	// name of an author object.
	MetaAuthor = "npm.author"
	// MetaApp is "true" on a manifest found outside any module directory:
	// the application itself rather than an installed dependency.
	MetaApp = "npm.app"
	// MetaPrivate is "true" for a manifest that may not be published.
	MetaPrivate = "npm.private"
)

// ErrNoPackage is returned by Parse for a manifest without a name or version.
var ErrNoPackage = errors.New("package.json has no name or version")

// manifest holds the fields of package.json that identify a package. The
// fields with legacy forms are decoded by hand from raw JSON.
type manifest struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	License  json.RawMessage `json:"license"`
	Licenses json.RawMessage `json:"licenses"`
	Author   json.RawMessage `json:"author"`
	Private  bool            `json:"private"`
}

// Parse parses a package.json and returns its component with Type,
// Namespace (the @scope), Name, Version, PURL, Licenses, Cataloger and
// Metadata set.
func Parse(b []byte) (*inventory.Component, error) {
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse package.json: %w", err)
	}
	name, version := strings.TrimSpace(m.Name), strings.TrimSpace(m.Version)
	if name == "" || version == "" {
		return nil, ErrNoPackage
	}
	var scope string
	if strings.HasPrefix(name, "@") {
		s, n, ok := strings.Cut(name, "/")
		if !ok || n == "" || s == "@" {
			return nil, fmt.Errorf("parse package.json: scoped name %q has no package part", name)
		}
		scope, name = s, n
	}
	md := map[string]string{}
	if a := author(m.Author); a != "" {
		md[MetaAuthor] = a
	}
	if m.Private {
		md[MetaPrivate] = "true"
	}
	return &inventory.Component{
		Type:      packageurl.TypeNPM,
		Namespace: scope,
		Name:      name,
		Version:   version,
		PURL:      packageurl.NewPackageURL(packageurl.TypeNPM, scope, name, version, nil, "").ToString(),
		Licenses:  append(licenses(m.License), licenses(m.Licenses)...),
		Cataloger: Cataloger{}.Name(),
		Metadata:  md,
	}, nil
}

// licenses reads the license field in all the forms the registry holds: an
// SPDX expression ("MIT", "(MIT OR Apache-2.0)"), the deprecated object
// {"type": "MIT", "url": ...}, and arrays of either (the deprecated
// "licenses" field). Anything else yields nothing rather than an error: a
// bad license field does not make the package any less installed.
func licenses(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var list []json.RawMessage
	if raw[0] == '[' {
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
	} else {
		list = []json.RawMessage{raw}
	}
	var out []string
	for _, item := range list {
		var s string
		var obj struct {
			Type string `json:"type"`
		}
		switch {
		case json.Unmarshal(item, &s) == nil:
		case json.Unmarshal(item, &obj) == nil:
			s = obj.Type
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// author reads the author field: a "Name <email> (url)" string or an object
// with a name.
func author(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var obj struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	if obj.Email != "" {
		return strings.TrimSpace(obj.Name + " <" + obj.Email + ">")
	}
	return strings.TrimSpace(obj.Name)
}
