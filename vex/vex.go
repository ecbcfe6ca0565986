// Package vex holds the verdict a finding carries once triage (or a VEX
// document the user supplied) has looked at it. Its vocabulary is OpenVEX's,
// which every output format maps from: a suppressed finding is never dropped,
// it keeps its status, justification and the evidence behind them.
package vex

// Status is an OpenVEX status.
type Status string

// The OpenVEX statuses.
const (
	NotAffected        Status = "not_affected"
	Affected           Status = "affected"
	Fixed              Status = "fixed"
	UnderInvestigation Status = "under_investigation"
)

// Justification is an OpenVEX justification for NotAffected.
type Justification string

// The OpenVEX justifications.
const (
	ComponentNotPresent                         Justification = "component_not_present"
	VulnerableCodeNotPresent                    Justification = "vulnerable_code_not_present"
	VulnerableCodeNotInExecutePath              Justification = "vulnerable_code_not_in_execute_path"
	VulnerableCodeCannotBeControlledByAdversary Justification = "vulnerable_code_cannot_be_controlled_by_adversary"
	InlineMitigationsAlreadyExist               Justification = "inline_mitigations_already_exist"
)

// Verdict is what is known about one finding beyond the version match.
type Verdict struct {
	Status        Status        `json:"status"`
	Justification Justification `json:"justification,omitempty"`
	// Impact says, for a person, why the status holds (OpenVEX
	// impact_statement, CycloneDX analysis.detail).
	Impact string `json:"impact,omitempty"`
	// Evidence are the facts the verdict rests on.
	Evidence []Evidence `json:"evidence,omitempty"`
	// By names who decided: a triage provider ("triage/backport") or a
	// VEX document ("vex:path/to/file.json").
	By string `json:"by"`
}

// Evidence is one fact behind a verdict.
type Evidence struct {
	// Kind is what sort of fact: "changelog", "layer", "symbols", "context".
	Kind string `json:"kind"`
	// Location is where it was found: a file in the image, a layer, a
	// deployment file.
	Location string `json:"location,omitempty"`
	// Detail quotes or describes it.
	Detail string `json:"detail"`
}

// Suppressed reports whether v means the finding does not need action.
func (v *Verdict) Suppressed() bool {
	return v != nil && (v.Status == NotAffected || v.Status == Fixed)
}
