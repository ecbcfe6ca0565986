package cyclonedx

import (
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/advice"
	"github.com/vigilsec/vigil/report/internal/sbom"
	"github.com/vigilsec/vigil/vex"
)

// Names of the properties Vigil attaches to vulnerabilities, beside the
// component ones (vigil:layer, vigil:layer:index) it shares.
const (
	propKEV        = "vigil:kev"
	propKEVAdded   = "vigil:kev:dateAdded"
	propRansomware = "vigil:kev:knownRansomware"
	propFixState   = "vigil:fix-state"
	propLayerBase  = "vigil:layer:base"
	propUrgency    = "vigil:urgency"
	propRelated    = "vigil:related"
	propVerdictBy  = "vigil:verdict:by"
	// propVerdictJustification keeps the OpenVEX justification, which
	// CycloneDX's codes cannot all express (component_not_present).
	propVerdictJustification = "vigil:verdict:justification"
	propSymbol               = "vigil:symbol"
	propInstalled            = "vigil:installed-version"
	propDataSourceID         = "vigil:source:id"
	// propRootCause is match.Finding.RootCause: findings sharing it and an
	// id are one problem (the binary packages of one source package).
	propRootCause = "vigil:root-cause"
	// propPriority and propPriorityFactor are triage's ranking.
	propPriority       = "vigil:priority"
	propPriorityFactor = "vigil:priority:factor"
	// propRemoved marks a component a later layer replaced or deleted,
	// with its layer story.
	propRemoved = "vigil:removed"
)

// vulnerabilities maps each finding onto a CycloneDX vulnerability that
// affects its component. Suppressed findings are kept, with their analysis:
// a BOM that dropped them would not say why the scanner was silent.
func vulnerabilities(findings []match.Finding, inv *inventory.Inventory, refs map[string]bool) []cdx.Vulnerability {
	comps := advice.Components(inv)
	out := make([]cdx.Vulnerability, 0, len(findings))
	for i := range findings {
		f := &findings[i]
		v := cdx.Vulnerability{
			BOMRef:         sbom.Unique(refs, "vuln:"+f.ID+":"+f.Component.Ref),
			ID:             f.ID,
			Source:         source(f),
			Description:    f.Summary,
			Recommendation: advice.Fix(f, comps[f.Component.Ref]),
			Ratings:        ratings(f),
			Affects:        affects(f),
			Analysis:       analysis(f.Verdict),
		}
		if refs := references(f); len(refs) > 0 {
			v.References = &refs
		}
		if adv := advisories(f); len(adv) > 0 {
			v.Advisories = &adv
		}
		if props := vulnProperties(f); len(props) > 0 {
			v.Properties = &props
		}
		out = append(out, v)
	}
	return out
}

// source names the record the finding comes from: OSV, in the ecosystem it
// was matched in.
func source(f *match.Finding) *cdx.Source {
	if len(f.DataSources) == 0 {
		return nil
	}
	ds := f.DataSources[0]
	return &cdx.Source{Name: "OSV (" + ds.Ecosystem + ")", URL: advice.OSVURL(ds.ID)}
}

// references are the other ids of the same vulnerability.
func references(f *match.Finding) []cdx.VulnerabilityReference {
	refs := make([]cdx.VulnerabilityReference, 0, len(f.Aliases))
	for _, a := range f.Aliases {
		refs = append(refs, cdx.VulnerabilityReference{ID: a, Source: &cdx.Source{Name: "OSV", URL: advice.OSVURL(a)}})
	}
	return refs
}

func advisories(f *match.Finding) []cdx.Advisory {
	out := make([]cdx.Advisory, 0, len(f.References))
	for _, r := range f.References {
		out = append(out, cdx.Advisory{Title: r.Type, URL: r.URL})
	}
	return out
}

// ratings gives one rating per known CVSS vector. The finding's severity is
// rated from the first; the others carry their score and vector. Without a
// vector the severity is unknown, and the one rating says so rather than
// leaving consumers to guess.
func ratings(f *match.Finding) *[]cdx.VulnerabilityRating {
	if len(f.CVSS) == 0 {
		return &[]cdx.VulnerabilityRating{{Severity: cdx.SeverityUnknown}}
	}
	out := make([]cdx.VulnerabilityRating, len(f.CVSS))
	for i, c := range f.CVSS {
		score := c.Score
		out[i] = cdx.VulnerabilityRating{
			Source: ratingSource(f.ID, c.Source),
			Score:  &score,
			Method: method(c),
			Vector: c.Vector,
		}
		if i == 0 {
			out[i].Severity = severity(f.Severity)
		}
	}
	return &out
}

// method is the CycloneDX scoring method of a CVSS version.
func method(c match.CVSS) cdx.ScoringMethod {
	switch c.Version {
	case "2.0":
		return cdx.ScoringMethodCVSSv2
	case "3.0":
		return cdx.ScoringMethodCVSSv3
	case "3.1":
		return cdx.ScoringMethodCVSSv31
	case "4.0":
		return cdx.ScoringMethodCVSSv4
	}
	return cdx.ScoringMethodOther
}

// ratingSource names who assessed a vector, from match.CVSS.Source.
func ratingSource(id, src string) *cdx.Source {
	kind, rest, _ := strings.Cut(src, ":")
	switch {
	case kind == "osv":
		return &cdx.Source{Name: "OSV", URL: advice.OSVURL(rest)}
	case kind == "cvss" && rest == "nvd":
		return &cdx.Source{Name: "NVD", URL: "https://nvd.nist.gov/vuln/detail/" + id}
	case kind == "cvss" && rest != "":
		return &cdx.Source{Name: strings.ToUpper(rest)}
	}
	return nil
}

// severity maps Vigil's severities onto CycloneDX's, where a score of 0 is
// "none".
func severity(s match.Severity) cdx.Severity {
	switch s {
	case match.SeverityCritical:
		return cdx.SeverityCritical
	case match.SeverityHigh:
		return cdx.SeverityHigh
	case match.SeverityMedium:
		return cdx.SeverityMedium
	case match.SeverityLow:
		return cdx.SeverityLow
	case match.SeverityNegligible:
		return cdx.SeverityNone
	}
	return cdx.SeverityUnknown
}

// affects points at the component, with the installed version and, when a
// fix is known, the version that is not affected.
func affects(f *match.Finding) *[]cdx.Affects {
	status := cdx.VulnerabilityStatusAffected
	if f.Verdict.Suppressed() {
		status = cdx.VulnerabilityStatusNotAffected
	}
	versions := []cdx.AffectedVersions{{Version: f.InstalledVersion, Status: status}}
	if f.FixState == match.FixStateFixed && f.FixedVersion != "" {
		versions = append(versions, cdx.AffectedVersions{Version: f.FixedVersion, Status: cdx.VulnerabilityStatusNotAffected})
	}
	return &[]cdx.Affects{{Ref: f.Component.Ref, Range: &versions}}
}

// analysis carries a verdict: OpenVEX's vocabulary mapped onto CycloneDX's,
// with the impact and the evidence as the detail.
func analysis(v *vex.Verdict) *cdx.VulnerabilityAnalysis {
	if v == nil {
		return nil
	}
	return &cdx.VulnerabilityAnalysis{
		State:         states[v.Status],
		Justification: justifications[v.Justification],
		Detail:        advice.Detail(v),
	}
}

var states = map[vex.Status]cdx.ImpactAnalysisState{
	vex.NotAffected:        cdx.IASNotAffected,
	vex.Fixed:              cdx.IASResolved,
	vex.Affected:           cdx.IASExploitable,
	vex.UnderInvestigation: cdx.IASInTriage,
}

// justifications maps OpenVEX's justifications onto the nearest of
// CycloneDX's: a component that is not present has no code present either.
var justifications = map[vex.Justification]cdx.ImpactAnalysisJustification{
	vex.ComponentNotPresent:                         cdx.IAJCodeNotPresent,
	vex.VulnerableCodeNotPresent:                    cdx.IAJCodeNotPresent,
	vex.VulnerableCodeNotInExecutePath:              cdx.IAJCodeNotReachable,
	vex.VulnerableCodeCannotBeControlledByAdversary: cdx.IAJRequiresEnvironment,
	vex.InlineMitigationsAlreadyExist:               cdx.IAJProtectedByMitigatingControl,
}

func vulnProperties(f *match.Finding) []cdx.Property {
	var ps []cdx.Property
	add := func(name, value string) { ps = append(ps, cdx.Property{Name: name, Value: value}) }
	add(propKEV, strconv.FormatBool(f.KEV != nil))
	if k := f.KEV; k != nil {
		if !k.DateAdded.IsZero() {
			add(propKEVAdded, k.DateAdded.UTC().Format(time.DateOnly))
		}
		if k.KnownRansomware {
			add(propRansomware, "true")
		}
	}
	add(propFixState, string(f.FixState))
	add(propInstalled, f.InstalledVersion)
	if f.RootCause != "" {
		add(propRootCause, f.RootCause)
	}
	if p := f.Priority; p != nil {
		add(propPriority, strconv.Itoa(p.Score))
		for _, factor := range p.Factors {
			add(propPriorityFactor, factor)
		}
	}
	if l := f.Layer; l != nil {
		if l.DiffID != "" {
			add(sbom.PropLayer, l.DiffID)
		}
		add(sbom.PropLayerIndex, strconv.Itoa(l.Index))
		add(propLayerBase, strconv.FormatBool(l.Base))
	}
	if f.Urgency != "" {
		add(propUrgency, f.Urgency)
	}
	for _, r := range f.Related {
		add(propRelated, r)
	}
	for _, ds := range f.DataSources {
		add(propDataSourceID, ds.ID)
	}
	for _, imp := range f.Symbols {
		for _, s := range imp.Symbols {
			add(propSymbol, imp.Path+"."+s)
		}
	}
	if v := f.Verdict; v != nil && v.By != "" {
		add(propVerdictBy, v.By)
	}
	if v := f.Verdict; v != nil && v.Justification != "" {
		add(propVerdictJustification, string(v.Justification))
	}
	return ps
}
