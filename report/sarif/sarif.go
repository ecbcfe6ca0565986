// Package sarif renders a report as SARIF 2.1.0 for GitHub code scanning and
// other SARIF consumers: one rule per vulnerability id and per hygiene rule,
// one result per finding and per issue, suppressed findings kept with their
// suppression.
//
// The SARIF model is written here rather than taken from a library: the part
// Vigil emits is a dozen small types, and the Go SARIF libraries serialise
// zero values that mean something in SARIF (a ruleIndex of 0, a rank of 0)
// on every result. The tests validate the output against the official
// schema.
package sarif

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/advice"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/sbom"
)

// Writer renders SARIF 2.1.0 JSON.
type Writer struct{}

const (
	schemaURI      = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	informationURI = "https://github.com/vigilsec/vigil"
	// fingerprintKey names Vigil's partial fingerprint; the "/v1" lets a
	// later way of computing it live beside this one.
	fingerprintKey = "vigil/finding/v1"
)

// Write renders doc to w.
func (Writer) Write(w io.Writer, doc *document.Document) error {
	if err := doc.Validate(); err != nil {
		return err
	}
	return document.WriteJSON(w, build(doc), "sarif")
}

func build(doc *document.Document) *log {
	inv := doc.Inventory
	image := sbom.ImageName(inv.Source)
	comps := advice.Components(inv)
	// results is never null: SARIF wants an array, empty when nothing was
	// found.
	b := &builder{image: image, digest: inv.Source.Digest, rules: map[string]int{}, results: []result{}}
	for i := range doc.Findings {
		f := &doc.Findings[i]
		b.finding(f, comps[f.Component.Ref])
	}
	for i := range doc.Issues {
		b.issue(&doc.Issues[i])
	}
	for i := range b.driver.Rules {
		b.driver.Rules[i].finish()
	}
	b.driver.Name = doc.Tool.Name
	b.driver.Version = doc.Tool.Version
	b.driver.InformationURI = informationURI
	props := map[string]any{"image": image}
	if inv.Source.Digest != "" {
		props["imageDigest"] = inv.Source.Digest
	}
	return &log{
		Schema:  schemaURI,
		Version: "2.1.0",
		Runs: []run{{
			Tool:       tool{Driver: b.driver},
			Results:    b.results,
			Properties: props,
		}},
	}
}

type builder struct {
	image, digest string
	driver        driver
	rules         map[string]int // rule id → index in driver.Rules
	results       []result
}

// rule returns the index of the rule id, adding it with mk when new.
func (b *builder) rule(id string, mk func() rule) int {
	i, ok := b.rules[id]
	if !ok {
		i = len(b.driver.Rules)
		b.rules[id] = i
		b.driver.Rules = append(b.driver.Rules, mk())
	}
	return i
}

func (b *builder) finding(f *match.Finding, c *inventory.Component) {
	fix := advice.Fix(f, c)
	idx := b.rule(f.ID, func() rule {
		r := rule{
			ID:               f.ID,
			ShortDescription: &text{Text: cmp.Or(firstLine(f.Summary), f.ID)},
			HelpURI:          helpURI(f),
			DefaultConfiguration: &configuration{
				Level: level(f.Severity),
			},
			Properties: map[string]any{
				"tags":      []string{"security", "vulnerability", string(f.Severity)},
				"precision": "very-high",
			},
		}
		if f.Summary != "" {
			r.FullDescription = &text{Text: f.Summary}
		}
		// GitHub ranks alerts by security-severity, a CVSS base score as a
		// string; with no score known there is nothing honest to put.
		if len(f.CVSS) > 0 {
			r.Properties["security-severity"] = strconv.FormatFloat(f.CVSS[0].Score, 'f', 1, 64)
		}
		return r
	})
	b.driver.Rules[idx].addHelp(fix)

	name := advice.Name(f, c)
	verb := "is affected by"
	if f.Verdict.Suppressed() {
		verb = "matches the affected versions of"
	}
	msg := fmt.Sprintf("%s %s %s %s (%s severity", name, f.Component.Version, verb, f.ID, f.Severity)
	if f.KEV != nil {
		msg += ", known to be exploited"
	}
	msg += "). " + fix
	if f.InstalledVersion != "" && f.InstalledVersion != f.Component.Version {
		msg += " The installed version matched is " + f.InstalledVersion + "."
	}
	if l := f.Layer; l != nil {
		msg += " " + layerSentence(l)
	}
	res := result{
		RuleID:    f.ID,
		RuleIndex: idx,
		Level:     level(f.Severity),
		Message:   text{Text: msg},
		Locations: []location{b.location(evidencePath(c))},
		PartialFingerprints: map[string]string{
			fingerprintKey: fingerprint(b.image, cmp.Or(f.Component.PURL, f.Component.Type+"/"+f.Component.Name+"@"+f.Component.Version), f.ID),
		},
		Properties: map[string]any{
			"purl":             f.Component.PURL,
			"installedVersion": f.InstalledVersion,
			"fixState":         string(f.FixState),
			"severity":         string(f.Severity),
			"kev":              f.KEV != nil,
		},
	}
	if f.FixedVersion != "" {
		res.Properties["fixedVersion"] = f.FixedVersion
	}
	if len(f.Aliases) > 0 {
		res.Properties["aliases"] = f.Aliases
	}
	if l := f.Layer; l != nil {
		res.Properties["layer"] = layerProps(l)
	}
	if f.RootCause != "" {
		res.Properties["rootCause"] = f.RootCause
	}
	if f.Priority != nil {
		res.Properties["priority"] = f.Priority
	}
	if v := f.Verdict; v != nil {
		res.Properties["verdict"] = v
		// Only a verdict that needs no action suppresses; "affected" and
		// "under investigation" stay open alerts.
		if v.Suppressed() {
			res.Suppressions = []suppression{{Kind: "external", Status: "accepted", Justification: advice.Detail(v)}}
		}
	}
	b.results = append(b.results, res)
}

func (b *builder) issue(is *hygiene.Issue) {
	idx := b.rule(is.Rule, func() rule {
		r := rule{
			ID:               is.Rule,
			ShortDescription: &text{Text: cmp.Or(ruleDescriptions[is.Rule], is.Title)},
			DefaultConfiguration: &configuration{
				Level: issueLevel(is.Severity),
			},
			Properties: map[string]any{
				"tags":      []string{"security", "hygiene"},
				"precision": "high",
			},
		}
		if s, ok := issueScores[is.Severity]; ok {
			r.Properties["security-severity"] = s
		}
		return r
	})
	b.driver.Rules[idx].addHelp(is.Remediation)
	msg := cmp.Or(is.Message, is.Title)
	if is.Layer != nil {
		msg += " " + layerSentence(is.Layer)
	}
	if is.DeletedIn != nil {
		msg += " Layer #" + strconv.Itoa(is.DeletedIn.Index) + " deletes it, but the bytes still ship in the earlier layer."
	}
	// An issue about the image's metadata has no file; it is reported
	// against the image itself, which GitHub shows at repository level.
	loc := b.location(is.Path)
	res := result{
		RuleID:    is.Rule,
		RuleIndex: idx,
		Level:     issueLevel(is.Severity),
		Message:   text{Text: msg},
		Locations: []location{loc},
		PartialFingerprints: map[string]string{
			fingerprintKey: fingerprint(b.image, is.Rule, is.Path+"\x00"+is.Field+"\x00"+is.Component),
		},
		Properties: map[string]any{"severity": string(is.Severity)},
	}
	for k, v := range map[string]string{"field": is.Field, "evidence": is.Evidence, "component": is.Component} {
		if v != "" {
			res.Properties[k] = v
		}
	}
	if is.Layer != nil {
		res.Properties["layer"] = layerProps(is.Layer)
	}
	if is.DeletedIn != nil {
		res.Properties["deletedIn"] = layerProps(is.DeletedIn)
	}
	if len(is.References) > 0 {
		res.Properties["references"] = is.References
	}
	b.results = append(b.results, res)
}

// location is a file in the image, as a path relative to its root (GitHub
// rejects absolute ones) or "." for the image itself, and the image as a
// logical location. GitHub also needs a line; the finding is about the file
// as a whole, so it is the first.
func (b *builder) location(path string) location {
	path = cmp.Or(strings.TrimLeft(path, "/"), ".")
	return location{
		PhysicalLocation: &physicalLocation{
			// A path in an image may hold anything but NUL; the uri must be
			// a valid URI reference, so spaces, '#', '?' and non-ASCII are
			// percent-encoded.
			ArtifactLocation: artifactLocation{URI: (&url.URL{Path: path}).String()},
			Region:           &region{StartLine: 1},
		},
		LogicalLocations: []logicalLocation{{
			Name:               b.image,
			FullyQualifiedName: strings.TrimSuffix(b.image+"@"+b.digest, "@"),
			Kind:               "module",
		}},
	}
}

// evidencePath is the file that proves the component: its package database,
// binary or manifest.
func evidencePath(c *inventory.Component) string {
	if c != nil && len(c.Locations) > 0 {
		return c.Locations[0]
	}
	return ""
}

// fingerprint identifies a result across runs: the same vulnerability in
// the same package of the same image is the same alert, whatever layer or
// digest it comes with today.
func fingerprint(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

func helpURI(f *match.Finding) string {
	if len(f.DataSources) > 0 {
		return advice.OSVURL(f.DataSources[0].ID)
	}
	return advice.OSVURL(f.ID)
}

// level maps a severity onto SARIF's levels as GitHub shows them.
func level(s match.Severity) string {
	switch s {
	case match.SeverityCritical, match.SeverityHigh:
		return "error"
	case match.SeverityMedium:
		return "warning"
	}
	return "note"
}

func issueLevel(s hygiene.Severity) string {
	switch s {
	case hygiene.Critical, hygiene.High:
		return "error"
	case hygiene.Medium:
		return "warning"
	}
	return "note"
}

// issueScores place hygiene severities on the scale GitHub reads from
// security-severity (critical from 9.0, high from 7.0, medium from 4.0),
// in the middle of each band; issues have no CVSS score of their own.
var issueScores = map[hygiene.Severity]string{
	hygiene.Critical: "9.5",
	hygiene.High:     "8.0",
	hygiene.Medium:   "5.5",
	hygiene.Low:      "2.0",
}

// ruleDescriptions describe the hygiene rules whose ids are part of the
// SARIF contract; vigil/config/<check> rules take the issue's title.
var ruleDescriptions = map[string]string{
	"vigil/personal-email": "Personal e-mail address in the image",
	"vigil/secret":         "Secret in an image layer",
	"vigil/modified-file":  "Package file modified after installation",
	"vigil/eol-base":       "Base image is end-of-life",
	"vigil/outdated-base":  "Base image is outdated",
}

func layerSentence(l *layers.Info) string {
	owner := "the application"
	if l.Base {
		owner = "the base image"
	}
	s := "Introduced by layer #" + strconv.Itoa(l.Index)
	if l.DiffID != "" {
		s += " (" + l.DiffID + ")"
	}
	return s + ", which belongs to " + owner + "."
}

func layerProps(l *layers.Info) map[string]any {
	m := map[string]any{"index": l.Index, "base": l.Base}
	if l.DiffID != "" {
		m["diffID"] = l.DiffID
	}
	if l.CreatedBy != "" {
		m["createdBy"] = l.CreatedBy
	}
	return m
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// The SARIF objects Vigil emits, with the properties it sets.
type (
	log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []run  `json:"runs"`
	}
	run struct {
		Tool       tool           `json:"tool"`
		Results    []result       `json:"results"`
		Properties map[string]any `json:"properties,omitempty"`
	}
	tool struct {
		Driver driver `json:"driver"`
	}
	driver struct {
		Name           string `json:"name"`
		Version        string `json:"version,omitempty"`
		InformationURI string `json:"informationUri"`
		Rules          []rule `json:"rules,omitempty"`
	}
	rule struct {
		ID                   string         `json:"id"`
		ShortDescription     *text          `json:"shortDescription,omitempty"`
		FullDescription      *text          `json:"fullDescription,omitempty"`
		Help                 *help          `json:"help,omitempty"`
		HelpURI              string         `json:"helpUri,omitempty"`
		DefaultConfiguration *configuration `json:"defaultConfiguration,omitempty"`
		Properties           map[string]any `json:"properties,omitempty"`

		advice []string // distinct help lines, joined by finish
	}
	text struct {
		Text string `json:"text"`
	}
	// help has no markdown: it quotes the image, and markdown from an
	// attacker-controlled image would render as links in the viewer.
	help struct {
		Text string `json:"text"`
	}
	configuration struct {
		Level string `json:"level"`
	}
	result struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             text              `json:"message"`
		Locations           []location        `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Suppressions        []suppression     `json:"suppressions,omitempty"`
		Properties          map[string]any    `json:"properties,omitempty"`
	}
	location struct {
		PhysicalLocation *physicalLocation `json:"physicalLocation,omitempty"`
		LogicalLocations []logicalLocation `json:"logicalLocations,omitempty"`
	}
	physicalLocation struct {
		ArtifactLocation artifactLocation `json:"artifactLocation"`
		Region           *region          `json:"region,omitempty"`
	}
	artifactLocation struct {
		URI string `json:"uri"`
	}
	region struct {
		StartLine int `json:"startLine"`
	}
	logicalLocation struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
		Kind               string `json:"kind,omitempty"`
	}
	suppression struct {
		Kind          string `json:"kind"`
		Status        string `json:"status"`
		Justification string `json:"justification,omitempty"`
	}
)

// addHelp records one piece of advice for the rule: a vulnerability in two
// packages has two fixes.
func (r *rule) addHelp(s string) {
	if s != "" && !slices.Contains(r.advice, s) {
		r.advice = append(r.advice, s)
	}
}

func (r *rule) finish() {
	if len(r.advice) == 0 {
		return
	}
	r.Help = &help{Text: strings.Join(r.advice, "\n")}
}
