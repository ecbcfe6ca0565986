package vexin

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vigilsec/vigil/vex"
)

// PropJustification is the vulnerability property through which a
// CycloneDX BOM can carry the OpenVEX justification exactly, where
// CycloneDX's own codes are coarser (code_not_present stands for both
// component_not_present and vulnerable_code_not_present). When it holds a
// valid justification it is preferred to the mapped code.
const PropJustification = "vigil:verdict:justification"

// cdxStates maps CycloneDX analysis states onto OpenVEX statuses.
var cdxStates = map[cdx.ImpactAnalysisState]vex.Status{
	cdx.IASResolved:             vex.Fixed,
	cdx.IASResolvedWithPedigree: vex.Fixed,
	cdx.IASNotAffected:          vex.NotAffected,
	cdx.IASFalsePositive:        vex.NotAffected,
	cdx.IASExploitable:          vex.Affected,
	cdx.IASInTriage:             vex.UnderInvestigation,
}

// cdxJustifications maps CycloneDX justification codes onto the closest
// OpenVEX justification. Vigil's cyclonedx writer maps the other way; the
// pairs it writes come back unchanged, except component_not_present, which
// it writes as code_not_present (see PropJustification).
var cdxJustifications = map[cdx.ImpactAnalysisJustification]vex.Justification{
	cdx.IAJCodeNotPresent:   vex.VulnerableCodeNotPresent,
	cdx.IAJCodeNotReachable: vex.VulnerableCodeNotInExecutePath,
	// The vulnerable code runs only when an option is set or a dependency
	// is present, and here it is not: it is not in the execute path.
	cdx.IAJRequiresConfiguration: vex.VulnerableCodeNotInExecutePath,
	cdx.IAJRequiresDependency:    vex.VulnerableCodeNotInExecutePath,
	// An environment the attacker needs is missing, or the attack is
	// stopped before it reaches the code: the attacker cannot drive it.
	cdx.IAJRequiresEnvironment:          vex.VulnerableCodeCannotBeControlledByAdversary,
	cdx.IAJProtectedAtPerimeter:         vex.VulnerableCodeCannotBeControlledByAdversary,
	cdx.IAJProtectedByCompiler:          vex.InlineMitigationsAlreadyExist,
	cdx.IAJProtectedAtRuntime:           vex.InlineMitigationsAlreadyExist,
	cdx.IAJProtectedByMitigatingControl: vex.InlineMitigationsAlreadyExist,
}

// parseCycloneDX reads the vulnerabilities of a CycloneDX JSON BOM that
// carry an analysis state, each a statement about the components its
// affects name. A BOM without a vulnerabilities list is an SBOM, and an
// error: given as --vex it is a mistake that would otherwise pass in
// silence. An empty list is a VEX document with nothing to say.
func parseCycloneDX(file string, data []byte) ([]*statement, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("CycloneDX: %w", err)
	}
	if bom.Vulnerabilities == nil {
		return nil, errors.New("not a VEX document: a CycloneDX BOM without vulnerabilities")
	}
	var docTime time.Time
	if bom.Metadata != nil {
		t, err := cdxTime(bom.Metadata.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("CycloneDX metadata.timestamp: %w", err)
		}
		docTime = t
	}
	idx := indexBOM(&bom)
	var out []*statement
	for i := range *bom.Vulnerabilities {
		v := &(*bom.Vulnerabilities)[i]
		if v.Analysis == nil || v.Analysis.State == "" {
			// A finding without analysis says nothing about exploitability.
			continue
		}
		st, err := cdxStatement(file, idx, v, i, docTime)
		if err != nil {
			return nil, fmt.Errorf("CycloneDX vulnerability %d: %w", i, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func cdxStatement(file string, idx bomIndex, v *cdx.Vulnerability, i int, docTime time.Time) (*statement, error) {
	if v.ID == "" {
		return nil, errors.New("has no id")
	}
	a := v.Analysis
	status, ok := cdxStates[a.State]
	if !ok {
		return nil, fmt.Errorf("%s: unknown analysis state %q", v.ID, a.State)
	}
	var j vex.Justification
	if a.Justification != "" {
		if j, ok = cdxJustifications[a.Justification]; !ok {
			return nil, fmt.Errorf("%s: unknown analysis justification %q", v.ID, a.Justification)
		}
	}
	exact, err := propJustification(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v.ID, err)
	}
	st := &statement{
		file:    file,
		pointer: fmt.Sprintf("/vulnerabilities/%d", i),
		ids:     lowerIDs(v.ID),
	}
	if v.References != nil {
		for _, r := range *v.References {
			st.ids = append(st.ids, lowerIDs(r.ID)...)
		}
	}
	for _, ts := range []struct{ name, value string }{
		{"analysis.lastUpdated", a.LastUpdated}, {"analysis.firstIssued", a.FirstIssued},
		{"updated", v.Updated}, {"published", v.Published},
	} {
		t, err := cdxTime(ts.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", v.ID, ts.name, err)
		}
		if st.time.IsZero() {
			st.time = t
		}
	}
	if st.time.IsZero() {
		st.time = docTime
	}
	if v.Affects == nil || len(*v.Affects) == 0 {
		return nil, fmt.Errorf("%s: affects names no component", v.ID)
	}
	for k, af := range *v.Affects {
		id, err := idx.ident(af.Ref)
		if err != nil {
			return nil, fmt.Errorf("%s: affects %d: %w", v.ID, k, err)
		}
		st.products = append(st.products, product{ident: id})
	}

	verdict := vex.Verdict{Status: status, Impact: a.Detail}
	switch status {
	case vex.NotAffected:
		verdict.Justification = cmp.Or(exact, j)
	case vex.Affected:
		verdict.Impact = cmp.Or(a.Detail, v.Recommendation)
	}
	var responses []string
	if a.Response != nil {
		for _, r := range *a.Response {
			responses = append(responses, string(r))
		}
	}
	state := string(a.State)
	if string(status) != state {
		state += " (" + string(status) + ")"
	}
	verdict.Evidence = []vex.Evidence{evidence(file, st.pointer, v.ID, state,
		"justification", string(a.Justification),
		"read as", string(j),
		"property "+PropJustification, string(exact),
		"response", strings.Join(responses, ", "),
		"detail", a.Detail)}
	st.verdict = verdict
	return st, nil
}

// propJustification is the value of PropJustification, when v has it.
func propJustification(v *cdx.Vulnerability) (vex.Justification, error) {
	if v.Properties == nil {
		return "", nil
	}
	for _, p := range *v.Properties {
		if p.Name != PropJustification {
			continue
		}
		if !govex.Justification(p.Value).Valid() {
			return "", fmt.Errorf("property %s: %q is no OpenVEX justification", PropJustification, p.Value)
		}
		return vex.Justification(p.Value), nil
	}
	return "", nil
}

// cdxTime parses a CycloneDX date-time; "" is the zero time.
func cdxTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

// bomIndex finds the components of a BOM by bom-ref.
type bomIndex map[string]*cdx.Component

// indexBOM indexes the BOM's subject and its components, nested ones too.
// It walks with a stack rather than recursion: nesting depth is the
// document author's choice.
func indexBOM(bom *cdx.BOM) bomIndex {
	idx := bomIndex{}
	var stack []*cdx.Component
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		stack = append(stack, bom.Metadata.Component)
	}
	if bom.Components != nil {
		for i := range *bom.Components {
			stack = append(stack, &(*bom.Components)[i])
		}
	}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, dup := idx[c.BOMRef]; c.BOMRef != "" && !dup {
			idx[c.BOMRef] = c
		}
		if c.Components != nil {
			for i := range *c.Components {
				stack = append(stack, &(*c.Components)[i])
			}
		}
	}
	return idx
}

// ident is what an affects ref names: a component of this BOM (by its
// purl, and by the bom-ref itself, which in Vigil's BOMs is the inventory
// Ref), a BOM-Link's element in another BOM (by its bom-ref alone), or a
// package URL given as the ref.
func (idx bomIndex) ident(ref string) (ident, error) {
	var id ident
	if ref == "" {
		return id, errors.New("empty ref")
	}
	r := ref
	if cdx.IsBOMLink(ref) {
		link, err := cdx.ParseBOMLink(ref)
		if err != nil {
			return id, fmt.Errorf("BOM-Link %q: %w", ref, err)
		}
		if r = link.Reference(); r == "" {
			return id, fmt.Errorf("BOM-Link %q names a whole BOM, not a component", ref)
		}
	}
	c := idx[r]
	if c == nil {
		return id, id.addName(r)
	}
	id.names = append(id.names, r)
	if c.PackageURL != "" {
		if err := id.addPURL(c.PackageURL); err != nil {
			return id, fmt.Errorf("component %q: %w", r, err)
		}
	}
	if c.Type == cdx.ComponentTypeContainer {
		// An image is named by its name and its digest, which Vigil's
		// writer (like most) gives as the version.
		if err := id.addName(c.Name); err != nil {
			return id, fmt.Errorf("component %q: %w", r, err)
		}
		if strings.HasPrefix(c.Version, "sha256:") {
			id.digests = append(id.digests, strings.ToLower(c.Version))
		}
	}
	if c.Hashes != nil {
		for _, h := range *c.Hashes {
			if h.Algorithm == cdx.HashAlgoSHA256 {
				id.digests = append(id.digests, "sha256:"+strings.ToLower(h.Value))
			}
		}
	}
	return id, nil
}
