package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// TestDecisionGolden pins each rule's message over the recorded inputs:
// the messages are what a user reads when a deploy is refused.
func TestDecisionGolden(t *testing.T) {
	p, err := Load("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := filepath.Glob("testdata/inputs/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, path := range inputs {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			in, err := ReadInput(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(p.Evaluate(t.Context(), in), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name+".decision.json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decision differs from %s (run with -update after checking):\n%s", golden, got)
			}
		})
	}
}
