package policy

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// keyInput is an input with its lists and maps holding an element, so
// that fields nested in them can be changed too.
func keyInput() *Input {
	return &Input{
		Image: Image{
			Ref: "registry.example/app:1", Digest: "sha256:" + strings.Repeat("a", 64),
			Registry: "registry.example", Repository: "app", Tag: "1", AgeDays: 3,
			Config: Config{User: "10001", NonRoot: true, Labels: map[string]string{"l": "v"}, Env: []string{"A=1"},
				ExposedPorts: []string{"8080/tcp"}, OS: "linux", Architecture: "amd64"},
		},
		Signatures:   []Signature{{Kind: "cosign", Signer: "key:sha256:00", KeyName: "k"}},
		Attestations: []Attestation{{Kind: "attestation", PredicateType: "https://slsa.dev/provenance/v1", Signer: "key:sha256:00"}},
		Provenance:   []Provenance{{BuilderID: "b", SourceRepository: "r"}},
		Findings: []Finding{{ID: "CVE-1", Aliases: []string{"GHSA-1"}, Package: "p", Severity: "critical", Reachable: true,
			Verdict: Verdict{Status: "affected"}, Priority: Priority{Score: 1, Factors: []string{"reachable"}}}},
		Hygiene: []Hygiene{{Rule: "vigil/secret", Severity: "high"}},
		Workload: Workload{Kind: "Pod", Namespace: "prod", Name: "web-1",
			Annotations: map[string]string{"a": "v"}, Labels: map[string]string{"app": "web"},
			Containers: []Container{{Name: "app", Image: "registry.example/app:1", RunAsUser: 10001}}},
		Container: Container{Name: "app", Image: "registry.example/app:1", RunAsNonRoot: true, RunAsUser: 10001,
			CapabilitiesAdd: []string{"NET_BIND_SERVICE"}, CapabilitiesDrop: []string{"ALL"}, SeccompProfile: "RuntimeDefault",
			Limits: map[string]string{"cpu": "1"}, Requests: map[string]string{"cpu": "1"}},
	}
}

// changes calls f with a fresh keyInput in which one field (named by its
// path) was changed, for every field of Input at any depth.
func changes(t *testing.T, f func(path string, in *Input)) {
	t.Helper()
	var walk func(path string, get func(*Input) reflect.Value, typ reflect.Type)
	walk = func(path string, get func(*Input) reflect.Value, typ reflect.Type) {
		change := func(set func(reflect.Value)) {
			in := keyInput()
			set(get(in))
			f(path, in)
		}
		switch typ.Kind() {
		case reflect.String:
			change(func(v reflect.Value) { v.SetString(v.String() + "x") })
		case reflect.Bool:
			change(func(v reflect.Value) { v.SetBool(!v.Bool()) })
		case reflect.Int, reflect.Int64:
			change(func(v reflect.Value) { v.SetInt(v.Int() + 1) })
			change(func(v reflect.Value) { v.SetInt(-1) })
		case reflect.Map:
			change(func(v reflect.Value) {
				if v.IsNil() {
					v.Set(reflect.MakeMap(typ))
				}
				v.SetMapIndex(reflect.ValueOf("k2"), reflect.ValueOf("v2"))
			})
		case reflect.Slice:
			change(func(v reflect.Value) { v.Set(reflect.Append(v, reflect.Zero(typ.Elem()))) })
			if get(keyInput()).Len() > 0 {
				walk(path+"[0]", func(in *Input) reflect.Value { return get(in).Index(0) }, typ.Elem())
			}
		case reflect.Struct:
			for i := range typ.NumField() {
				name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
				walk(path+"."+name, func(in *Input) reflect.Value { return get(in).Field(i) }, typ.Field(i).Type)
			}
		default:
			t.Fatalf("%s: no change for a %s", path, typ)
		}
	}
	walk("input", func(in *Input) reflect.Value { return reflect.ValueOf(in).Elem() }, reflect.TypeFor[Input]())
}

// TestAppendKeyBundled checks that an input whose decision differs from
// another's has a different key, for every bundled rule and every field,
// and that fields no rule reads leave the key as it is.
func TestAppendKeyBundled(t *testing.T) {
	var src strings.Builder
	src.WriteString("rules:\n")
	for _, n := range BundledNames() {
		src.WriteString("  - use: " + n + "\n")
	}
	p, err := Parse("all.yaml", []byte(src.String()))
	if err != nil {
		t.Fatal(err)
	}
	base := keyInput()
	baseKey, baseDecision := p.AppendKey(nil, base), p.Evaluate(t.Context(), base)
	unread := map[string]bool{}
	changes(t, func(path string, in *Input) {
		key, d := p.AppendKey(nil, in), p.Evaluate(t.Context(), in)
		if !reflect.DeepEqual(d, baseDecision) && bytes.Equal(key, baseKey) {
			t.Errorf("changing %s changes the decision but not the key", path)
		}
		if bytes.Equal(key, baseKey) {
			unread[path] = true
		}
	})
	// The pod's name and labels are not read by any bundled rule: pods of
	// one template share their decisions.
	for _, path := range []string{"input.workload.name", "input.workload.labels", "input.workload.containers"} {
		if !unread[path] {
			t.Errorf("changing %s changes the key; no bundled rule reads it", path)
		}
	}
}

func TestAppendKey(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		change     func(*Input)
		same       bool
	}{
		{"unread field", "input.container.privileged == false", func(in *Input) { in.Workload.Name = "web-2" }, true},
		{"read field", "input.workload.name != ''", func(in *Input) { in.Workload.Name = "web-2" }, false},
		{"map entry by index", `input.workload.labels["app"] == "web"`, func(in *Input) { in.Workload.Labels["team"] = "x" }, false},
		{"map entry by has", `has(input.workload.labels.app)`, func(in *Input) { in.Workload.Labels["team"] = "x" }, false},
		{"list in a comprehension", `input.workload.containers.all(c, !c.privileged)`, func(in *Input) { in.Workload.Containers[0].Privileged = true }, false},
		{"message expression", "false", func(in *Input) { in.Image.Tag = "2" }, false},
		{"input whole", `[input].size() == 1`, func(in *Input) { in.Hygiene = nil }, false},
		{"shadowed input", `[1].exists(input, input == 1)`, func(in *Input) { in.Workload.Name = "web-2" }, false},
		{"input in a comprehension", `[input.image].exists(i, i.tag != "")`, func(in *Input) { in.Image.Config.OS = "windows" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "rules:\n  - name: r\n    action: deny\n    expression: '" + strings.ReplaceAll(tc.expr, "'", "''") + "'\n"
			if tc.name == "message expression" {
				src += "    messageExpression: 'input.image.tag'\n"
			}
			p, err := Parse("p.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			a, b := keyInput(), keyInput()
			tc.change(b)
			if same := bytes.Equal(p.AppendKey(nil, a), p.AppendKey(nil, b)); same != tc.same {
				t.Fatalf("keys equal: %v, want %v", same, tc.same)
			}
		})
	}
}
