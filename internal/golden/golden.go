// Package golden compares test results with golden files under testdata.
// Every package's tests take an -update flag that rewrites the files from
// the current results, to be reviewed as a diff.
package golden

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Bytes compares got with the golden file; with update set it first
// rewrites the file (and its directory) from got.
func Bytes(t testing.TB, file string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the current result (rerun with -update after checking):\n%s", file, got)
	}
}

// JSON compares v, as indented JSON, with the golden file, as Bytes does.
// HTML escaping is off so that the '&' in package URLs stays readable in
// the files.
func JSON(t testing.TB, file string, v any, update bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	Bytes(t, file, buf.Bytes(), update)
}
