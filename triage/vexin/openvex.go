package vexin

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vigilsec/vigil/vex"
)

// parseOpenVEX reads an OpenVEX v0.2 document. go-vex decodes it and
// validates each statement as the specification requires (a known status, a
// justification or impact statement for not_affected, an action statement
// for affected); a statement it rejects is an error, since a VEX document
// that says something else than its author meant must not suppress findings.
func parseOpenVEX(file, ctxURL string, data []byte) ([]*statement, error) {
	if v, ok := strings.CutPrefix(ctxURL, govex.Context+"/"); !ok || !strings.HasPrefix(v, "v0.2") {
		return nil, fmt.Errorf("OpenVEX @context %q: Vigil reads OpenVEX v0.2 (%s)", ctxURL, govex.ContextLocator())
	}
	doc, err := govex.Parse(data)
	if err != nil {
		// go-vex wraps the decoder's error in the word "error".
		if u := errors.Unwrap(err); u != nil {
			err = u
		}
		return nil, fmt.Errorf("OpenVEX: %w", err)
	}
	out := make([]*statement, 0, len(doc.Statements))
	for i := range doc.Statements {
		st, err := openVEXStatement(file, doc, i)
		if err != nil {
			return nil, fmt.Errorf("OpenVEX statement %d: %w", i, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func openVEXStatement(file string, doc *govex.VEX, i int) (*statement, error) {
	s := &doc.Statements[i]
	v := s.Vulnerability
	vuln := cmp.Or(string(v.Name), v.ID)
	if vuln == "" {
		return nil, errors.New("names no vulnerability")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", vuln, err)
	}
	if len(s.Products) == 0 {
		return nil, fmt.Errorf("%s: names no product", vuln)
	}
	st := &statement{
		file:    file,
		pointer: fmt.Sprintf("/statements/%d", i),
		ids:     lowerIDs(string(v.Name), v.ID),
		time:    firstTime(s.LastUpdated, s.Timestamp, doc.LastUpdated, doc.Timestamp),
	}
	for _, a := range v.Aliases {
		st.ids = append(st.ids, lowerIDs(string(a))...)
	}
	for j := range s.Products {
		p := &s.Products[j]
		var prod product
		if err := openVEXIdent(&prod.ident, &p.Component); err != nil {
			return nil, fmt.Errorf("%s: product %d: %w", vuln, j, err)
		}
		for k := range p.Subcomponents {
			var sub ident
			if err := openVEXIdent(&sub, &p.Subcomponents[k].Component); err != nil {
				return nil, fmt.Errorf("%s: product %d subcomponent %d: %w", vuln, j, k, err)
			}
			prod.subs = append(prod.subs, sub)
		}
		st.products = append(st.products, prod)
	}

	status := vex.Status(s.Status)
	verdict := vex.Verdict{Status: status}
	// Each status carries its own explanation (go-vex's Validate refuses
	// the others); status_notes explain the rest.
	switch status {
	case vex.NotAffected:
		verdict.Justification = vex.Justification(s.Justification)
		verdict.Impact = s.ImpactStatement
	case vex.Affected:
		verdict.Impact = s.ActionStatement
	default:
		verdict.Impact = s.StatusNotes
	}
	verdict.Evidence = []vex.Evidence{evidence(file, st.pointer, vuln, string(s.Status),
		"justification", string(s.Justification),
		"impact", s.ImpactStatement,
		"action", s.ActionStatement,
		"notes", s.StatusNotes)}
	st.verdict = verdict
	return st, nil
}

// openVEXIdent reads a product or subcomponent: its @id, its purl
// identifier and its SHA-256 hash (an image digest). CPEs are not read:
// Vigil's components have none.
func openVEXIdent(id *ident, c *govex.Component) error {
	if c.ID == "" && len(c.Identifiers) == 0 && len(c.Hashes) == 0 {
		return errors.New("no @id, identifiers or hashes")
	}
	if err := id.addName(c.ID); err != nil {
		return fmt.Errorf("@id: %w", err)
	}
	if p := c.Identifiers[govex.PURL]; p != "" {
		if err := id.addPURL(p); err != nil {
			return fmt.Errorf("identifiers: %w", err)
		}
	}
	if h := c.Hashes[govex.SHA256]; h != "" {
		id.digests = append(id.digests, "sha256:"+strings.ToLower(string(h)))
	}
	return nil
}
