// Package openvex renders a report's findings as an OpenVEX document: one
// statement per vulnerability and component, saying whether the image is
// affected and why. It is the format to hand to other scanners so that they
// agree with Vigil's triage.
package openvex

import (
	"fmt"
	"io"
	"strings"

	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/advice"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/sbom"
	"github.com/vigilsec/vigil/vex"
)

// Author is the document's author.
const Author = "Vigil"

// Writer renders OpenVEX JSON.
type Writer struct{}

// Write renders doc to w. A statement go-vex would reject is an error
// naming its finding: a VEX document is read by machines that act on it.
func (Writer) Write(w io.Writer, doc *document.Document) error {
	v, err := build(doc)
	if err != nil {
		return err
	}
	if err := v.ToJSON(w); err != nil {
		return fmt.Errorf("write openvex: %w", err)
	}
	return nil
}

func build(doc *document.Document) (*govex.VEX, error) {
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	created := doc.Created.UTC()
	v := &govex.VEX{
		Metadata: govex.Metadata{
			Context:   govex.ContextLocator(),
			ID:        "urn:uuid:" + sbom.DocumentID(doc, "openvex").String(),
			Author:    Author,
			Timestamp: &created,
			Version:   1,
			Tooling:   doc.Tool.String(),
		},
		Statements: make([]govex.Statement, 0, len(doc.Findings)),
	}
	image := product(doc.Inventory)
	comps := advice.Components(doc.Inventory)
	shared := sharedPURLs(doc.Inventory)
	for i := range doc.Findings {
		f := &doc.Findings[i]
		st := statement(f, comps[f.Component.Ref], image, shared[f.Component.PURL])
		st.Timestamp = &created
		if st.ActionStatement != "" {
			st.ActionStatementTimestamp = &created
		}
		if err := st.Validate(); err != nil {
			return nil, fmt.Errorf("openvex: statement for %s in %s: %w", f.ID, f.Component.PURL, err)
		}
		v.Statements = append(v.Statements, st)
	}
	return v, nil
}

// product identifies the image: by its package URL when it came from a
// registry, and by its digest whenever it has one.
func product(inv *inventory.Inventory) govex.Component {
	src := inv.Source
	c := govex.Component{ID: sbom.ImagePURL(src)}
	if c.ID != "" {
		c.Identifiers = map[govex.IdentifierType]string{govex.PURL: c.ID}
	}
	if algo, hex, ok := strings.Cut(src.Digest, ":"); ok && algo == "sha256" {
		c.Hashes = map[govex.Algorithm]govex.Hash{govex.SHA256: govex.Hash(hex)}
	}
	if c.ID == "" {
		// Not an IRI, but the only name an image from a directory or an
		// archive has; the hashes above identify it when known.
		c.ID = sbom.ImageName(src)
	}
	return c
}

// sharedPURLs marks the package URLs more than one component has (the same
// module in two Go binaries, a version a later layer replaced and one that
// stayed): a statement naming such a purl would speak for all of them.
func sharedPURLs(inv *inventory.Inventory) map[string]bool {
	seen := map[string]int{}
	for _, list := range [][]inventory.Component{inv.Components, inv.Removed} {
		for i := range list {
			seen[list[i].PURL]++
		}
	}
	shared := map[string]bool{}
	for p, n := range seen {
		if n > 1 {
			shared[p] = true
		}
	}
	return shared
}

// statement is f as an OpenVEX statement. The subcomponent is named by its
// purl, unless another component shares it (shared): then by Vigil's
// component ref, with the purl kept as an identifier for other tools.
func statement(f *match.Finding, c *inventory.Component, image govex.Component, shared bool) govex.Statement {
	aliases := make([]govex.VulnerabilityID, len(f.Aliases))
	for i, a := range f.Aliases {
		aliases[i] = govex.VulnerabilityID(a)
	}
	sub := govex.Component{ID: f.Component.PURL}
	if sub.ID != "" {
		sub.Identifiers = map[govex.IdentifierType]string{govex.PURL: f.Component.PURL}
	}
	if sub.ID == "" || shared {
		sub.ID = f.Component.Ref
	}
	st := govex.Statement{
		Vulnerability: govex.Vulnerability{
			Name:        govex.VulnerabilityID(f.ID),
			Description: f.Summary,
			Aliases:     aliases,
		},
		Products: []govex.Product{{Component: image, Subcomponents: []govex.Subcomponent{{Component: sub}}}},
	}
	verdict := f.Verdict
	if verdict == nil {
		// The version match stands unexamined: affected, until triage
		// says otherwise.
		verdict = &vex.Verdict{Status: vex.Affected}
	}
	st.Status = govex.Status(verdict.Status)
	detail := advice.Detail(verdict)
	if verdict.By != "" {
		detail = strings.TrimSpace(detail + "\n(" + verdict.By + ")")
	}
	// OpenVEX allows each explanation only with the status it belongs to.
	switch verdict.Status {
	case vex.NotAffected:
		st.Justification = govex.Justification(verdict.Justification)
		st.ImpactStatement = detail
	case vex.Affected:
		st.ActionStatement = advice.Fix(f, c)
		st.StatusNotes = detail
	default:
		st.StatusNotes = detail
	}
	return st
}
