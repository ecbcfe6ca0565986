package table

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/advice"
	"github.com/vigilsec/vigil/report/internal/document"
)

// summaryWidth is how many characters of a summary or verdict a row shows:
// enough to recognise it, short enough to keep rows on one line.
const summaryWidth = 60

// severities is the order the totals line counts them in.
var severities = []match.Severity{
	match.SeverityCritical, match.SeverityHigh, match.SeverityMedium,
	match.SeverityLow, match.SeverityNegligible, match.SeverityUnknown,
}

// group is the findings of one component.
type group struct {
	title    string
	findings []*match.Finding
	worst    int
}

// writeVulnerabilities writes the findings grouped by component, the most
// severe group first, and a totals line. Suppressed findings are counted;
// they are listed, with their verdict and its evidence, only when
// showSuppressed is set.
func writeVulnerabilities(w io.Writer, doc *document.Document, showSuppressed bool) {
	counts := map[match.Severity]int{}
	suppressed := doc.Suppressed()
	var groups []*group
	byRef := map[string]*group{}
	comps := advice.Components(doc.Inventory)
	baseKnown := slices.ContainsFunc(doc.Inventory.Layers, func(l layers.Info) bool { return l.Base })
	for i := range doc.Findings {
		f := &doc.Findings[i]
		switch {
		case !f.Verdict.Suppressed():
			counts[f.Severity]++
		case !showSuppressed:
			continue
		}
		key := cmp.Or(f.Component.Ref, f.Component.Type+"\x00"+f.Component.Name+"\x00"+f.Component.Version)
		g := byRef[key]
		if g == nil {
			g = &group{title: groupTitle(comps[f.Component.Ref], f, baseKnown)}
			byRef[key] = g
			groups = append(groups, g)
		}
		g.findings = append(g.findings, f)
		if !f.Verdict.Suppressed() {
			g.worst = max(g.worst, f.Severity.Rank())
		}
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(b.worst-a.worst, strings.Compare(a.title, b.title))
	})

	fmt.Fprintf(w, "\nVulnerabilities:\n")
	if len(groups) > 0 {
		// Every row goes through one tabwriter so that columns align across
		// groups; the group titles, which must not widen the first column,
		// are put between the aligned lines afterwards.
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "    ID\tSEVERITY\tFIX\tKEV\tSUMMARY")
		titles := map[int]string{} // line index → title to print before it
		line := 1
		for _, g := range groups {
			titles[line] = g.title
			slices.SortStableFunc(g.findings, func(a, b *match.Finding) int {
				return cmp.Or(b.Severity.Rank()-a.Severity.Rank(), strings.Compare(a.ID, b.ID))
			})
			for _, f := range g.findings {
				line += findingRows(tw, f)
			}
		}
		tw.Flush()
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		for i, l := range lines {
			if t, ok := titles[i]; ok {
				fmt.Fprintf(w, "  %s\n", t)
			}
			fmt.Fprintf(w, "%s\n", l)
		}
	}
	total := 0
	parts := make([]string, 0, len(severities))
	for _, s := range severities {
		total += counts[s]
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	fmt.Fprintf(w, "Total: %d (%s)", total, strings.Join(parts, ", "))
	switch {
	case suppressed > 0 && !showSuppressed:
		fmt.Fprintf(w, "; %d suppressed (use --show-suppressed)", suppressed)
	case suppressed > 0:
		fmt.Fprintf(w, "; %d suppressed, shown above", suppressed)
	}
	fmt.Fprintln(w)
}

// findingRows writes f's row, and for a suppressed finding one row per piece
// of evidence below it. It returns the number of rows written.
func findingRows(w io.Writer, f *match.Finding) int {
	kev := ""
	if f.KEV != nil {
		kev = "KEV"
	}
	text := f.Summary
	if v := f.Verdict; v.Suppressed() {
		text = "suppressed (" + string(v.Status) + ", " + v.By + "): " + v.Impact
	}
	fmt.Fprintf(w, "    %s\t%s\t%s\t%s\t%s\n", clean(f.ID), clean(string(f.Severity)), clean(fix(f)), kev, truncate(clean(text), summaryWidth))
	n := 1
	if f.Verdict.Suppressed() {
		for _, e := range f.Verdict.Evidence {
			fmt.Fprintf(w, "    \t\t\t\t  %s\n", truncate(clean(advice.Evidence(e)), 3*summaryWidth))
			n++
		}
	}
	return n
}

// groupTitle names a finding's component as the inventory does, with the
// layer that brought it and whether that layer is the base image's. When the
// image's history shows no base image at all (baseKnown false), a layer is
// not called "application": that would be a guess.
func groupTitle(ic *inventory.Component, f *match.Finding, baseKnown bool) string {
	c := f.Component
	t := clean(advice.Name(f, ic)) + "@" + clean(c.Version) + " (" + clean(c.Type)
	if l := f.Layer; l != nil {
		t += ", layer " + layerName(l)
		switch {
		case l.Base:
			t += ", base image"
		case baseKnown:
			t += ", application"
		}
	}
	return t + ")"
}

func fix(f *match.Finding) string {
	switch f.FixState {
	case match.FixStateFixed:
		return cmp.Or(f.FixedVersion, "fixed")
	case match.FixStateNotFixed:
		return "not fixed"
	}
	return "unknown"
}

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var issueRank = map[hygiene.Severity]int{hygiene.Critical: 5, hygiene.High: 4, hygiene.Medium: 3, hygiene.Low: 2, hygiene.Info: 1}

// writeIssues lists the hygiene issues, the most severe first.
func writeIssues(w io.Writer, issues []hygiene.Issue) {
	idx := make([]int, len(issues))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return issueRank[issues[b].Severity] - issueRank[issues[a].Severity]
	})
	fmt.Fprintf(w, "\nHygiene:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  RULE\tSEVERITY\tLOCATION\tTITLE")
	for _, i := range idx {
		is := &issues[i]
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", clean(is.Rule), clean(string(is.Severity)), clean(location(is)), truncate(clean(is.Title), summaryWidth))
	}
	tw.Flush()
}

// location is where an issue is, with the layers that matter: a deleted
// file still ships in the layer that added it.
func location(is *hygiene.Issue) string {
	loc := cmp.Or(is.Path, is.Field, "-")
	switch {
	case is.DeletedIn != nil && is.Layer != nil:
		loc += " (added in layer #" + strconv.Itoa(is.Layer.Index) + ", deleted in #" + strconv.Itoa(is.DeletedIn.Index) + ")"
	case is.Layer != nil:
		loc += " (layer #" + strconv.Itoa(is.Layer.Index) + ")"
	}
	return loc
}

// layerName is a layer as the table shows it: "#1 f3c9a0d4b8e2".
func layerName(l *layers.Info) string {
	s := "#" + strconv.Itoa(l.Index)
	if hex := l.DiffID[strings.IndexByte(l.DiffID, ':')+1:]; hex != "" {
		s += " " + hex[:min(len(hex), shortDiffID)]
	}
	return s
}
