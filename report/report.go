// Package report renders what a scan found, in the format the user asked
// for. It is the last stage of the pipeline: every format is a Writer in its
// own sub-package (table, vigiljson, cyclonedx, spdx, sarif, openvex), and
// New picks one by name.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/report/cyclonedx"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/openvex"
	"github.com/vigilsec/vigil/report/sarif"
	"github.com/vigilsec/vigil/report/spdx"
	"github.com/vigilsec/vigil/report/table"
	"github.com/vigilsec/vigil/report/vigiljson"
)

// Document is everything a report can show.
type Document = document.Document

// ToolInfo names the program that made the report.
type ToolInfo = document.ToolInfo

// Baseline says what --baseline left out.
type Baseline = document.Baseline

// DatabaseInfo and DatabaseSource say which vulnerability data a report
// rests on.
type (
	DatabaseInfo   = document.DatabaseInfo
	DatabaseSource = document.DatabaseSource
)

// Writer renders a Document in one format.
type Writer interface {
	Write(w io.Writer, doc *Document) error
}

// Options are the choices a user makes about how a report looks. Which
// findings it holds is the command's choice, made before rendering.
type Options struct {
	// ShowSuppressed lists suppressed findings, with their verdicts, in
	// the table. Machine-readable formats always carry them.
	ShowSuppressed bool
	// Layers tells, in the table, each finding's story across the image's
	// layers: which layer brought its package, which replaced it.
	Layers bool
}

// writers maps each format name to the constructor of its Writer. The
// format packages are listed here rather than registering themselves so
// that New and Formats know every format without blank imports.
var writers = map[string]func(Options) Writer{
	"table":          func(o Options) Writer { return table.Writer{ShowSuppressed: o.ShowSuppressed, Layers: o.Layers} },
	"json":           func(Options) Writer { return vigiljson.Writer{} },
	"cyclonedx-json": func(Options) Writer { return cyclonedx.Writer{} },
	"spdx-json":      func(Options) Writer { return spdx.Writer{} },
	"sarif":          func(Options) Writer { return sarif.Writer{} },
	"openvex":        func(Options) Writer { return openvex.Writer{} },
}

// New returns the Writer for format.
func New(format string, opts Options) (Writer, error) {
	w, ok := writers[format]
	if !ok {
		return nil, fmt.Errorf("unknown report format %q (known: %s)", format, strings.Join(Formats(), ", "))
	}
	return w(opts), nil
}

// Formats lists the format names New accepts, sorted.
func Formats() []string {
	names := make([]string, 0, len(writers))
	for name := range writers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
