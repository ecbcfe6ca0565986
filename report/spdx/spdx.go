// Package spdx renders a report as an SPDX 2.3 JSON document: a package for
// the image, which the document describes and which contains a package for
// its OS and one for every component.
package spdx

import (
	"fmt"
	"io"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/sbom"
)

// Writer renders SPDX JSON.
type Writer struct{}

// namespaceBase prefixes every document namespace; SPDX asks for a URI the
// creator controls, followed by the document's name and a UUID.
const namespaceBase = "https://github.com/vigilsec/vigil/spdx/"

const noAssertion = "NOASSERTION"

// Write renders doc to w.
func (Writer) Write(w io.Writer, doc *document.Document) error {
	sdoc, err := build(doc)
	if err != nil {
		return err
	}
	if err := spdxjson.Write(sdoc, w, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return fmt.Errorf("write spdx: %w", err)
	}
	return nil
}

func build(doc *document.Document) (*v2_3.Document, error) {
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	inv := doc.Inventory
	b := &builder{
		ids:       map[string]bool{"DOCUMENT": true},
		refs:      map[string]string{},
		refIDs:    map[string]bool{},
		licenses:  make(sbom.Licenses),
		annotator: common.Annotator{Annotator: doc.Tool.String(), AnnotatorType: "Tool"},
		created:   doc.Created.UTC().Format(time.RFC3339),
	}
	name := sbom.ImageName(inv.Source)

	img := b.pkg("image", name, inv.Source.Digest, sbom.ImagePURL(inv.Source))
	img.PrimaryPackagePurpose = "CONTAINER"
	pkgs := make([]*v2_3.Package, 0, len(inv.Components)+2)
	pkgs = append(pkgs, img)
	rels := make([]*v2_3.Relationship, 0, len(inv.Components)+2)
	rels = append(rels, relate("DOCUMENT", "DESCRIBES", img.PackageSPDXIdentifier))
	if d := inv.Distro; d != nil {
		os := b.pkg("os-"+d.ID+"-"+d.VersionID, d.ID, d.VersionID, "")
		// The schema spells the purposes with underscores where the
		// specification's prose has hyphens; the schema is what validators check.
		os.PrimaryPackagePurpose = "OPERATING_SYSTEM"
		os.PackageSummary = d.PrettyName
		pkgs = append(pkgs, os)
		rels = append(rels, relate(img.PackageSPDXIdentifier, "CONTAINS", os.PackageSPDXIdentifier))
	}
	compIDs := make([]common.ElementID, len(inv.Components))
	for i := range inv.Components {
		p := b.component(&inv.Components[i])
		compIDs[i] = p.PackageSPDXIdentifier
		pkgs = append(pkgs, p)
		rels = append(rels, relate(img.PackageSPDXIdentifier, "CONTAINS", p.PackageSPDXIdentifier))
	}
	for _, bin := range sbom.NewGraph(inv.Components).Binaries {
		for _, d := range bin.Deps {
			rels = append(rels, relate(compIDs[bin.Main], "DEPENDS_ON", compIDs[d]))
		}
	}

	return &v2_3.Document{
		SPDXVersion:       v2_3.Version,
		DataLicense:       v2_3.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name,
		DocumentNamespace: namespaceBase + sanitize(name) + "-" + sbom.DocumentID(doc, "spdx").String(),
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{Creator: doc.Tool.String(), CreatorType: "Tool"}},
			Created:  b.created,
		},
		Packages:      pkgs,
		OtherLicenses: b.otherLicenses,
		Relationships: rels,
	}, nil
}

func relate(a common.ElementID, typ string, b common.ElementID) *v2_3.Relationship {
	return &v2_3.Relationship{
		RefA:         common.MakeDocElementID("", string(a)),
		RefB:         common.MakeDocElementID("", string(b)),
		Relationship: typ,
	}
}

// builder keeps what must be unique across one document.
type builder struct {
	ids           map[string]bool   // SPDX ids in use, without "SPDXRef-"
	refs          map[string]string // declared license text → its LicenseRef-
	refIDs        map[string]bool   // LicenseRef- ids in use
	otherLicenses []*v2_3.OtherLicense
	licenses      sbom.Licenses
	annotator     common.Annotator
	created       string
}

// id returns an SPDX id for seed that no other element of the document has.
func (b *builder) id(seed string) common.ElementID {
	return common.ElementID(sbom.Unique(b.ids, sanitize(seed)))
}

// sanitize maps s onto the characters SPDX ids allow, [A-Za-z0-9.-], each
// run of others becoming one '-'.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	if out := strings.Trim(b.String(), "-"); out != "" {
		return out
	}
	return "unknown"
}

// pkg returns a package with what SPDX requires and Vigil does not know
// marked as such.
func (b *builder) pkg(idSeed, name, version, purl string) *v2_3.Package {
	p := &v2_3.Package{
		PackageName:               name,
		PackageSPDXIdentifier:     b.id(idSeed),
		PackageVersion:            version,
		PackageSupplier:           &common.Supplier{Supplier: noAssertion},
		PackageDownloadLocation:   noAssertion,
		FilesAnalyzed:             false,
		IsFilesAnalyzedTagPresent: true,
		PackageLicenseConcluded:   noAssertion,
		PackageLicenseDeclared:    noAssertion,
	}
	if purl != "" {
		p.PackageExternalReferences = []*v2_3.PackageExternalReference{{
			Category: common.CategoryPackageManager,
			RefType:  common.TypePackageManagerPURL,
			Locator:  purl,
		}}
	}
	return p
}

func (b *builder) component(c *inventory.Component) *v2_3.Package {
	p := b.pkg(c.Ref, document.FullName(c), c.Version, c.PURL)
	if sbom.IsGoMain(c) {
		p.PrimaryPackagePurpose = "APPLICATION"
	}
	p.PackageLicenseDeclared = b.declared(c.Licenses)
	if props := sbom.Properties(c); len(props) > 0 {
		lines := make([]string, len(props))
		for i, pr := range props {
			lines[i] = pr.Name + "=" + pr.Value
		}
		p.Annotations = []v2_3.Annotation{{
			Annotator:         b.annotator,
			AnnotationDate:    b.created,
			AnnotationType:    "OTHER",
			AnnotationComment: strings.Join(lines, "\n"),
		}}
	}
	return p
}

// declared turns a package's declared licenses into one SPDX expression.
// Strings that are not valid expressions over the SPDX License List become
// LicenseRef-s whose text is the string as declared, so nothing is lost and
// the document never holds an invalid expression.
func (b *builder) declared(licenses []string) string {
	ls := b.licenses.Classify(licenses)
	if len(ls) == 0 {
		return noAssertion
	}
	exprs := make([]string, len(ls))
	for i, l := range ls {
		exprs[i] = l.Expression
		if exprs[i] == "" {
			exprs[i] = b.licenseRef(l.Declared)
		}
	}
	return sbom.And(exprs)
}

// maxRefID keeps LicenseRef- ids readable; the text is kept whole.
const maxRefID = 64

func (b *builder) licenseRef(text string) string {
	if ref, ok := b.refs[text]; ok {
		return ref
	}
	seed := sanitize(text)
	if len(seed) > maxRefID {
		seed = seed[:maxRefID]
	}
	ref := "LicenseRef-" + sbom.Unique(b.refIDs, seed)
	b.refs[text] = ref
	b.otherLicenses = append(b.otherLicenses, &v2_3.OtherLicense{
		LicenseIdentifier: ref,
		ExtractedText:     text,
		LicenseName:       text,
		LicenseComment:    "Declared by package metadata; not an SPDX License List identifier or expression.",
	})
	return ref
}
