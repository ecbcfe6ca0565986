package vexin

import (
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
)

// ident is how a document names one product or component.
type ident struct {
	// names are identifiers that are no package URL: an OpenVEX @id, a
	// CycloneDX bom-ref, an image's name. Vigil's writers name a component
	// without a purl by its inventory Ref.
	names   []string
	purls   []packageurl.PackageURL
	digests []string // "sha256:<hex>", lower case
}

// addName adds s as a package URL when it is one, else as a name.
func (id *ident) addName(s string) error {
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "pkg:") {
		return id.addPURL(s)
	}
	id.names = append(id.names, s)
	return nil
}

func (id *ident) addPURL(s string) error {
	p, err := packageurl.FromString(s)
	if err != nil {
		return fmt.Errorf("package URL %q: %w", s, err)
	}
	id.purls = append(id.purls, p)
	return nil
}

// product is what a statement is about: the product, and the parts of it
// the statement is limited to when subs is not empty.
type product struct {
	ident
	subs []ident
}

// matcher answers, for one triage input, whether a statement applies to a
// finding.
type matcher struct {
	img     image.Info
	digest  string
	repo    *name.Repository // the image's repository, when its name is a reference
	tag     string
	byRef   map[string]*inventory.Component
	all     []*inventory.Component
	purls   map[string]*packageurl.PackageURL // parsed component purls by Ref; nil when unparsable
	holders map[*ident]map[string]bool        // locations of the components an ident names
}

func newMatcher(in *triage.Input) *matcher {
	m := &matcher{
		byRef:   map[string]*inventory.Component{},
		purls:   map[string]*packageurl.PackageURL{},
		holders: map[*ident]map[string]bool{},
	}
	if in == nil || in.Inventory == nil {
		return m
	}
	inv := in.Inventory
	m.img = inv.Source
	m.digest = strings.ToLower(inv.Source.Digest)
	if ref, err := name.ParseReference(inv.Source.Name); err == nil && inv.Source.Name != "" {
		repo := ref.Context()
		m.repo = &repo
		if t, ok := ref.(name.Tag); ok {
			m.tag = t.TagStr()
		}
	}
	for _, list := range [][]inventory.Component{inv.Components, inv.Removed} {
		for i := range list {
			c := &list[i]
			m.all = append(m.all, c)
			if _, ok := m.byRef[c.Ref]; !ok {
				m.byRef[c.Ref] = c
			}
		}
	}
	return m
}

// applies reports whether st speaks about f's component in this image.
func (m *matcher) applies(st *statement, f *match.Finding) bool {
	for i := range st.products {
		p := &st.products[i]
		if len(p.subs) == 0 {
			if m.isImage(&p.ident) || m.isComponent(&p.ident, &f.Component) {
				return true
			}
			continue
		}
		sub := false
		for j := range p.subs {
			if m.isComponent(&p.subs[j], &f.Component) {
				sub = true
				break
			}
		}
		if sub && (m.isImage(&p.ident) || m.holds(&p.ident, &f.Component)) {
			return true
		}
	}
	return false
}

// isImage reports whether id names the scanned image: by digest (as a
// hash, or the version of a pkg:oci purl), by repository (a versionless
// pkg:oci purl), or by the name or reference it was scanned as.
func (m *matcher) isImage(id *ident) bool {
	for _, d := range id.digests {
		if m.digest != "" && d == m.digest {
			return true
		}
	}
	for _, n := range id.names {
		if n == m.img.Name || n == m.img.Ref { // names are never empty
			return true
		}
	}
	for i := range id.purls {
		if m.isImagePURL(&id.purls[i]) {
			return true
		}
	}
	return false
}

func (m *matcher) isImagePURL(p *packageurl.PackageURL) bool {
	if p.Type != "oci" {
		return false
	}
	q := p.Qualifiers.Map()
	if a := q["arch"]; a != "" && m.img.Arch != "" && a != m.img.Arch {
		return false
	}
	if p.Version != "" {
		// A digest is the image whatever repository or tag it is
		// published under, so repository_url and tag are not compared.
		return m.digest != "" && strings.EqualFold(p.Version, m.digest)
	}
	if m.repo == nil || !strings.EqualFold(p.Name, path.Base(m.repo.RepositoryStr())) {
		return false
	}
	if u := q["repository_url"]; u != "" {
		r, err := name.NewRepository(u)
		if err != nil || r.Name() != m.repo.Name() {
			return false
		}
	}
	if t := q["tag"]; t != "" && m.tag != "" && t != m.tag {
		return false
	}
	return true
}

// isComponent reports whether id names c. A name that is the Ref of a
// component of this inventory names that component alone: Vigil's writers
// use the Ref where a purl cannot tell components apart.
func (m *matcher) isComponent(id *ident, c *match.ComponentRef) bool {
	known := false
	for _, n := range id.names {
		if _, ok := m.byRef[n]; ok {
			if n == c.Ref {
				return true
			}
			known = true
		}
	}
	if known {
		return false
	}
	cp := m.purl(c.Ref, c.PURL)
	if cp == nil {
		return false
	}
	for i := range id.purls {
		if purlMatches(&id.purls[i], cp) {
			return true
		}
	}
	return false
}

// holds reports whether id names a component of the image that c is part
// of: one found in the same file, as a Go binary's main module and the
// modules linked into it are. Distribution packages hold nothing: they
// share their database file, not their contents.
func (m *matcher) holds(id *ident, c *match.ComponentRef) bool {
	comp := m.byRef[c.Ref]
	if comp == nil || len(comp.Locations) == 0 {
		return false
	}
	locs, ok := m.holders[id]
	if !ok {
		locs = map[string]bool{}
		for _, o := range m.all {
			if osPackage[o.Type] {
				continue
			}
			if m.isComponent(id, &match.ComponentRef{Ref: o.Ref, PURL: o.PURL}) {
				for _, l := range o.Locations {
					locs[l] = true
				}
			}
		}
		m.holders[id] = locs
	}
	for _, l := range comp.Locations {
		if locs[l] {
			return true
		}
	}
	return false
}

var osPackage = map[string]bool{packageurl.TypeDebian: true, packageurl.TypeApk: true, packageurl.TypeRPM: true}

// purl parses a component's package URL once.
func (m *matcher) purl(ref, s string) *packageurl.PackageURL {
	if p, ok := m.purls[ref]; ok && ref != "" {
		return p
	}
	var p *packageurl.PackageURL
	if s != "" {
		if v, err := packageurl.FromString(s); err == nil {
			p = &v
		}
	}
	if ref != "" {
		m.purls[ref] = p
	}
	return p
}

// purlMatches reports whether the statement's purl s names component c:
// same type, namespace and name (as packageurl-go normalizes them), the
// same version unless s has none, and no qualifier or subpath both have
// with different values. go-vex's PurlMatches is not used: it requires
// every qualifier of s on c, and so rejects a statement whose purl carries
// one Vigil's does not write (repository_url, epoch), which says nothing
// against the component.
func purlMatches(s, c *packageurl.PackageURL) bool {
	if s.Type != c.Type || s.Namespace != c.Namespace || s.Name != c.Name {
		return false
	}
	if s.Version != "" && s.Version != c.Version {
		return false
	}
	if s.Subpath != "" && c.Subpath != "" && s.Subpath != c.Subpath {
		return false
	}
	cq := c.Qualifiers.Map()
	for k, v := range s.Qualifiers.Map() {
		if w, ok := cq[k]; ok && w != v {
			return false
		}
	}
	return true
}
