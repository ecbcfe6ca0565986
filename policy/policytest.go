package policy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Suite is a policy test file, run by `vigil policy test` (as `opa test`
// and `kyverno test` do): a policy and recorded inputs with the rules each
// must fail.
type Suite struct {
	// Policy is the policy file, relative to the suite file.
	Policy string `yaml:"policy"`
	Cases  []Case `yaml:"cases"`
}

// Case is one recorded input and its expected outcome.
type Case struct {
	Name string `yaml:"name"`
	// Input is a recorded Input (JSON), relative to the suite file.
	Input string `yaml:"input"`
	// Denied lists exactly the deny rules that must fail; none when empty.
	Denied []string `yaml:"denied"`
	// Warned, when present, lists exactly the warn rules that must fail.
	Warned *[]string `yaml:"warned"`
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name     string
	Decision *Decision
	// Problem says how the decision differed from the expectation, or
	// why the case could not run; empty when it passed.
	Problem string
}

// RunSuite loads the suite at path, its policy and inputs, and runs each
// case. An error means the suite itself is unusable (unreadable, or its
// policy does not compile); a case that fails is reported in its result.
func RunSuite(ctx context.Context, path string) ([]CaseResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy test: %w", err)
	}
	var s Suite
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && err != io.EOF {
		return nil, fmt.Errorf("policy test %s: %w", path, err)
	}
	if s.Policy == "" || len(s.Cases) == 0 {
		return nil, fmt.Errorf("policy test %s: needs a policy and at least one case", path)
	}
	dir := filepath.Dir(path)
	p, err := Load(filepath.Join(dir, s.Policy))
	if err != nil {
		return nil, err
	}
	var out []CaseResult
	for _, c := range s.Cases {
		out = append(out, runCase(ctx, p, dir, c))
	}
	return out, nil
}

func runCase(ctx context.Context, p *Policy, dir string, c Case) CaseResult {
	r := CaseResult{Name: c.Name}
	f, err := os.Open(filepath.Join(dir, c.Input))
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	in, err := ReadInput(f)
	f.Close()
	if err != nil {
		r.Problem = fmt.Sprintf("%s: %v", c.Input, err)
		return r
	}
	r.Decision = p.Evaluate(ctx, in)
	if d := diff("denied", c.Denied, r.Decision.Denied); d != "" {
		r.Problem = d
	}
	if c.Warned != nil {
		if d := diff("warned", *c.Warned, r.Decision.Warned); d != "" {
			r.Problem = join(r.Problem, d)
		}
	}
	return r
}

func diff(what string, want []string, got []Result) string {
	var names []string
	for _, g := range got {
		names = append(names, g.Rule)
	}
	w := slices.Sorted(slices.Values(want))
	slices.Sort(names)
	if slices.Equal(w, names) {
		return ""
	}
	return fmt.Sprintf("%s: want %v, got %v", what, w, names)
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
