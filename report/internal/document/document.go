// Package document defines what a report shows. It is separate from package
// report only so that the format packages can use the type while report
// itself picks among them; report re-exports it, and callers should use the
// names there.
package document

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage/deploy"
)

// Document is everything a report can show.
type Document struct {
	Inventory *inventory.Inventory `json:"inventory"`
	Tool      ToolInfo             `json:"tool"`
	// Created is when the scan ran. Writers take it from here rather than
	// from the clock so that the same document renders to the same bytes.
	Created time.Time `json:"created"`

	// Findings are the vulnerabilities to report, already filtered by the
	// command (--ignore-unfixed); suppressed ones included, with their
	// verdicts. Writers render what they get, in the order they get it.
	Findings []match.Finding `json:"findings,omitempty"`
	// MatchStats says what matching covered; nil when it did not run.
	MatchStats *match.Stats `json:"matchStats,omitempty"`
	// Database names the vulnerability data the findings come from; nil
	// when matching did not run.
	Database *DatabaseInfo `json:"database,omitempty"`
	// Issues are the hygiene problems found.
	Issues []hygiene.Issue `json:"issues,omitempty"`
	// Context says how the image is deployed, as triage understood it;
	// nil when triage did not run.
	Context *deploy.Summary `json:"context,omitempty"`
	// Baseline, when set, says which earlier report the findings were
	// compared with: findings already in it were left out.
	Baseline *Baseline `json:"baseline,omitempty"`
}

// Baseline says what --baseline left out.
type Baseline struct {
	// Path is the earlier report.
	Path string `json:"path"`
	// Known counts the findings left out because the baseline has them.
	Known int `json:"known"`
}

// DatabaseInfo is what a report says about the vulnerability database.
type DatabaseInfo struct {
	// Built is when the database was built.
	Built   time.Time        `json:"built,omitzero"`
	Sources []DatabaseSource `json:"sources,omitempty"`
}

// DatabaseSource is one source of vulnerability data.
type DatabaseSource struct {
	// Name identifies the source as vulndb does: "osv/Debian", "kev", "cvss".
	Name string `json:"name"`
	// Snapshot is the newest modification time in the source's data; zero
	// when the data carries none.
	Snapshot time.Time `json:"snapshot,omitzero"`
}

// Suppressed counts the findings whose verdict means no action is needed.
func (d *Document) Suppressed() int {
	n := 0
	for i := range d.Findings {
		if d.Findings[i].Verdict.Suppressed() {
			n++
		}
	}
	return n
}

// ToolInfo names the program that made the report.
type ToolInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// String is the tool as SBOM formats name it: "vigil-1.2.0", or the bare
// name when the version is unknown.
func (t ToolInfo) String() string {
	if t.Version == "" {
		return t.Name
	}
	return t.Name + "-" + t.Version
}

// Validate reports what a writer cannot do without.
func (d *Document) Validate() error {
	switch {
	case d == nil:
		return errors.New("report: no document")
	case d.Inventory == nil:
		return errors.New("report: document has no inventory")
	case d.Tool.Name == "":
		return errors.New("report: document has no tool name")
	case d.Created.IsZero():
		return errors.New("report: document has no creation time")
	}
	return nil
}

// FullName is the name users of c's ecosystem know it by: the namespace is
// part of it for Go modules (the module path), npm scoped packages and Maven
// artifacts, and not for distribution packages, where it is the distribution.
func FullName(c *inventory.Component) string {
	if c.Namespace == "" {
		return c.Name
	}
	switch c.Type {
	case packageurl.TypeGolang, packageurl.TypeNPM:
		return c.Namespace + "/" + c.Name
	case packageurl.TypeMaven:
		return c.Namespace + ":" + c.Name
	}
	return c.Name
}

// WriteJSON writes v as the JSON formats of Vigil's own making write it:
// indented, and without HTML escaping, since package URLs carry '&' and '<'
// is legal in versions. format names the format in the error.
func WriteJSON(w io.Writer, v any, format string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s: %w", format, err)
	}
	return nil
}
