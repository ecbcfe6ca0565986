// Package golden compares test results with golden files under testdata,
// for the catalogers' tests.
package golden

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// JSON compares v, as indented JSON, with the golden file; with update set
// it first rewrites the file from v. HTML escaping is off so that the '&'
// in package URLs stays readable in the files.
func JSON(t testing.TB, file string, v any, update bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	if update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the current result (rerun with -update after checking):\n%s", file, got)
	}
}
