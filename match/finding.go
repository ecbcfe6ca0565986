package match

import (
	"strings"
	"time"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
)

// Finding is one vulnerability of one component. Records that alias each
// other (a GO-… record and the GHSA of the same CVE) make one finding.
type Finding struct {
	// ID is the vulnerability's primary id: its CVE when it has one, else
	// the id of the record that reported it.
	ID string `json:"id"`
	// Aliases are the other ids of the same vulnerability, the ids of the
	// records that reported it first (GO-2021-0113 when ID is its CVE).
	Aliases []string `json:"aliases,omitempty"`
	// Related are ids the finding stands for without being the same
	// vulnerability: the distribution advisories folded into it
	// (DSA-5634-1 fixes CVE-2024-1938), or, for an advisory no CVE
	// finding covers, the CVEs it says it fixes.
	Related []string `json:"related,omitempty"`
	Summary string   `json:"summary,omitempty"`

	Component ComponentRef `json:"component"`
	// RootCause names the package the fix goes into: the source package
	// and version for distribution packages ("deb/openssl@3.0.15-1~deb12u1"),
	// whose binary packages (libssl3, openssl) share one fix; the component
	// itself otherwise. Findings with the same RootCause and ID are one
	// problem.
	RootCause string `json:"rootCause"`
	// InstalledVersion is the version compared with the data: the source
	// package's version for distribution packages.
	InstalledVersion string `json:"installedVersion"`
	// FixedVersion is the lowest version outside every affected range that
	// matched, when FixState is FixStateFixed.
	FixedVersion string `json:"fixedVersion,omitempty"`
	// FixedVersions are the fixes of every range that matched, ascending.
	FixedVersions []string `json:"fixedVersions,omitempty"`
	FixState      FixState `json:"fixState"`

	// Severity is rated from CVSS[0]'s base score; unknown when no vector
	// is known anywhere.
	Severity Severity `json:"severity"`
	// CVSS are every vector known for the vulnerability, the one Severity
	// comes from first: v3 is preferred, then v4, then v2; the record's own
	// before the scores source's.
	CVSS []CVSS `json:"cvss,omitempty"`
	// Urgency is the distribution's own rating for this package (Debian's
	// "unimportant", "low"...), when it gives one. It is not a CVSS rating.
	Urgency string `json:"urgency,omitempty"`
	// KEV is set when the vulnerability is in CISA's catalog of Known
	// Exploited Vulnerabilities.
	KEV *vulndb.KEV `json:"kev,omitempty"`

	// Layer is the layer that introduced the component.
	Layer *layers.Info `json:"layer,omitempty"`
	// Symbols are the Go packages and functions the vulnerable code is in,
	// for reachability triage: those of every record behind the finding
	// that names them (the Go team's; GitHub's twins name none), or none
	// when a Go team record says the whole module is vulnerable.
	Symbols []vulndb.Import `json:"symbols,omitempty"`
	// References are a few links about the vulnerability, advisories first.
	References []vulndb.Reference `json:"references,omitempty"`
	// DataSources are the records the finding comes from.
	DataSources []DataSource `json:"dataSources"`
	// Priority says how urgent the finding is, once triage ranked it.
	Priority *Priority `json:"priority,omitempty"`
	// Verdict is set once triage or a VEX document has judged the finding;
	// nil means the version match stands unexamined. A suppressed finding
	// keeps its verdict instead of being dropped.
	Verdict *vex.Verdict `json:"verdict,omitempty"`
}

// Priority ranks a finding for action: the higher Score, the sooner.
type Priority struct {
	Score int `json:"score"`
	// Factors name what raised it: "kev", "reachable", "exposed",
	// "fix available", "severity high".
	Factors []string `json:"factors,omitempty"`
}

// ComponentRef identifies the component a finding is about.
type ComponentRef struct {
	// Ref is inventory.Component.Ref.
	Ref     string                   `json:"ref"`
	Type    string                   `json:"type"`
	Name    string                   `json:"name"`
	Version string                   `json:"version"`
	PURL    string                   `json:"purl,omitempty"`
	Source  *inventory.SourcePackage `json:"source,omitempty"`
}

// CVSS is one CVSS vector with its base score and who assessed it.
type CVSS struct {
	Version string  `json:"version"` // "2.0", "3.0", "3.1", "4.0"
	Vector  string  `json:"vector"`
	Score   float64 `json:"score"`
	// Source is "osv:<record id>" for a vector the OSV record carries, or
	// "cvss:<provider>" for one from the scores source (provider "nvd",
	// "cna", "adp", or "osv" when it copied an OSV record).
	Source string `json:"source"`
}

// AttackVector is the AV metric of the vector ("N", "A", "L", "P"), for
// CVSS v2, v3 and v4 alike; "" when the vector has none.
func (c CVSS) AttackVector() string {
	for _, m := range strings.Split(c.Vector, "/") {
		if v, ok := strings.CutPrefix(m, "AV:"); ok {
			return v
		}
	}
	return ""
}

// DataSource identifies a record a finding comes from.
type DataSource struct {
	Ecosystem string    `json:"ecosystem"` // "Debian:12"
	Package   string    `json:"package"`   // as the data names it: "openssl"
	ID        string    `json:"id"`
	Modified  time.Time `json:"modified,omitzero"`
}

// FixState says whether a fix exists for the installed version.
type FixState string

// The fix states the data can express. OSV has no way to say a fix will not
// come (Debian's tracker does, but its OSV export drops it), so there is no
// "won't fix".
const (
	// FixStateFixed: a fixed version is known.
	FixStateFixed FixState = "fixed"
	// FixStateNotFixed: the affected range is open: no fix yet.
	FixStateNotFixed FixState = "not-fixed"
	// FixStateUnknown: a later version is not affected, but the data does
	// not say which (a last_affected or limit bound, a versions list).
	FixStateUnknown FixState = "unknown"
)

// Severity is a qualitative rating.
type Severity string

// Severities, from the CVSS rating scale; negligible is a base score of 0.
const (
	SeverityCritical   Severity = "critical"
	SeverityHigh       Severity = "high"
	SeverityMedium     Severity = "medium"
	SeverityLow        Severity = "low"
	SeverityNegligible Severity = "negligible"
	SeverityUnknown    Severity = "unknown"
)

// Rank orders severities: critical 5 down to negligible 1; unknown is 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 5
	case SeverityHigh:
		return 4
	case SeverityMedium:
		return 3
	case SeverityLow:
		return 2
	case SeverityNegligible:
		return 1
	}
	return 0
}

// Stats tells what a match covered and what it could not.
type Stats struct {
	// Components is the number of components in the inventory.
	Components int `json:"components"`
	// Checked counts, per ecosystem ("Debian:12", "Go"), the components
	// compared with the data.
	Checked map[string]int `json:"checked"`
	// Vulnerable counts, per ecosystem, the components with a finding.
	Vulnerable map[string]int `json:"vulnerable"`
	// Unsupported counts, per reason, the components that could not be
	// checked: no matcher for their type, no data for their distribution.
	Unsupported map[string]int `json:"unsupported"`
	// Warnings counts, per reason, the components skipped for a problem in
	// their own data, such as a version their ecosystem cannot parse.
	Warnings map[string]int `json:"warnings"`
	// Details names the components behind the warnings, one line each, up
	// to a hundred.
	Details []string `json:"details,omitempty"`
}
