// Package cyclonedx renders a report as a CycloneDX 1.6 JSON bill of
// materials: the image as the BOM's subject, its OS and every component
// with the layer that brought it, and the vulnerabilities found in them with
// the verdicts of triage.
package cyclonedx

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/sbom"
	"github.com/vigilsec/vigil/triage/supersede"
)

// Writer renders CycloneDX JSON.
type Writer struct{}

const schemaURL = "http://cyclonedx.org/schema/bom-1.6.schema.json"

// Write renders doc to w.
func (Writer) Write(w io.Writer, doc *document.Document) error {
	bom, err := build(doc)
	if err != nil {
		return err
	}
	// Encode, not EncodeVersion: the BOM is built for 1.6 and converting
	// would copy it whole.
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false)
	if err := enc.Encode(bom); err != nil {
		return fmt.Errorf("write cyclonedx: %w", err)
	}
	return nil
}

func build(doc *document.Document) (*cdx.BOM, error) {
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	inv := doc.Inventory
	refs, err := checkRefs(inv.Components)
	if err != nil {
		return nil, err
	}

	imageRef := sbom.Unique(refs, "image")
	subject := &cdx.Component{
		BOMRef:     imageRef,
		Type:       cdx.ComponentTypeContainer,
		Name:       sbom.ImageName(inv.Source),
		Version:    inv.Source.Digest,
		PackageURL: sbom.ImagePURL(inv.Source),
	}

	comps := make([]cdx.Component, 0, len(inv.Components)+1)
	osRef := ""
	if d := inv.Distro; d != nil {
		osRef = sbom.Unique(refs, "os:"+d.ID+"@"+d.VersionID)
		comps = append(comps, cdx.Component{
			BOMRef:      osRef,
			Type:        cdx.ComponentTypeOS,
			Name:        d.ID,
			Version:     d.VersionID,
			Description: d.PrettyName,
		})
	}
	lic := make(sbom.Licenses)
	for i := range inv.Components {
		comps = append(comps, component(&inv.Components[i], lic))
	}
	comps = append(comps, removed(doc, refs, lic)...)

	bom := &cdx.BOM{
		JSONSchema:   schemaURL,
		BOMFormat:    cdx.BOMFormat,
		SpecVersion:  cdx.SpecVersion1_6,
		SerialNumber: "urn:uuid:" + sbom.DocumentID(doc, "cyclonedx").String(),
		Version:      1,
		Metadata: &cdx.Metadata{
			Timestamp: doc.Created.UTC().Format(time.RFC3339),
			Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
				Type:    cdx.ComponentTypeApplication,
				Name:    doc.Tool.Name,
				Version: doc.Tool.Version,
			}}},
			Component: subject,
		},
		Components: &comps,
	}
	if deps := dependencies(inv.Components, imageRef, osRef); len(deps) > 0 {
		bom.Dependencies = &deps
	}
	// When matching ran, the list is written even empty: "checked, none
	// found" differs from an SBOM that says nothing about vulnerabilities,
	// and a VEX consumer (vigil scan --vex) can tell them apart.
	if len(doc.Findings) > 0 || doc.MatchStats != nil {
		vulns := vulnerabilities(doc.Findings, inv, refs)
		bom.Vulnerabilities = &vulns
	}
	return bom, nil
}

// removed lists the components a later layer replaced or deleted that a
// finding is about: affects[].ref must resolve in the BOM, so they are
// listed, with scope "excluded" (not part of what runs) and the layer story
// as a property.
func removed(doc *document.Document, refs map[string]bool, lic sbom.Licenses) []cdx.Component {
	wanted := map[string]bool{}
	for i := range doc.Findings {
		wanted[doc.Findings[i].Component.Ref] = true
	}
	var out []cdx.Component
	for i := range doc.Inventory.Removed {
		c := &doc.Inventory.Removed[i]
		if !wanted[c.Ref] || refs[c.Ref] || c.Ref == "" {
			continue
		}
		refs[c.Ref] = true
		cc := component(c, lic)
		cc.Scope = cdx.ScopeExcluded
		props := append(derefProps(cc.Properties), cdx.Property{Name: propRemoved, Value: supersede.Story(c, doc.Inventory.Layers)})
		cc.Properties = &props
		out = append(out, cc)
	}
	return out
}

func derefProps(p *[]cdx.Property) []cdx.Property {
	if p == nil {
		return nil
	}
	return *p
}

// checkRefs returns the set of component refs, which become bom-refs and
// must therefore be present and unique. The inventory guarantees both; a
// BOM that broke them would be rejected by every consumer, so say so here.
func checkRefs(comps []inventory.Component) (map[string]bool, error) {
	refs := make(map[string]bool, len(comps)+2)
	for i := range comps {
		c := &comps[i]
		switch {
		case c.Ref == "":
			return nil, fmt.Errorf("cyclonedx: component %s %s has no ref", c.Name, c.Version)
		case refs[c.Ref]:
			return nil, fmt.Errorf("cyclonedx: component ref %q is not unique", c.Ref)
		}
		refs[c.Ref] = true
	}
	return refs, nil
}

func component(c *inventory.Component, lic sbom.Licenses) cdx.Component {
	out := cdx.Component{
		BOMRef:     c.Ref,
		Type:       cdx.ComponentTypeLibrary,
		Name:       document.FullName(c),
		Version:    c.Version,
		PackageURL: c.PURL,
		Licenses:   licenses(lic.Classify(c.Licenses)),
	}
	if sbom.IsGoMain(c) {
		out.Type = cdx.ComponentTypeApplication
	}
	// CycloneDX names npm scopes and Maven groupIds as the group; a Go
	// module is named by its whole path, as cyclonedx-gomod does.
	if c.Type == packageurl.TypeNPM || c.Type == packageurl.TypeMaven {
		out.Group, out.Name = c.Namespace, c.Name
	}
	if props := sbom.Properties(c); len(props) > 0 {
		ps := make([]cdx.Property, len(props))
		for i, p := range props {
			ps[i] = cdx.Property{Name: p.Name, Value: p.Value}
		}
		out.Properties = &ps
	}
	return out
}

// licenses maps declared licenses onto CycloneDX's license choice, which is
// either a list of licenses (each an SPDX id from the 1.6 list, or a free
// text name) or exactly one SPDX expression, never a mix.
func licenses(ls []sbom.License) *cdx.Licenses {
	if len(ls) == 0 {
		return nil
	}
	declared := cdx.LicenseAcknowledgementDeclared
	allIDs, allExpr := true, true
	for _, l := range ls {
		allIDs = allIDs && knownID(l.ID)
		allExpr = allExpr && l.Expression != ""
	}
	if !allIDs && allExpr {
		exprs := make([]string, len(ls))
		for i, l := range ls {
			exprs[i] = l.Expression
		}
		return &cdx.Licenses{{Expression: sbom.And(exprs), Acknowledgement: &declared}}
	}
	out := make(cdx.Licenses, len(ls))
	for i, l := range ls {
		cl := &cdx.License{Acknowledgement: declared}
		if knownID(l.ID) {
			cl.ID = l.ID
		} else {
			cl.Name = l.Declared
		}
		out[i] = cdx.LicenseChoice{License: cl}
	}
	return &out
}

// dependencies links the image to what it holds directly and to its OS, the
// OS to the packages it installed, and each Go binary's main module to the
// modules linked into it. Only components with something to depend on are
// listed: an empty dependsOn would claim that a package has no dependencies.
func dependencies(comps []inventory.Component, imageRef, osRef string) []cdx.Dependency {
	g := sbom.NewGraph(comps)
	refsOf := func(idx []int) []string {
		out := make([]string, len(idx))
		for i, j := range idx {
			out[i] = comps[j].Ref
		}
		return out
	}
	var deps []cdx.Dependency
	top := refsOf(g.Top)
	if osRef != "" {
		top = append([]string{osRef}, top...)
	} else {
		top = append(top, refsOf(g.OSPackages)...)
	}
	if len(top) > 0 {
		deps = append(deps, cdx.Dependency{Ref: imageRef, Dependencies: &top})
	}
	if osRef != "" && len(g.OSPackages) > 0 {
		pkgs := refsOf(g.OSPackages)
		deps = append(deps, cdx.Dependency{Ref: osRef, Dependencies: &pkgs})
	}
	for _, b := range g.Binaries {
		mods := refsOf(b.Deps)
		deps = append(deps, cdx.Dependency{Ref: comps[b.Main].Ref, Dependencies: &mods})
	}
	return deps
}

// spdxSchema is the list of license ids CycloneDX 1.6 accepts, as the
// specification publishes it. It is the same file the schema tests validate
// against, so what the writer emits and what the tests accept cannot drift;
// the SPDX list itself moves faster, and an id newer than this list must be
// written as an expression instead.
//
//go:embed testdata/spdx.schema.json
var spdxSchema []byte

var cdxIDs = sync.OnceValue(func() map[string]bool {
	var s struct {
		Enum []string `json:"enum"`
	}
	if err := json.Unmarshal(spdxSchema, &s); err != nil {
		panic("cyclonedx: embedded spdx.schema.json: " + err.Error())
	}
	ids := make(map[string]bool, len(s.Enum))
	for _, id := range s.Enum {
		ids[id] = true
	}
	return ids
})

func knownID(id string) bool { return id != "" && cdxIDs()[id] }
