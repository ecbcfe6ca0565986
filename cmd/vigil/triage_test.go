package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/vex"
)

// TestScanTriage runs the triage flags as a user would, on the real Debian
// image and the real data: --no-triage reports raw matches, --context with
// a Compose file that gives the container no network suppresses the
// network-only findings with the file as evidence, --baseline of the same
// scan leaves nothing new, and --layers tells the layer story in the table.
func TestScanTriage(t *testing.T) {
	testimage.Require(t, "root", "debootstrap")
	db := testDB(t)
	ref := "docker-archive:" + testimage.WriteDockerArchive(t, testimage.DebianImage(t), "vigil-test/debian:12")
	dir := t.TempDir()

	raw, _ := scanJSON(t, "--db", db, "--scanners", "vuln", "--no-triage", ref)
	for _, f := range raw.Findings {
		if f.Verdict != nil || f.Priority != nil {
			t.Fatalf("--no-triage: %s has verdict %+v, priority %+v", f.ID, f.Verdict, f.Priority)
		}
	}

	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("services:\n  job:\n    image: vigil-test/debian:12\n    network_mode: none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	offline, _ := scanJSON(t, "--db", db, "--scanners", "vuln", "--context", compose, ref)
	if len(offline.Findings) < len(raw.Findings) {
		t.Fatalf("triage dropped findings: %d raw, %d triaged", len(raw.Findings), len(offline.Findings))
	}
	byDeploy := 0
	for _, f := range offline.Findings {
		if f.Priority == nil {
			t.Errorf("%s %s has no priority", f.Component.Name, f.ID)
		}
		if v := f.Verdict; v != nil && v.By == "triage/deploy" {
			byDeploy++
			if v.Justification != vex.VulnerableCodeCannotBeControlledByAdversary || !strings.Contains(v.Evidence[1].Location, "compose.yaml#services.job") {
				t.Errorf("%s: deploy verdict %+v", f.ID, v)
			}
		}
	}
	if byDeploy == 0 {
		t.Error("no finding suppressed for a container without a network")
	}

	// The same scan as its own baseline: nothing is new.
	base := filepath.Join(dir, "base.json")
	if _, stderr, code := vigil(t, "scan", "-q", "-o", "json", "--file", base, "--db", db, "--scanners", "vuln", ref); code == exitError {
		t.Fatal(stderr)
	}
	stdout, stderr, code := vigil(t, "scan", "-q", "-o", "json", "--db", db, "--scanners", "vuln", "--baseline", base, ref)
	if code == exitError {
		t.Fatal(stderr)
	}
	var again struct {
		Findings []json.RawMessage   `json:"findings"`
		Baseline struct{ Known int } `json:"baseline"`
	}
	if err := json.Unmarshal([]byte(stdout), &again); err != nil {
		t.Fatal(err)
	}
	if len(again.Findings) != 0 || again.Baseline.Known != len(offline.Findings) {
		t.Errorf("against its own baseline: %d findings shown, %d known; want 0 and %d", len(again.Findings), again.Baseline.Known, len(offline.Findings))
	}
	if _, stderr, code := vigil(t, "scan", "-q", "--db", db, "--baseline", compose, ref); code != exitError || !strings.Contains(stderr, "not a Vigil JSON report") {
		t.Errorf("a Compose file as baseline: exit %d, %q", code, stderr)
	}

	// A VEX statement the user writes decides its finding, even with
	// --no-triage; a broken document is an error naming the file.
	target := raw.Findings[0]
	doc := `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "Security <security@example.com>",
 "timestamp": "2026-01-01T00:00:00Z", "version": 1,
 "statements": [{"vulnerability": {"name": "` + target.ID + `"}, "products": [{"@id": "` + target.Component.PURL + `"}],
   "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path", "impact_statement": "we never call it"}]}`
	vexFile := filepath.Join(dir, "ours.openvex.json")
	if err := os.WriteFile(vexFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	withVEX, _ := scanJSON(t, "--db", db, "--scanners", "vuln", "--no-triage", "--vex", vexFile, ref)
	decided := 0
	for _, f := range withVEX.Findings {
		v := f.Verdict
		switch {
		case f.ID == target.ID && f.Component.PURL == target.Component.PURL:
			if v == nil || v.Status != vex.NotAffected || v.By != "vex:"+vexFile || v.Justification != vex.VulnerableCodeNotInExecutePath {
				t.Errorf("%s: verdict %+v, want the VEX statement's", f.ID, v)
			}
			decided++
		case v != nil:
			t.Errorf("%s %s: verdict %+v from a statement about %s %s", f.ID, f.Component.PURL, v, target.ID, target.Component.PURL)
		}
	}
	if decided == 0 {
		t.Errorf("no finding %s on %s after --vex", target.ID, target.Component.PURL)
	}
	if err := os.WriteFile(vexFile, []byte(`{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := vigil(t, "scan", "-q", "--db", db, "--vex", vexFile, ref); code != exitError || !strings.Contains(stderr, vexFile) {
		t.Errorf("a broken VEX document: exit %d, %q", code, stderr)
	}

	table, stderr, code := vigil(t, "scan", "-q", "-o", "table", "--db", db, "--scanners", "vuln", "--layers", ref)
	if code == exitError {
		t.Fatal(stderr)
	}
	if !strings.Contains(table, ": added ") || !strings.Contains(table, "in layer 0") {
		t.Errorf("--layers table tells no layer story:\n%s", table)
	}
}
