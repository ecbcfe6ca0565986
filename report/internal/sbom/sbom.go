// Package sbom holds what the SBOM formats (CycloneDX, SPDX) derive alike
// from an inventory: Vigil's own component properties, the dependency graph
// the metadata supports, license classification, document identity and the
// image's package URL. Each format maps these onto its own model.
package sbom

import (
	"cmp"
	"path"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/uuid"
	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/gobinary"
	"github.com/vigilsec/vigil/report/internal/document"
)

// Names of the properties Vigil attaches to components.
const (
	PropLayer         = "vigil:layer"       // diffID of the layer that introduced the component
	PropLayerIndex    = "vigil:layer:index" // its position, 0 being the base layer
	PropLocation      = "vigil:location"    // one per file proving the component
	PropCataloger     = "vigil:cataloger"
	PropSourceName    = "vigil:source:name" // the package this one was built from
	PropSourceVersion = "vigil:source:version"
)

// Property is one name and value.
type Property struct {
	Name, Value string
}

// Properties returns Vigil's properties of c, in a fixed order.
func Properties(c *inventory.Component) []Property {
	props := make([]Property, 0, 4+len(c.Locations))
	if l := c.Layer; l != nil {
		if l.DiffID != "" {
			props = append(props, Property{PropLayer, l.DiffID})
		}
		props = append(props, Property{PropLayerIndex, strconv.Itoa(l.Index)})
	}
	for _, loc := range c.Locations {
		props = append(props, Property{PropLocation, loc})
	}
	if c.Cataloger != "" {
		props = append(props, Property{PropCataloger, c.Cataloger})
	}
	if s := c.Source; s != nil {
		props = append(props, Property{PropSourceName, s.Name})
		if s.Version != "" {
			props = append(props, Property{PropSourceVersion, s.Version})
		}
	}
	return props
}

// IsGoMain reports whether c is the main module of a Go binary.
func IsGoMain(c *inventory.Component) bool {
	return c.Type == packageurl.TypeGolang && c.Metadata[gobinary.MetaMain] == "true"
}

// osTypes are the package-url types of packages a distribution's package
// manager installs.
var osTypes = map[string]bool{packageurl.TypeDebian: true, packageurl.TypeApk: true, packageurl.TypeRPM: true}

// Graph is what the inventory says about which component needs which. Its
// members index the component slice it was built from.
type Graph struct {
	// OSPackages are the components the distribution installed.
	OSPackages []int
	// Binaries are the Go binaries whose main module is known.
	Binaries []Binary
	// Top are the components neither of the above holds, Go main modules
	// included: what the image holds directly.
	Top []int
}

// Binary is one Go binary: its main module and the modules linked into it.
type Binary struct {
	Main int
	Deps []int
}

// NewGraph builds the graph of comps in one pass over them. The modules of
// a binary are linked to its main module only when the binary has exactly
// one: anything else means the metadata cannot say which module is whose.
func NewGraph(comps []inventory.Component) Graph {
	mains := map[string][]int{}
	for i := range comps {
		c := &comps[i]
		if bin := c.Metadata[gobinary.MetaBinary]; bin != "" && IsGoMain(c) {
			mains[bin] = append(mains[bin], i)
		}
	}
	var g Graph
	binary := map[string]int{} // binary path → index in g.Binaries
	for i := range comps {
		c := &comps[i]
		bin := c.Metadata[gobinary.MetaBinary]
		switch {
		case osTypes[c.Type]:
			g.OSPackages = append(g.OSPackages, i)
		case c.Type == packageurl.TypeGolang && bin != "" && len(mains[bin]) == 1 && mains[bin][0] != i:
			b, ok := binary[bin]
			if !ok {
				b = len(g.Binaries)
				binary[bin] = b
				g.Binaries = append(g.Binaries, Binary{Main: mains[bin][0]})
			}
			g.Binaries[b].Deps = append(g.Binaries[b].Deps, i)
		default:
			g.Top = append(g.Top, i)
		}
	}
	return g
}

// DocumentID names one document: the same scan rendered again in the same
// format gets the same name, so that output is reproducible, and any other
// scan (another image, or the same one at another time) a new one.
func DocumentID(doc *document.Document, format string) uuid.UUID {
	src := doc.Inventory.Source
	seed := format + "\x00" + src.Scheme + "\x00" + src.Ref + "\x00" + src.Name + "\x00" + src.Digest + "\x00" +
		src.Config + "\x00" + doc.Created.UTC().Format(time.RFC3339Nano)
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/vigilsec/vigil/report\x00"+seed))
}

// Unique returns want, or want with the first numeric suffix that makes it
// so, and records the result in used. Formats need ids unique within a
// document, and some of theirs are derived rather than chosen.
func Unique(used map[string]bool, want string) string {
	id := want
	for n := 2; used[id]; n++ {
		id = want + "-" + strconv.Itoa(n)
	}
	used[id] = true
	return id
}

// ImageName is how the SBOM formats name the image.
func ImageName(src image.Info) string {
	return cmp.Or(src.Name, src.Ref, "unknown")
}

// ImagePURL returns the package URL of an image pulled from a registry
// (pkg:oci/NAME@DIGEST?repository_url=...), or "" when the image has no
// registry identity.
func ImagePURL(info image.Info) string {
	if info.Scheme != "registry" || info.Digest == "" {
		return ""
	}
	ref, err := name.ParseReference(info.Name)
	if err != nil {
		return ""
	}
	repo := ref.Context()
	q := map[string]string{"repository_url": repo.Name()}
	if info.Arch != "" {
		q["arch"] = info.Arch
	}
	if tag, ok := ref.(name.Tag); ok && tag.TagStr() != "" {
		q["tag"] = tag.TagStr()
	}
	// The oci type's name is the last path segment of the repository; the
	// rest of its identity lives in repository_url.
	p := packageurl.NewPackageURL("oci", "", path.Base(repo.RepositoryStr()), info.Digest, packageurl.QualifiersFromMap(q), "")
	return p.ToString()
}
