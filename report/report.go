// Package report renders what a scan found, in the format the user asked
// for. It is the last stage of the pipeline: every format is a Writer in its
// own sub-package (table, vigiljson, cyclonedx, spdx), and New picks one by
// name.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/report/cyclonedx"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/spdx"
	"github.com/vigilsec/vigil/report/table"
	"github.com/vigilsec/vigil/report/vigiljson"
)

// Document is everything a report can show.
type Document = document.Document

// ToolInfo names the program that made the report.
type ToolInfo = document.ToolInfo

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

// writers maps each format name to its Writer. The format packages are
// listed here rather than registering themselves so that New and Formats
// know every format without blank imports.
var writers = map[string]Writer{
	"table":          table.Writer{},
	"json":           vigiljson.Writer{},
	"cyclonedx-json": cyclonedx.Writer{},
	"spdx-json":      spdx.Writer{},
}

// New returns the Writer for format.
func New(format string) (Writer, error) {
	w, ok := writers[format]
	if !ok {
		return nil, fmt.Errorf("unknown report format %q (known: %s)", format, strings.Join(Formats(), ", "))
	}
	return w, nil
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
