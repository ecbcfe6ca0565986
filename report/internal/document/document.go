// Package document defines what a report shows. It is separate from package
// report only so that the format packages can use the type while report
// itself picks among them; report re-exports it, and callers should use the
// names there.
package document

import (
	"errors"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
)

// Document is everything a report can show.
type Document struct {
	Inventory *inventory.Inventory `json:"inventory"`
	Tool      ToolInfo             `json:"tool"`
	// Created is when the scan ran. Writers take it from here rather than
	// from the clock so that the same document renders to the same bytes.
	Created time.Time `json:"created"`
}

// ToolInfo names the program that made the report.
type ToolInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// String is the tool as SBOM formats name it: "vigil-1.2.0", or the bare
// name when the version is unknown.
func (t ToolInfo) String() string {
	if t.Version == "" {
		return t.Name
	}
	return t.Name + "-" + t.Version
}

// Validate reports what a writer cannot do without.
func (d *Document) Validate() error {
	switch {
	case d == nil:
		return errors.New("report: no document")
	case d.Inventory == nil:
		return errors.New("report: document has no inventory")
	case d.Tool.Name == "":
		return errors.New("report: document has no tool name")
	case d.Created.IsZero():
		return errors.New("report: document has no creation time")
	}
	return nil
}

// FullName is the name users of c's ecosystem know it by: the namespace is
// part of it for Go modules (the module path), npm scoped packages and Maven
// artifacts, and not for distribution packages, where it is the distribution.
func FullName(c *inventory.Component) string {
	if c.Namespace == "" {
		return c.Name
	}
	switch c.Type {
	case packageurl.TypeGolang, packageurl.TypeNPM:
		return c.Namespace + "/" + c.Name
	case packageurl.TypeMaven:
		return c.Namespace + ":" + c.Name
	}
	return c.Name
}
