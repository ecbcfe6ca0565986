// Package table renders a report for people: a short header about the image
// and one aligned row per component.
package table

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/report/internal/document"
)

// Writer renders the table format. It never colours its output.
type Writer struct{}

// Write renders doc to w.
func (Writer) Write(w io.Writer, doc *document.Document) error {
	if err := doc.Validate(); err != nil {
		return err
	}
	inv := doc.Inventory
	ew := &errWriter{w: w}
	// Every value below comes from the image, so each goes through clean:
	// a package name must not be able to move the cursor or recolour the
	// user's terminal.
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Image:\t%s\n", clean(imageLine(inv)))
	distro := "unknown"
	if d := inv.Distro; d != nil {
		distro = cmp.Or(d.PrettyName, strings.TrimSpace(d.ID+" "+d.VersionID))
	}
	fmt.Fprintf(tw, "Distro:\t%s\n", clean(distro))
	fmt.Fprintf(tw, "Layers:\t%d\n", len(inv.Layers))
	fmt.Fprintf(tw, "Components:\t%d\n", len(inv.Components))
	tw.Flush()
	if len(inv.Components) > 0 {
		fmt.Fprintln(ew)
		fmt.Fprintln(tw, "NAME\tVERSION\tTYPE\tLAYER")
		for _, i := range order(inv.Components) {
			c := &inv.Components[i]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clean(document.FullName(c)), clean(c.Version), clean(c.Type), clean(layer(c)))
		}
		tw.Flush()
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

// shortDiffID is as many hex digits of a layer's diffID as docker prints
// of an image id.
const shortDiffID = 12

func layer(c *inventory.Component) string {
	l := c.Layer
	if l == nil {
		return "-"
	}
	s := "#" + strconv.Itoa(l.Index)
	if hex := l.DiffID[strings.IndexByte(l.DiffID, ':')+1:]; hex != "" {
		s += " " + hex[:min(len(hex), shortDiffID)]
	}
	return s
}

// clean escapes what a terminal would interpret (control characters, bidi
// overrides, invalid UTF-8) and the tab that would break the alignment.
// strconv.Quote would do the same but add quotes around every cell.
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
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}
