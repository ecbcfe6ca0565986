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
	"github.com/vigilsec/vigil/triage/supersede"
)

// summaryWidth is how many characters of a summary or verdict a row shows:
// enough to recognise it, short enough to keep rows on one line.
const summaryWidth = 60

// severities is the order the totals line counts them in.
var severities = []match.Severity{
	match.SeverityCritical, match.SeverityHigh, match.SeverityMedium,
	match.SeverityLow, match.SeverityNegligible, match.SeverityUnknown,
}

// group is the findings of one root cause: one package the fix goes into,
// whichever of its binary packages the image holds.
type group struct {
	title string
	// comps are the group's components, for their layer stories.
	comps []*inventory.Component
	// findings holds one finding per (id, status): the binary packages of
	// one source share every finding, and repeating it per binary would
	// bury the rest.
	findings []*match.Finding
	seen     map[string]bool
	worst    int
	score    int
}

// writeVulnerabilities writes the findings grouped by root cause, the most
// urgent group first, and a totals line. Suppressed findings are counted;
// they are listed, with their verdict and its evidence, only when
// showSuppressed is set. With stories set, each group says which layers
// brought and replaced its packages.
func writeVulnerabilities(w io.Writer, doc *document.Document, showSuppressed, stories bool) {
	counts := map[match.Severity]int{}
	suppressed, findings := 0, 0
	var groups []*group
	byKey := map[string]*group{}
	comps := advice.Components(doc.Inventory)
	baseKnown := slices.ContainsFunc(doc.Inventory.Layers, func(l layers.Info) bool { return l.Base })
	for i := range doc.Findings {
		f := &doc.Findings[i]
		key := cmp.Or(f.RootCause, f.Component.Type+"/"+f.Component.Name+"@"+f.Component.Version)
		if f.Verdict.Suppressed() {
			key += "\x00suppressed"
		}
		g := byKey[key]
		if g == nil {
			g = &group{seen: map[string]bool{}}
			byKey[key] = g
			groups = append(groups, g)
		}
		if c := comps[f.Component.Ref]; c != nil && !slices.Contains(g.comps, c) {
			g.comps = append(g.comps, c)
		}
		id := f.ID + "\x00" + status(f)
		if g.seen[id] {
			continue
		}
		g.seen[id] = true
		if f.Verdict.Suppressed() {
			suppressed++
			if !showSuppressed {
				continue
			}
		} else {
			findings++
			counts[f.Severity]++
			g.worst = max(g.worst, f.Severity.Rank())
			if f.Priority != nil {
				g.score = max(g.score, f.Priority.Score)
			}
		}
		g.findings = append(g.findings, f)
	}
	groups = slices.DeleteFunc(groups, func(g *group) bool { return len(g.findings) == 0 })
	for _, g := range groups {
		g.title = groupTitle(g, baseKnown)
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		return cmp.Or(b.score-a.score, b.worst-a.worst, strings.Compare(a.title, b.title))
	})

	fmt.Fprintf(w, "\nVulnerabilities:\n")
	if len(groups) > 0 {
		// Every row goes through one tabwriter so that columns align across
		// groups; the group titles, which must not widen the first column,
		// are put between the aligned lines afterwards.
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "    ID\tSEVERITY\tFIX\tPRIORITY\tSUMMARY")
		titles := map[int][]string{} // line index → lines to print before it
		line := 1
		for _, g := range groups {
			titles[line] = append(titles[line], g.title)
			if stories {
				for _, c := range g.comps {
					titles[line] = append(titles[line], "  "+clean(document.FullName(c)+" "+c.Version+": "+supersede.Story(c, doc.Inventory.Layers)))
				}
			}
			slices.SortStableFunc(g.findings, func(a, b *match.Finding) int {
				return cmp.Or(score(b)-score(a), b.Severity.Rank()-a.Severity.Rank(), strings.Compare(a.ID, b.ID))
			})
			for _, f := range g.findings {
				line += findingRows(tw, f)
			}
		}
		tw.Flush()
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		for i, l := range lines {
			for _, t := range titles[i] {
				fmt.Fprintf(w, "  %s\n", t)
			}
			fmt.Fprintf(w, "%s\n", l)
		}
	}
	parts := make([]string, 0, len(severities))
	for _, s := range severities {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	fmt.Fprintf(w, "Total: %d (%s)", findings, strings.Join(parts, ", "))
	switch {
	case suppressed > 0 && !showSuppressed:
		fmt.Fprintf(w, "; %d suppressed (use --show-suppressed)", suppressed)
	case suppressed > 0:
		fmt.Fprintf(w, "; %d suppressed, shown above", suppressed)
	}
	fmt.Fprintln(w)
	if n := len(doc.Findings); n != findings+suppressed {
		fmt.Fprintf(w, "(%d findings in all: one root cause counts once, such as the binary packages of one source package)\n", n)
	}
}

// status tells a finding's verdict apart from another's, for folding the
// same finding of several binary packages into one row.
func status(f *match.Finding) string {
	if f.Verdict == nil {
		return ""
	}
	return string(f.Verdict.Status) + "/" + string(f.Verdict.Justification)
}

func score(f *match.Finding) int {
	if f.Priority == nil {
		return 0
	}
	return f.Priority.Score
}

// findingRows writes f's row, and for a suppressed finding one row per piece
// of evidence below it. It returns the number of rows written.
func findingRows(w io.Writer, f *match.Finding) int {
	text := f.Summary
	if v := f.Verdict; v.Suppressed() {
		text = "suppressed (" + string(v.Status) + ", " + v.By + "): " + v.Impact
	}
	fmt.Fprintf(w, "    %s\t%s\t%s\t%s\t%s\n", clean(f.ID), clean(string(f.Severity)), clean(fix(f)), clean(priority(f)), truncate(clean(text), summaryWidth))
	n := 1
	if f.Verdict.Suppressed() {
		for _, e := range f.Verdict.Evidence {
			fmt.Fprintf(w, "    \t\t\t\t  %s\n", truncate(clean(advice.Evidence(e)), 3*summaryWidth))
			n++
		}
	}
	return n
}

// priority is the score with what raised it besides severity, which has
// its own column: "70 kev,fix".
func priority(f *match.Finding) string {
	if f.Priority == nil {
		if f.KEV != nil {
			return "kev"
		}
		return "-"
	}
	if f.Verdict.Suppressed() {
		return "-"
	}
	var why []string
	for _, factor := range f.Priority.Factors {
		if !strings.HasPrefix(factor, "severity ") {
			why = append(why, strings.TrimSuffix(factor, " available"))
		}
	}
	return strings.TrimSpace(strconv.Itoa(f.Priority.Score) + " " + strings.Join(why, ","))
}

// groupTitle names a group's package as its ecosystem knows it, with the
// binary packages of a source package, the layer that brought it and
// whether that layer is the base image's. When the image's history shows no
// base image at all (baseKnown false), a layer is not called
// "application": that would be a guess.
func groupTitle(g *group, baseKnown bool) string {
	f := g.findings[0]
	var ic *inventory.Component
	if len(g.comps) > 0 {
		ic = g.comps[0]
	}
	c := f.Component
	t := clean(advice.Name(f, ic)) + "@" + clean(c.Version) + " (" + clean(c.Type)
	if src := c.Source; src != nil && src.Name != "" && (len(g.comps) > 1 || src.Name != c.Name) {
		names := make([]string, 0, len(g.comps))
		for _, gc := range g.comps {
			names = append(names, document.FullName(gc))
		}
		slices.Sort(names)
		t = clean(src.Name) + "@" + clean(f.InstalledVersion) + " (" + clean(c.Type) + " source of " + clean(strings.Join(slices.Compact(names), ", "))
	}
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
