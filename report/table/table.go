// Package table renders a report for people: a short header about the image,
// one aligned row per component, the vulnerabilities grouped by component and
// the hygiene issues.
package table

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/triage/deploy"
	"github.com/vigilsec/vigil/workload"
)

// Writer renders the table format. It never colours its output.
type Writer struct {
	// ShowSuppressed lists the findings a verdict suppressed, with the
	// verdict and its evidence; otherwise the table only counts them.
	ShowSuppressed bool
	// Layers tells each group's story across the image's layers.
	Layers bool
}

// Write renders doc to w.
func (tw Writer) Write(w io.Writer, doc *document.Document) error {
	if err := doc.Validate(); err != nil {
		return err
	}
	inv := doc.Inventory
	ew := &errWriter{w: w}
	// Every value below comes from the image, so each goes through clean:
	// a package name must not be able to move the cursor or recolour the
	// user's terminal.
	hw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(hw, "Image:\t%s\n", clean(imageLine(inv)))
	distro := "unknown"
	if d := inv.Distro; d != nil {
		distro = cmp.Or(d.PrettyName, strings.TrimSpace(d.ID+" "+d.VersionID))
	}
	fmt.Fprintf(hw, "Distro:\t%s\n", clean(distro))
	fmt.Fprintf(hw, "Layers:\t%d\n", len(inv.Layers))
	fmt.Fprintf(hw, "Components:\t%d\n", len(inv.Components))
	if db := doc.Database; db != nil {
		fmt.Fprintf(hw, "Vulnerability data:\t%s\n", clean(database(db)))
	}
	if b := doc.Baseline; b != nil {
		fmt.Fprintf(hw, "Baseline:\t%s\n", clean(fmt.Sprintf("%s (%d findings it already has are not shown)", b.Path, b.Known)))
	}
	if c := doc.Context; c != nil {
		for i, e := range c.Workloads {
			label := ""
			if i == 0 {
				label = "Deployment:"
			}
			fmt.Fprintf(hw, "%s\t%s\n", label, clean(exposure(e, c.Assumed)))
		}
	}
	hw.Flush()
	if len(inv.Components) > 0 {
		fmt.Fprintln(ew)
		fmt.Fprintln(hw, "NAME\tVERSION\tTYPE\tLAYER")
		for _, i := range order(inv.Components) {
			c := &inv.Components[i]
			fmt.Fprintf(hw, "%s\t%s\t%s\t%s\n", clean(document.FullName(c)), clean(c.Version), clean(c.Type), clean(layer(c)))
		}
		hw.Flush()
	}
	// A document without match results has no vulnerability section: an
	// empty one would claim the image was checked.
	if len(doc.Findings) > 0 || doc.MatchStats != nil {
		writeVulnerabilities(ew, doc, tw.ShowSuppressed, tw.Layers)
	}
	if len(doc.Issues) > 0 {
		writeIssues(ew, doc.Issues)
	}
	if len(inv.Warnings) > 0 {
		fmt.Fprintf(ew, "\nWarnings:\n")
		for _, warn := range inv.Warnings {
			fmt.Fprintf(ew, "  %s\n", clean(warn))
		}
	}
	if ew.err != nil {
		return fmt.Errorf("write table: %w", ew.err)
	}
	return nil
}

// errWriter keeps the first write error so that the many small writes of a
// table need one check at the end; later writes are dropped.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// database says which data the findings come from and how old it is.
func database(db *document.DatabaseInfo) string {
	var parts []string
	if !db.Built.IsZero() {
		parts = append(parts, "built "+db.Built.UTC().Format(time.DateOnly))
	}
	for _, s := range db.Sources {
		p := s.Name
		if !s.Snapshot.IsZero() {
			p += " " + s.Snapshot.UTC().Format(time.DateOnly)
		}
		parts = append(parts, p)
	}
	return cmp.Or(strings.Join(parts, ", "), "unknown")
}

func imageLine(inv *inventory.Inventory) string {
	src := inv.Source
	s := cmp.Or(src.Name, src.Ref, "unknown")
	if src.Digest != "" {
		s += " (" + src.Digest + ")"
	}
	return s
}

// order sorts component indexes by type, name and version, keeping the
// inventory's order among equals.
func order(comps []inventory.Component) []int {
	idx := make([]int, len(comps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ca, cb := &comps[a], &comps[b]
		return cmp.Or(
			strings.Compare(ca.Type, cb.Type),
			strings.Compare(document.FullName(ca), document.FullName(cb)),
			strings.Compare(ca.Version, cb.Version),
		)
	})
	return idx
}

// exposure is one deployment on one line: where it comes from, its
// network, ports and hardening.
func exposure(e deploy.Exposure, assumed bool) string {
	s := e.Source
	if assumed {
		s += " (assumed: no --context given)"
	}
	switch e.Network {
	case workload.NetworkNone:
		s += ": no network"
	case workload.NetworkHost:
		s += ": host network"
	default:
		s += ": network"
	}
	if len(e.Ports) > 0 {
		s += ", ports " + strings.Join(e.Ports, " ")
	}
	if len(e.Hardening) > 0 {
		s += "; " + strings.Join(e.Hardening, ", ")
	}
	return s
}

// shortDiffID is as many hex digits of a layer's diffID as docker prints
// of an image id.
const shortDiffID = 12

func layer(c *inventory.Component) string {
	if c.Layer == nil {
		return "-"
	}
	return layerName(c.Layer)
}

// clean escapes what a terminal would interpret (control characters, bidi
// overrides, invalid UTF-8), the tab that would break the alignment, and
// spaces other than ' ', which could forge it. strconv.QuoteToGraphic would
// do most of this, but keeps those spaces and adds quotes around every cell.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r != utf8.RuneError && unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}
