package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSuite(t *testing.T) {
	for _, tc := range []struct {
		suite string
		cases int
	}{
		{"policy_test.yaml", 4},
		{"triage_test.yaml", 1},
	} {
		t.Run(tc.suite, func(t *testing.T) {
			res, err := RunSuite(t.Context(), filepath.Join("testdata", tc.suite))
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != tc.cases {
				t.Fatalf("ran %d cases, want %d", len(res), tc.cases)
			}
			for _, r := range res {
				if r.Problem != "" {
					t.Errorf("%s: %s", r.Name, r.Problem)
				}
			}
		})
	}
}

// TestSuiteReportsMismatch checks that the runner fails a case whose
// expectation is wrong, so `vigil policy test` cannot pass vacuously.
func TestSuiteReportsMismatch(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "testdata/policy.yaml", filepath.Join(dir, "policy.yaml"))
	copyFile(t, "testdata/inputs/ci-image.json", filepath.Join(dir, "ci.json"))
	suite := "policy: policy.yaml\ncases:\n  - name: wrong\n    input: ci.json\n    denied: [digest-pinning]\n"
	if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := RunSuite(t.Context(), filepath.Join(dir, "t.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !strings.Contains(res[0].Problem, "required-signer") {
		t.Fatalf("want a mismatch naming required-signer, got %+v", res)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		want         []string
	}{
		{"undeclared field", "rules:\n  - name: r\n    action: deny\n    expression: input.image.registy == \"x\"\n",
			[]string{"p.yaml:4:", `rule "r"`, "registy"}},
		{"syntax error on second line of a block", "rules:\n  - name: r\n    action: deny\n    expression: |\n      input.image.pinned &&\n      input.image.tag == )\n      && true\n",
			[]string{"p.yaml:6:", `rule "r"`}},
		{"not a bool", "rules:\n  - name: r\n    action: deny\n    expression: input.image.tag\n",
			[]string{"p.yaml:4", "must be a bool"}},
		{"bad action", "rules:\n  - name: r\n    action: block\n    expression: 'true'\n", []string{"p.yaml:2", `"block"`}},
		{"missing action", "rules:\n  - name: r\n    expression: 'true'\n", []string{"action is required"}},
		{"unknown bundled rule", "rules:\n  - use: no-such-rule\n", []string{"p.yaml:2", "no bundled rule", "non-root"}},
		{"unknown bundled parameter", "rules:\n  - use: image-age\n    params: {maxDayz: 3}\n", []string{`unknown parameter "maxDayz"`}},
		{"unknown key", "rules:\n  - name: r\n    action: deny\n    expresion: 'true'\n", []string{"p.yaml", "expresion"}},
		{"duplicate", "rules:\n  - use: seccomp\n  - use: seccomp\n", []string{"p.yaml:3", "twice"}},
		{"empty", "", []string{"empty policy"}},
		{"no rules", "name: x\n", []string{"no rules"}},
		{"not yaml", "rules: [\n", []string{"p.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.policy))
			if err == nil {
				t.Fatal("compiled")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestEvaluationErrorDenies checks the fail-closed rule: a deny rule that
// cannot be evaluated denies.
func TestEvaluationErrorDenies(t *testing.T) {
	p, err := Parse("p.yaml", []byte("rules:\n  - name: label\n    action: deny\n    expression: input.image.config.labels[\"owner\"] == \"me\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Evaluate(t.Context(), &Input{})
	if d.Allowed() || !strings.Contains(d.Denied[0].Message, "could not be evaluated") {
		t.Fatalf("want a denial for an evaluation error, got %+v", d)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p, err = Parse("p.yaml", []byte("rules:\n  - name: slow\n    action: deny\n    expression: '[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, a+b+c > 0)))'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Evaluate(ctx, &Input{}); d.Allowed() {
		t.Fatal("a rule interrupted by its context allowed")
	}
}

func TestBundledRulesCompile(t *testing.T) {
	names := BundledNames()
	if len(names) < 13 {
		t.Fatalf("%d bundled rules, want at least 13", len(names))
	}
	var b strings.Builder
	b.WriteString("rules:\n")
	for _, n := range names {
		b.WriteString("  - use: " + n + "\n")
	}
	p, err := Parse("all.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	// An empty input has no workload, no signature and no registry: the
	// image-only rules must deny and the workload rules hold vacuously.
	in := &Input{Image: Image{AgeDays: -1}}
	d := p.Evaluate(t.Context(), in)
	var denied []string
	for _, r := range d.Denied {
		denied = append(denied, r.Rule)
	}
	slices.Sort(denied)
	want := []string{"digest-pinning", "non-root", "required-signer", "trusted-registries"}
	if strings.Join(denied, ",") != strings.Join(want, ",") {
		t.Errorf("denied %v, want %v", denied, want)
	}
	for _, r := range d.Denied {
		if strings.Contains(r.Message, "could not be evaluated") {
			t.Errorf("%s: %s", r.Rule, r.Message)
		}
	}
}

func TestReadInputRejects(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown field", `{"image":{"registy":"x"}}`, "registy"},
		{"unknown container field", `{"container":{"priviledged":true}}`, "priviledged"},
		{"trailing", `{} {}`, "trailing"},
		{"not json", `nope`, "decode policy input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadInput(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("rules:\n  - name: r\n    action: deny\n    expression: input.image.pinned\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err != nil {
			return
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p.Evaluate(ctx, &Input{})
	})
}

func FuzzReadInput(f *testing.F) {
	for _, n := range []string{"compliant-pod.json", "risky-pod.json", "ci-image.json", "triaged-image.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/inputs", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	p, err := Load("testdata/policy.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ReadInput(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		p.Evaluate(t.Context(), in)
	})
}

// TestReadmeExamples compiles the policies README.md shows.
func TestReadmeExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```yaml\n")[1:]
	if len(blocks) < 3 {
		t.Fatalf("found %d yaml blocks", len(blocks))
	}
	for i, blk := range blocks {
		blk, _, _ = strings.Cut(blk, "```")
		if strings.HasPrefix(blk, "policy:") {
			continue // a test suite
		}
		if !strings.Contains(blk, "rules:") {
			blk = "rules:\n" + blk
		}
		if _, err := Parse(fmt.Sprintf("README.md block %d", i+1), []byte(blk)); err != nil {
			t.Error(err)
		}
	}
}
