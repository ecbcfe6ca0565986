package policy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/golden"
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
			golden.JSON(t, filepath.Join("testdata", "golden", name+".decision.json"), p.Evaluate(t.Context(), in), *update)
		})
	}
}
