package vigiljson

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/vigilsec/vigil/internal/golden"
	"reflect"
	"testing"

	"github.com/vigilsec/vigil/report/internal/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, reporttest.Document()); err != nil {
		t.Fatal(err)
	}
	golden.Bytes(t, "testdata/fixture.golden.json", buf.Bytes(), *update)
}

// TestDocumentAsIs checks that the output is the document's own JSON with
// schemaVersion added, and nothing else.
func TestDocumentAsIs(t *testing.T) {
	doc := reporttest.Document()
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["schemaVersion"] != SchemaVersion {
		t.Errorf("schemaVersion = %v, want %s", got["schemaVersion"], SchemaVersion)
	}
	delete(got, "schemaVersion")

	plain, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(plain, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("output is not the document as is:\n got %v\nwant %v", got, want)
	}
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := (Writer{}).Write(&a, reporttest.Document()); err != nil {
		t.Fatal(err)
	}
	if err := (Writer{}).Write(&b, reporttest.Document()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same document differ")
	}
}

func TestDecodesIntoOutput(t *testing.T) {
	doc := reporttest.Document()
	// layers.Op has no UnmarshalText, so a history does not decode; the
	// rest of the document must.
	for i := range doc.Inventory.Components {
		doc.Inventory.Components[i].History = nil
	}
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	var out Output
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.SchemaVersion != SchemaVersion || !reflect.DeepEqual(out.Document, doc) {
		t.Errorf("decoded %+v, want %+v", out.Document, doc)
	}
}
