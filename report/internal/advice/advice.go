// Package advice words what every report format says alike about a finding:
// what to do about it, how its component is named, where its record lives
// and why a verdict holds. One wording keeps the formats from contradicting
// each other.
package advice

import (
	"strings"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/gobinary"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/vex"
)

// Components indexes an inventory's components by ref, for looking up the
// component of a finding: the final ones, and those a later layer removed
// (whose findings triage keeps as not present).
func Components(inv *inventory.Inventory) map[string]*inventory.Component {
	idx := make(map[string]*inventory.Component, len(inv.Components)+len(inv.Removed))
	for i := range inv.Removed {
		idx[inv.Removed[i].Ref] = &inv.Removed[i]
	}
	for i := range inv.Components {
		idx[inv.Components[i].Ref] = &inv.Components[i]
	}
	return idx
}

// Name is the name of a finding's component as its ecosystem knows it; c is
// the component, nil when the inventory does not hold it.
func Name(f *match.Finding, c *inventory.Component) string {
	if c != nil {
		return document.FullName(c)
	}
	return f.Component.Name
}

// Fix says what to do about f; c is its component, or nil.
func Fix(f *match.Finding, c *inventory.Component) string {
	if v := f.Verdict; v.Suppressed() {
		return "No action is needed: " + strings.ReplaceAll(string(v.Status), "_", " ") + ", as " + v.By + " found."
	}
	name := Name(f, c)
	switch f.FixState {
	case match.FixStateFixed:
		if f.FixedVersion == "" {
			break
		}
		switch {
		case f.Component.Type == "golang" && f.Component.Name == "stdlib":
			// The standard library is upgraded by rebuilding.
			bin := ""
			if c != nil && c.Metadata[gobinary.MetaBinary] != "" {
				bin = " " + c.Metadata[gobinary.MetaBinary]
			}
			return "Rebuild" + bin + " with Go " + strings.TrimPrefix(f.FixedVersion, "go") + " or later."
		case f.Component.Source != nil && f.Component.Source.Name != "" && f.Component.Source.Name != f.Component.Name:
			return "Upgrade " + name + " (source package " + f.Component.Source.Name + ") to " + f.FixedVersion + " or later."
		}
		return "Upgrade " + name + " to " + f.FixedVersion + " or later."
	case match.FixStateNotFixed:
		return "No fix is available yet; watch the advisories, and remove " + name + " or mitigate the vulnerability meanwhile."
	}
	return "A later version of " + name + " is not affected, but the data does not say which; see the advisories."
}

// OSVURL is the page of an OSV record.
func OSVURL(id string) string {
	return "https://osv.dev/vulnerability/" + id
}

// Detail is why a verdict holds, for a person: its impact statement and one
// line per piece of evidence.
func Detail(v *vex.Verdict) string {
	var b strings.Builder
	b.WriteString(v.Impact)
	for _, e := range v.Evidence {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(Evidence(e))
	}
	return b.String()
}

// Evidence is one piece of evidence on one line: "changelog
// /usr/share/doc/libc6/changelog.Debian.gz: ...".
func Evidence(e vex.Evidence) string {
	s := e.Kind
	if e.Location != "" {
		s += " " + e.Location
	}
	return s + ": " + e.Detail
}
