package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestDBCommands(t *testing.T) {
	data := vulndbtest.Data(t)
	dir := t.TempDir()

	if _, _, code := vigil(t, "db", "status", "--db", dir); code != exitError {
		t.Errorf("status of an empty directory exited %d", code)
	}
	out, _, code := vigil(t, "db", "import", data, "--db", dir)
	if code != exitOK || !strings.Contains(out, "osv/Debian  31332") || !strings.Contains(out, "Debian:12     31332") {
		t.Fatalf("import exited %d:\n%s", code, out)
	}
	// The shared data is old: status says so, and still works.
	out, _, code = vigil(t, "db", "status", "--db", dir)
	if code != exitOK || !strings.Contains(out, "WARNING: data older than 7 days") || !strings.Contains(out, "osv/Debian (") ||
		!strings.Contains(out, "withdrawn record") {
		t.Errorf("status exited %d:\n%s", code, out)
	}
	if out, _, _ = vigil(t, "db", "status", "--db", dir, "--max-age", "100000"); strings.Contains(out, "WARNING: data older") {
		t.Errorf("warning with a large --max-age:\n%s", out)
	}
	if out, _, code = vigil(t, "db", "status", "--db", dir, "--json"); code != exitOK || !strings.Contains(out, `"name": "osv/Go"`) {
		t.Errorf("status --json exited %d:\n%s", code, out)
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(data)))
	defer srv.Close()
	out, _, code = vigil(t, "db", "update", "--db", dir, "--source", srv.URL, "--ecosystem", "Go,PyPI")
	if code != exitOK || !strings.Contains(out, "osv/Go") || strings.Contains(out, "osv/Debian") {
		t.Errorf("update exited %d:\n%s", code, out)
	}
	if _, _, code := vigil(t, "db", "update", "--db", dir, "--source", srv.URL, "--ecosystem", "Nonexistent"); code != exitError {
		t.Errorf("update from a mirror without the ecosystem exited %d", code)
	}
	if out, _, _ = vigil(t, "db", "status", "--db", dir); !strings.Contains(out, "osv/PyPI") || strings.Contains(out, "osv/Debian") {
		t.Errorf("a failed update changed the database:\n%s", out)
	}
}
