package osv

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/ecosystem"
)

// record holds the fields of an OSV record (https://ossf.github.io/osv-schema/)
// that Vigil uses. It is written here rather than taken from the schema's Go
// bindings (osv-schema/bindings/go/osvschema) because those are generated
// protobuf types: they need protojson to decode, bring the protobuf runtime
// along, and materialise every field of 40,000 records when the import uses
// a dozen.
type record struct {
	ID         string      `json:"id"`
	Modified   string      `json:"modified"`
	Published  string      `json:"published"`
	Withdrawn  string      `json:"withdrawn"`
	Aliases    []string    `json:"aliases"`
	Related    []string    `json:"related"`
	Summary    string      `json:"summary"`
	Details    string      `json:"details"`
	Severity   []severity  `json:"severity"`
	Affected   []affected  `json:"affected"`
	References []reference `json:"references"`
}

type severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Severity          []severity      `json:"severity"`
	Ranges            []osvRange      `json:"ranges"`
	Versions          []string        `json:"versions"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific"`
}

type osvRange struct {
	Type   string  `json:"type"`
	Events []event `json:"events"`
}

type event struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed"`
	LastAffected string `json:"last_affected"`
	Limit        string `json:"limit"`
}

type reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// ecosystemSpecific is the part of affected[].ecosystem_specific Vigil
// keeps: Go's vulnerable symbols and Debian's urgency.
type ecosystemSpecific struct {
	Imports []vulndb.Import `json:"imports"`
	Urgency string          `json:"urgency"`
}

// Limits on what one record may hold, far above any real record, so that a
// hostile mirror cannot make the database grow without bound.
const (
	maxSummary    = 300 // runes
	maxReferences = 5
	maxIDs        = 1000 // aliases, related, affected, ranges, events, versions, imports
)

// Warning reasons; each is counted in the source's metadata.
const (
	warnMalformed     = "malformed record"
	warnWithdrawn     = "withdrawn record"
	warnNoAffected    = "record affects no package Vigil can match"
	warnUnknownEco    = "ecosystem without version rules in Vigil"
	warnNoPackage     = "affected entry without package name"
	warnGitRange      = "GIT range ignored (commits, not versions)"
	warnRangeType     = "unknown range type"
	warnBadEvent      = "malformed range event"
	warnBadVersion    = "unparseable version in range"
	warnBadListed     = "unparseable version in versions list"
	warnNoIntroduced  = "range without introduced event"
	warnEmptyAffected = "affected entry with no range or version to match"
	warnBadSeverity   = "unparseable CVSS vector"
	warnSeverityType  = "severity type other than CVSS ignored"
	warnBadDate       = "unparseable date"
	warnSpecific      = "ecosystem_specific not understood"
	warnTooMany       = "list too long, truncated"
)

// problem is one reason to warn, with the record it concerns.
type problem struct{ reason, example string }

// convert turns a decoded record into what the database keeps. It never
// fails: what it cannot use it skips, saying why in the problems it returns.
// A nil Vulnerability means the whole record was skipped.
func convert(r *record) (*vulndb.Vulnerability, []vulndb.Affected, []problem) {
	var probs []problem
	warn := func(reason, detail string) {
		ex := r.ID
		if detail != "" {
			ex += ": " + detail
		}
		probs = append(probs, problem{reason, ex})
	}
	if r.ID == "" || len(r.ID) > 256 || !utf8.ValidString(r.ID) {
		return nil, nil, []problem{{warnMalformed, "record without a valid id"}}
	}
	if r.Withdrawn != "" {
		warn(warnWithdrawn, "")
		return nil, nil, probs
	}

	v := &vulndb.Vulnerability{
		ID:      r.ID,
		Aliases: capList(r.Aliases, warn),
		Related: capList(r.Related, warn),
		Summary: summary(r.Summary, r.Details),
	}
	v.Published = parseTime(r.Published, warn)
	v.Modified = parseTime(r.Modified, warn)
	v.Severity = severities(r.Severity, warn)
	v.References = references(r.References)

	var out []vulndb.Affected
	for _, a := range capList(r.Affected, warn) {
		eco, name := a.Package.Ecosystem, a.Package.Name
		if name == "" || eco == "" {
			warn(warnNoPackage, "")
			continue
		}
		scheme, err := ecosystem.SchemeOf(eco)
		if err != nil {
			warn(warnUnknownEco+": "+ecosystem.Base(eco), name)
			continue
		}
		entry := vulndb.Affected{Ecosystem: eco, Name: name, ID: r.ID}
		for _, rg := range capList(a.Ranges, warn) {
			if conv, ok := convertRange(rg, scheme, name, warn); ok {
				entry.Ranges = append(entry.Ranges, conv)
			}
		}
		for _, ver := range capList(a.Versions, warn) {
			if _, err := scheme.Parse(ver); err != nil {
				warn(warnBadListed, name+": "+err.Error())
				continue
			}
			entry.Versions = append(entry.Versions, ver)
		}
		if len(entry.Ranges) == 0 && len(entry.Versions) == 0 {
			warn(warnEmptyAffected, name)
			continue
		}
		out = append(out, entry)

		pkg := vulndb.Package{Ecosystem: eco, Name: name}
		if len(a.EcosystemSpecific) > 0 {
			var spec ecosystemSpecific
			if err := json.Unmarshal(a.EcosystemSpecific, &spec); err != nil {
				warn(warnSpecific, name)
			} else {
				pkg.Imports = capList(spec.Imports, warn)
				if spec.Urgency != "" && spec.Urgency != "not yet assigned" {
					pkg.Urgency = spec.Urgency
				}
			}
		}
		v.Packages = append(v.Packages, pkg)
		v.Severity = append(v.Severity, severities(a.Severity, warn)...)
	}
	if len(out) == 0 {
		warn(warnNoAffected, "")
		return nil, nil, probs
	}
	return v, out, probs
}

// convertRange checks every version of rg and sorts its events in the order
// of the scheme that applies, so that matching can walk them. A range with
// any version it cannot place is dropped whole: evaluating the rest would
// answer wrongly.
func convertRange(rg osvRange, eco ecosystem.Scheme, name string, warn func(string, string)) (vulndb.Range, bool) {
	var out vulndb.Range
	scheme := eco
	switch rg.Type {
	case "ECOSYSTEM":
		out.Type = vulndb.RangeEcosystem
	case "SEMVER":
		out.Type, scheme = vulndb.RangeSemVer, ecosystem.SemVer
	case "GIT":
		warn(warnGitRange, "")
		return out, false
	default:
		warn(warnRangeType, name+": "+rg.Type)
		return out, false
	}
	type sortable struct {
		vulndb.Event
		v ecosystem.Version // nil for the unbounded "0" and "*"
	}
	events := make([]sortable, 0, len(rg.Events))
	introduced := false
	for _, e := range capList(rg.Events, warn) {
		var ev vulndb.Event
		n := 0
		for _, k := range [...]vulndb.Event{
			{Kind: vulndb.Introduced, Version: e.Introduced}, {Kind: vulndb.Fixed, Version: e.Fixed},
			{Kind: vulndb.LastAffected, Version: e.LastAffected}, {Kind: vulndb.Limit, Version: e.Limit},
		} {
			if k.Version != "" {
				ev, n = k, n+1
			}
		}
		if n != 1 {
			warn(warnBadEvent, name)
			return out, false
		}
		se := sortable{Event: ev}
		if !(ev.Kind == vulndb.Introduced && ev.Version == "0") && !(ev.Kind == vulndb.Limit && ev.Version == "*") {
			v, err := scheme.Parse(ev.Version)
			if err != nil {
				warn(warnBadVersion+" ("+scheme.Name()+")", name+": "+err.Error())
				return out, false
			}
			se.v = v
		}
		introduced = introduced || ev.Kind == vulndb.Introduced
		events = append(events, se)
	}
	if !introduced {
		warn(warnNoIntroduced, name)
		return out, false
	}
	slices.SortStableFunc(events, func(a, b sortable) int {
		if c := compareBound(a.Event, a.v, b.Event, b.v); c != 0 {
			return c
		}
		return int(a.Kind) - int(b.Kind)
	})
	for _, e := range events {
		out.Events = append(out.Events, e.Event)
	}
	return out, true
}

// compareBound orders events by version, with introduced "0" before every
// version and limit "*" after.
func compareBound(a vulndb.Event, av ecosystem.Version, b vulndb.Event, bv ecosystem.Version) int {
	rank := func(e vulndb.Event, v ecosystem.Version) int {
		switch {
		case v != nil:
			return 0
		case e.Kind == vulndb.Introduced:
			return -1
		default:
			return 1
		}
	}
	ra, rb := rank(a, av), rank(b, bv)
	if ra != 0 || rb != 0 {
		return ra - rb
	}
	return av.Compare(bv)
}

func capList[T any](l []T, warn func(string, string)) []T {
	if len(l) > maxIDs {
		warn(warnTooMany, fmt.Sprintf("%d entries", len(l)))
		return l[:maxIDs]
	}
	return l
}

func parseTime(s string, warn func(string, string)) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		warn(warnBadDate, s)
		return time.Time{}
	}
	if t.Year() <= 1 {
		// The Go database zeroes its dates: 0001-01-01 means unknown.
		return time.Time{}
	}
	return t.UTC()
}

func severities(in []severity, warn func(string, string)) []vulndb.Severity {
	var out []vulndb.Severity
	for _, s := range in {
		switch s.Type {
		case "CVSS_V2", "CVSS_V3", "CVSS_V4":
			sev, err := vulndb.ParseCVSS(s.Score)
			if err != nil {
				warn(warnBadSeverity, err.Error())
				continue
			}
			sev.Source = "osv"
			out = append(out, sev)
		default:
			warn(warnSeverityType, s.Type)
		}
	}
	return out
}

// summary is the record's summary or, for sources that give none (Debian's
// CVE records), the first paragraph of its details, on one line and short.
func summary(sum, details string) string {
	s := sum
	if s == "" {
		s, _, _ = strings.Cut(strings.TrimSpace(details), "\n\n")
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxSummary {
		s = string([]rune(s)[:maxSummary-1]) + "…"
	}
	return strings.ToValidUTF8(s, "�")
}

// referenceOrder ranks reference types by use to someone fixing the issue.
var referenceOrder = map[string]int{"ADVISORY": 0, "FIX": 1, "REPORT": 2, "ARTICLE": 3, "WEB": 4}

func references(in []reference) []vulndb.Reference {
	rank := func(t string) int {
		if r, ok := referenceOrder[t]; ok {
			return r
		}
		return len(referenceOrder)
	}
	refs := slices.Clone(in)
	slices.SortStableFunc(refs, func(a, b reference) int { return rank(a.Type) - rank(b.Type) })
	var out []vulndb.Reference
	for _, r := range refs {
		if len(out) == maxReferences {
			break
		}
		if r.URL != "" && len(r.URL) <= 2048 {
			out = append(out, vulndb.Reference{Type: r.Type, URL: r.URL})
		}
	}
	return out
}
