// Package policy decides whether an image may be used. A policy is a YAML
// list of rules, each a CEL expression (cel.dev/cel-go) over one documented
// Input that must be true for the image to pass, with an action: "deny"
// fails a CI gate and refuses admission, "warn" only reports. Vigil ships
// bundled rules (trusted registries, digest pinning, required signer,
// non-root, ...) that a policy switches on by name.
//
// The same compiled policy serves the CI gate (vigil scan --policy), the
// admission webhook and `vigil policy test`, so a recorded input replays the
// decision the webhook made.
package policy

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"go.yaml.in/yaml/v3"
)

// Action is what a failed rule does.
type Action string

const (
	Deny Action = "deny"
	Warn Action = "warn"
)

// maxPolicyBytes bounds a policy file; real ones are a few KiB.
const maxPolicyBytes = 1 << 20

// costLimit bounds one rule's evaluation so that a rule over a large input
// (thousands of findings) cannot stall an admission request; it is far
// above what the bundled rules need for ten thousand findings.
const costLimit = 10_000_000

// File is a policy file as written.
type File struct {
	// Name names the policy in reports; defaults to the file name.
	Name  string     `yaml:"name"`
	Rules []RuleSpec `yaml:"rules"`
}

// RuleSpec is one rule as written: either a rule of its own (Name and
// Expression) or a bundled rule switched on with Use, whose Action and
// Params may be overridden.
type RuleSpec struct {
	Use         string         `yaml:"use"`
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Action      Action         `yaml:"action"`
	Expression  Source         `yaml:"expression"`
	Message     string         `yaml:"message"`
	MessageExpr Source         `yaml:"messageExpression"`
	Params      map[string]any `yaml:"params"`
	line        int
}

var ruleKeys = []string{"use", "name", "description", "action", "expression", "message", "messageExpression", "params"}

// Source is CEL source text with the line it starts on in its file, so
// compile errors point at the file, not only into the expression.
type Source struct {
	Text string
	// Line is the file line of the expression's first line.
	Line int
}

// UnmarshalYAML keeps the position of the scalar.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a CEL expression as a string", n.Line)
	}
	s.Text = n.Value
	s.Line = n.Line
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		s.Line++ // the text starts on the line after "|" or ">"
	}
	return nil
}

// UnmarshalYAML records where the rule is, for error messages.
func (r *RuleSpec) UnmarshalYAML(n *yaml.Node) error {
	// Node.Decode ignores the decoder's KnownFields, so check keys here:
	// a misspelt "expresion" must not leave a rule without its test.
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if !slices.Contains(ruleKeys, k.Value) {
				return fmt.Errorf("line %d: unknown rule field %q (want one of %s)", k.Line, k.Value, strings.Join(ruleKeys, ", "))
			}
		}
	}
	type plain RuleSpec // without this method, so Decode does not recurse
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = RuleSpec(p)
	r.line = n.Line
	return nil
}

// Policy is a compiled policy, safe for concurrent use.
type Policy struct {
	Name  string
	rules []*rule
	// key is what AppendKey encodes: the input fields the rules read.
	key *keyPlan
}

type rule struct {
	name, description, message string
	action                     Action
	params                     map[string]any
	prg, msg                   cel.Program
}

// Result is one failed rule.
type Result struct {
	Rule    string `json:"rule"`
	Action  Action `json:"action"`
	Message string `json:"message"`
}

// Decision is the outcome of a policy over one input.
type Decision struct {
	Policy string   `json:"policy"`
	Denied []Result `json:"denied,omitempty"`
	Warned []Result `json:"warned,omitempty"`
	// Passed lists the rules that held.
	Passed []string `json:"passed,omitempty"`
}

// Allowed is true when no deny rule failed.
func (d *Decision) Allowed() bool { return len(d.Denied) == 0 }

// Load reads and compiles a policy file.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", path, err)
	}
	if len(b) > maxPolicyBytes {
		return nil, fmt.Errorf("policy %s: larger than %d bytes", path, maxPolicyBytes)
	}
	return Parse(path, b)
}

// Parse compiles a policy; name is the file name used in errors
// ("policy.yaml:12: rule \"x\": ...").
func Parse(name string, data []byte) (*Policy, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty policy", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(f.Rules) == 0 {
		return nil, fmt.Errorf("%s: policy has no rules", name)
	}
	p := &Policy{Name: f.Name}
	if p.Name == "" {
		p.Name = name
	}
	seen := map[string]bool{}
	var rd reads
	for _, spec := range f.Rules {
		r, err := compileSpec(name, spec, &rd)
		if err != nil {
			return nil, err
		}
		if seen[r.name] {
			return nil, fmt.Errorf("%s:%d: rule %q defined twice", name, spec.line, r.name)
		}
		seen[r.name] = true
		p.rules = append(p.rules, r)
	}
	p.key = newKeyPlan(reflect.TypeFor[Input](), &rd)
	return p, nil
}

// compileSpec compiles a rule, adding what its expressions read of the
// input to rd.
func compileSpec(file string, s RuleSpec, rd *reads) (*rule, error) {
	where := fmt.Sprintf("%s:%d", file, s.line)
	if s.Use != "" {
		b, ok := bundled[s.Use]
		if !ok {
			return nil, fmt.Errorf("%s: no bundled rule %q (have %s)", where, s.Use, strings.Join(BundledNames(), ", "))
		}
		if s.Expression.Text != "" || s.MessageExpr.Text != "" {
			return nil, fmt.Errorf("%s: rule %q: a bundled rule's expression cannot be changed; copy it into a rule of your own", where, s.Use)
		}
		merged := b
		merged.line = s.line
		if s.Name != "" {
			merged.Name = s.Name
		}
		if s.Action != "" {
			merged.Action = s.Action
		}
		if s.Message != "" {
			merged.Message = s.Message
		}
		merged.Params = map[string]any{}
		for k, v := range b.Params {
			merged.Params[k] = v
		}
		for k, v := range s.Params {
			if _, ok := b.Params[k]; !ok {
				return nil, fmt.Errorf("%s: rule %q: unknown parameter %q", where, s.Use, k)
			}
			merged.Params[k] = v
		}
		// Bundled expressions are compiled from their own file, so their
		// errors, if any, point there.
		s, file = merged, "bundled.yaml"
	}
	if s.Name == "" {
		return nil, fmt.Errorf("%s: rule without a name", where)
	}
	switch s.Action {
	case Deny, Warn:
	case "":
		return nil, fmt.Errorf("%s: rule %q: action is required (deny or warn)", where, s.Name)
	default:
		return nil, fmt.Errorf("%s: rule %q: action %q is neither deny nor warn", where, s.Name, s.Action)
	}
	if strings.TrimSpace(s.Expression.Text) == "" {
		return nil, fmt.Errorf("%s: rule %q: expression is required", where, s.Name)
	}
	r := &rule{name: s.Name, description: s.Description, message: s.Message, action: s.Action, params: s.Params}
	if r.params == nil {
		r.params = map[string]any{}
	}
	var err error
	if r.prg, err = compile(file, s.Name, "expression", s.Expression, cel.BoolType, rd); err != nil {
		return nil, err
	}
	if s.MessageExpr.Text != "" {
		if r.msg, err = compile(file, s.Name, "messageExpression", s.MessageExpr, cel.StringType, rd); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// env is the CEL environment every rule compiles in: `input` (Input) and
// `params` (the rule's parameters).
// Rules must stay pure functions of those two: AppendKey, and the
// webhook's decision cache, rely on it, so a function reading a clock or
// other state must not be added here.
var env = mustEnv()

func mustEnv() *cel.Env {
	e, err := cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[Input](), ext.ParseStructTag("json")),
		cel.Variable("input", cel.ObjectType("policy.Input")),
		cel.Variable("params", cel.MapType(cel.StringType, cel.DynType)),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
	)
	if err != nil {
		panic(fmt.Sprintf("policy: CEL environment: %v", err))
	}
	return e
}

func compile(file, rule, field string, src Source, want *cel.Type, rd *reads) (cel.Program, error) {
	ast, iss := env.Compile(src.Text)
	if iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			line := src.Line + e.Location.Line() - 1
			msgs = append(msgs, fmt.Sprintf("%s:%d:%d: rule %q: %s: %s", file, line, e.Location.Column()+1, rule, field, e.Message))
		}
		return nil, fmt.Errorf("compile policy: %s", strings.Join(msgs, "; "))
	}
	if !ast.OutputType().IsExactType(want) && !ast.OutputType().IsExactType(cel.DynType) {
		return nil, fmt.Errorf("compile policy: %s:%d: rule %q: %s must be a %s, is a %s", file, src.Line, rule, field, want, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("compile policy: %s:%d: rule %q: %s: %w", file, src.Line, rule, field, err)
	}
	rd.add(ast.NativeRep().Expr())
	return prg, nil
}

// Rules names the policy's rules in order.
func (p *Policy) Rules() []string {
	var names []string
	for _, r := range p.rules {
		names = append(names, r.name)
	}
	return names
}

// Evaluate runs every rule over in. A rule that cannot be evaluated (an
// error at run time, the cost limit, ctx ending) counts as failed: a deny
// rule that errs denies, so broken or hostile input is never allowed by
// accident.
func (p *Policy) Evaluate(ctx context.Context, in *Input) *Decision {
	d := &Decision{Policy: p.Name}
	for _, r := range p.rules {
		act := map[string]any{"input": in, "params": r.params}
		pass, msg := r.eval(ctx, act)
		if pass {
			d.Passed = append(d.Passed, r.name)
			continue
		}
		res := Result{Rule: r.name, Action: r.action, Message: msg}
		if r.action == Deny {
			d.Denied = append(d.Denied, res)
		} else {
			d.Warned = append(d.Warned, res)
		}
	}
	return d
}

func (r *rule) eval(ctx context.Context, act map[string]any) (bool, string) {
	out, _, err := r.prg.ContextEval(ctx, act)
	if err != nil {
		return false, fmt.Sprintf("rule could not be evaluated: %v", err)
	}
	if b, ok := out.Value().(bool); !ok {
		return false, fmt.Sprintf("rule returned %s, not a bool", out.Type())
	} else if b {
		return true, ""
	}
	msg := r.message
	if r.msg != nil {
		if m, _, err := r.msg.ContextEval(ctx, act); err == nil {
			if s, ok := m.Value().(string); ok && s != "" {
				msg = s
			}
		}
	}
	if msg == "" {
		msg = r.description
	}
	if msg == "" {
		msg = "rule failed"
	}
	return false, msg
}

// bundled are the rules users can switch on with `use:`.
var bundled = mustBundled()

//go:embed bundled.yaml
var bundledYAML []byte

func mustBundled() map[string]RuleSpec {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(bundledYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		panic(fmt.Sprintf("policy: bundled.yaml: %v", err))
	}
	m := map[string]RuleSpec{}
	for _, r := range f.Rules {
		m[r.Name] = r
	}
	return m
}

// BundledNames lists the bundled rules, sorted.
func BundledNames() []string {
	var names []string
	for n := range bundled {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Bundled returns a bundled rule's description and default action.
func Bundled(name string) (description string, action Action, ok bool) {
	r, ok := bundled[name]
	return r.Description, r.Action, ok
}
