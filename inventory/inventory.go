// Package inventory knows what is inside an image: the OS it is built on and
// every package, from every ecosystem, with the layer that brought it.
//
// One Cataloger per ecosystem lives in a sub-package (inventory/dpkg,
// inventory/gobinary, ...). Adding an ecosystem means adding one package that
// implements Cataloger and listing it in the default set; nothing else changes.
package inventory

import (
	"context"
	"io/fs"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/layers"
)

// HeadSize is how many leading bytes of each regular file a Cataloger sees in
// Wants, enough for any magic number we sniff (ELF header, Go build-id note).
const HeadSize = 8192

// Cataloger finds the packages of one ecosystem.
type Cataloger interface {
	// Name is a short stable identifier ("dpkg", "go-binary").
	Name() string
	// Wants reports whether the layer walk must keep this file's contents
	// for Catalog. It is called for every regular file of every layer, so it
	// must be cheap. head holds up to HeadSize leading bytes of the file.
	Wants(name string, mode fs.FileMode, size int64, head []byte) bool
	// Catalog returns the components visible in fsys. It is called on the
	// final view and on the views of earlier layers that changed one of the
	// files it wants, to attribute each component to the layer that brought
	// it; it must not assume it sees the top layer.
	Catalog(ctx context.Context, fsys layers.FS, env Environment) ([]Component, error)
}

// Environment is what catalogers may need to know beyond the files.
type Environment struct {
	// Distro is the OS detected from os-release; nil when unknown.
	Distro *Distro
}

// Distro identifies the OS release an image is built on (from os-release).
type Distro struct {
	ID         string   `json:"id"`                   // "debian", "alpine", "rhel"
	VersionID  string   `json:"versionID,omitempty"`  // "12", "3.19.1"
	Codename   string   `json:"codename,omitempty"`   // "bookworm"
	PrettyName string   `json:"prettyName,omitempty"` // "Debian GNU/Linux 12 (bookworm)"
	IDLike     []string `json:"idLike,omitempty"`
}

// Component is one package found in the image.
type Component struct {
	// Ref is a stable identifier unique within one inventory (CycloneDX
	// bom-ref, SPDX id seed). Set by the inventory.
	Ref string `json:"ref"`
	// Type is the package-url type: deb, apk, rpm, golang, pypi, npm, maven.
	Type      string `json:"type"`
	Namespace string `json:"namespace,omitempty"` // purl namespace: debian, alpine, Maven groupId, npm scope
	Name      string `json:"name"`
	Version   string `json:"version"`
	Arch      string `json:"arch,omitempty"`
	// Source is the package this one was built from (dpkg Source:, apk
	// origin, source RPM). Vulnerability data for distributions names source
	// packages, so matching needs it.
	Source *SourcePackage `json:"source,omitempty"`
	PURL   string         `json:"purl"`
	// Licenses as declared by the package metadata (SPDX ids or free text).
	Licenses []string `json:"licenses,omitempty"`
	// Locations are the files that prove the component exists, with a
	// leading slash: the package database or the binary / manifest.
	Locations []string `json:"locations"`
	// Files are the files the package manager says the package installed,
	// with their recorded digests where it keeps them (dpkg md5sums).
	Files []File `json:"files,omitempty"`
	// Cataloger names the cataloger that found it.
	Cataloger string `json:"cataloger"`
	// Layer is the layer that introduced the version present in the view.
	Layer *layers.Info `json:"layer,omitempty"`
	// History is the component's story across layers: every layer where it
	// appeared, changed version, or disappeared.
	History []LayerEvent `json:"history,omitempty"`
	// Metadata holds ecosystem specifics with keys prefixed by ecosystem
	// ("go.toolchain", "go.main", "maven.groupId", "dpkg.status").
	Metadata map[string]string `json:"metadata,omitempty"`
}

// SourcePackage names the package a binary package was built from.
type SourcePackage struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// File is one file owned by a package.
type File struct {
	Path   string `json:"path"`
	Digest string `json:"digest,omitempty"` // "md5:<hex>", "sha1:<hex>", "sha256:<hex>"
}

// LayerEvent is one step in a component's story.
type LayerEvent struct {
	Layer   int       `json:"layer"`
	Op      layers.Op `json:"op"` // Added, Modified (version changed) or Deleted
	Version string    `json:"version,omitempty"`
}

// Inventory is the composition of one image.
type Inventory struct {
	Source     image.Info    `json:"source"`
	Distro     *Distro       `json:"distro,omitempty"`
	Layers     []layers.Info `json:"layers,omitempty"`
	Components []Component   `json:"components"`
	// Removed are components some layer installed that are absent, or at
	// another version, in the final filesystem; kept for triage.
	Removed  []Component `json:"removed,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
}
