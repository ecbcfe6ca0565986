// Package vigiljson renders a report as Vigil's own JSON: the Document as it
// is, with a schema version, for tools that consume Vigil directly.
package vigiljson

import (
	"io"

	"github.com/vigilsec/vigil/report/internal/document"
)

// SchemaVersion is the version of the output's shape. Adding a field is a
// minor change; removing or renaming one is a major one.
const SchemaVersion = "1.1"

// Writer renders Vigil's JSON format.
type Writer struct{}

// Output is the top-level object Write emits; consumers can decode into it.
type Output struct {
	SchemaVersion string `json:"schemaVersion"`
	*document.Document
}

// Write renders doc to w. The order of components is the inventory's (which
// sorts them) and map keys are sorted, so the same document always renders
// to the same bytes.
func (Writer) Write(w io.Writer, doc *document.Document) error {
	if err := doc.Validate(); err != nil {
		return err
	}
	return document.WriteJSON(w, Output{SchemaVersion: SchemaVersion, Document: doc}, "json report")
}
