package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/match"
)

var (
	dbOnce sync.Once
	dbDirT string
	dbErr  string
)

// testDB imports ../shared/vulndata once per test binary with "vigil db
// import", the way a user builds the database offline.
func testDB(t *testing.T) string {
	t.Helper()
	shared, _ := filepath.Abs("../../../shared/vulndata")
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared vulnerability data missing at %s", shared)
		}
		t.Skipf("shared vulnerability data missing at %s", shared)
	}
	dbOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-scan-test-db-")
		if err != nil {
			dbErr = err.Error()
			return
		}
		if _, stderr, code := vigil(t, "db", "import", "--db", dir, shared); code != 0 {
			dbErr = stderr
		}
		dbDirT = dir
	})
	if dbErr != "" {
		t.Fatalf("vigil db import: %s", dbErr)
	}
	return dbDirT
}

type scanOutput struct {
	Findings []match.Finding `json:"findings"`
}

func scanJSON(t *testing.T, args ...string) (scanOutput, int) {
	t.Helper()
	stdout, stderr, code := vigil(t, append([]string{"scan", "-q", "-o", "json"}, args...)...)
	if code == exitError {
		t.Fatalf("vigil scan %v: exit 2: %s", args, stderr)
	}
	var out scanOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("decode scan json: %v", err)
	}
	return out, code
}

// TestScanDebianGate checks the CI contract on a real Debian image and the
// real shared data: --fail-on exits 1 exactly when a finding that is not
// suppressed reaches the threshold, and --ignore-unfixed drops exactly the
// findings the data says have no fix.
func TestScanDebianGate(t *testing.T) {
	testimage.Require(t, "root", "debootstrap")
	db := testDB(t)
	archive := testimage.WriteDockerArchive(t, testimage.DebianImage(t), "vigil-test/debian:12")
	ref := "docker-archive:" + archive

	all, code := scanJSON(t, "--db", db, ref)
	if code != exitOK {
		t.Fatalf("scan without --fail-on exited %d", code)
	}
	if len(all.Findings) == 0 {
		t.Fatal("no findings on a Debian 12 image with the 2025 Debian data: matching is broken")
	}
	for _, f := range all.Findings {
		if f.Component.Type != "deb" || f.Component.Source == nil {
			t.Errorf("%s on %s: want a deb component with its source package", f.ID, f.Component.Name)
		}
		if f.Severity == "" || (f.Severity == match.SeverityUnknown) != (len(f.CVSS) == 0) {
			t.Errorf("%s: severity %q with %d CVSS vectors: unknown must mean exactly no vector", f.ID, f.Severity, len(f.CVSS))
		}
		if f.Layer == nil || f.Layer.Index != 0 {
			t.Errorf("%s: layer %+v, want the base layer 0", f.ID, f.Layer)
		}
	}

	for _, sev := range severities {
		want := exitOK
		if countAtOrAbove(all.Findings, sev) > 0 {
			want = exitPolicy
		}
		if _, code := scanJSON(t, "--db", db, "--fail-on", string(sev), ref); code != want {
			t.Errorf("--fail-on %s: exit %d, want %d", sev, code, want)
		}
	}

	fixed, _ := scanJSON(t, "--db", db, "--ignore-unfixed", ref)
	want := 0
	for _, f := range all.Findings {
		if f.FixState != match.FixStateNotFixed {
			want++
		}
	}
	if len(fixed.Findings) != want {
		t.Errorf("--ignore-unfixed kept %d findings, want %d", len(fixed.Findings), want)
	}
	for _, f := range fixed.Findings {
		if f.FixState == match.FixStateNotFixed {
			t.Errorf("--ignore-unfixed kept %s on %s, which has no fix", f.ID, f.Component.Name)
		}
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no database", []string{"scan", "--db", t.TempDir(), "dir:" + t.TempDir()}},
		{"bad fail-on", []string{"scan", "--fail-on", "severe", "dir:/nonexistent"}},
		{"bad format", []string{"scan", "-o", "xml", "dir:/nonexistent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := vigil(t, tc.args...)
			if code != exitError || stderr == "" {
				t.Errorf("exit %d, stderr %q: want exit 2 with a message", code, stderr)
			}
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dbDirT != "" {
		os.RemoveAll(dbDirT)
	}
	os.Exit(code)
}

// TestScanPolicy: the CI gate on a real image. debootstrap's root has no
// USER, so non-root must deny with its reason; a warn rule never fails the run.
func TestScanPolicy(t *testing.T) {
	testimage.Require(t, "root", "debootstrap")
	db := testDB(t)
	archive := testimage.WriteDockerArchive(t, testimage.DebianImage(t), "vigil-test/debian:12")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deny := write("deny.yaml", "name: ci\nrules:\n  - use: non-root\n  - use: digest-pinning\n    action: warn\n")
	warnOnly := write("warn.yaml", "name: ci\nrules:\n  - use: non-root\n    action: warn\n")
	bad := write("bad.yaml", "name: ci\nrules:\n  - name: typo\n    action: deny\n    expression: input.imge.pinned\n")
	for _, tc := range []struct {
		name   string
		policy string
		code   int
		stderr string
	}{
		{"deny rule fails", deny, exitPolicy, "DENY  non-root"},
		{"warn rule only warns", warnOnly, exitOK, "WARN  non-root"},
		{"policy that does not compile", bad, exitError, "bad.yaml:5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := vigil(t, "scan", "-q", "-o", "json", "--db", db, "--scanners", "vuln", "--policy", tc.policy, "docker-archive:"+archive)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}
