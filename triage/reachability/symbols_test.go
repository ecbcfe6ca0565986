package reachability

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/gobinary"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
)

func TestSplitName(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pkg, sym string
		ok       bool
	}{
		{"net/http.Get", "net/http", "Get", true},
		{"fmt.Println", "fmt", "Println", true},
		{"net/http.(*Client).Do", "net/http", "Client.Do", true},
		{"encoding/json.Number.String", "encoding/json", "Number.String", true},
		{"gopkg.in/yaml%2ev3.Unmarshal", "gopkg.in/yaml.v3", "Unmarshal", true},
		{"gopkg.in/yaml%2ev3.(*decoder).unmarshal", "gopkg.in/yaml.v3", "decoder.unmarshal", true},
		{"github.com/a/b%2ec%2ev2.(*T).M", "github.com/a/b.c.v2", "T.M", true},
		// Generic functions and methods: the type arguments go, dots and
		// slashes in them included.
		{"example.com/m.Map[...]", "example.com/m", "Map", true},
		{"example.com/m.Map[go.shape.int]", "example.com/m", "Map", true},
		{"example.com/m.(*List[...]).Push", "example.com/m", "List.Push", true},
		{"example.com/m.List[go.shape.struct { F example.com/x/y.T }].Len", "example.com/m", "List.Len", true},
		{"example.com/m.F[map[string]example.com/q.T]", "example.com/m", "F", true},
		// Closures, wrappers and compiler-generated names keep what makes
		// them differ from the function.
		{"example.com/m.F.func1", "example.com/m", "F.func1", true},
		{"example.com/m.(*T).M-fm", "example.com/m", "T.M-fm", true},
		{"main.main", "main", "main", true},
		{"runtime.main", "runtime", "main", true},
		{"type:.eq.[2]interface {}", "type:", "eq.interface {}", true}, // never an import path
		{"example.com/m.F[unclosed", "example.com/m", "F", true},
		{"nodot", "", "", false},
		{"example.com/nodot", "", "", false},
		{"example.com/m.", "", "", false},
		{"", "", "", false},
		{"bad%zzescape.F", "bad%zzescape", "F", true}, // kept as written
	} {
		pkg, sym, ok := splitName(tc.name)
		if pkg != tc.pkg || sym != tc.sym || ok != tc.ok {
			t.Errorf("splitName(%q) = %q, %q, %v; want %q, %q, %v", tc.name, pkg, sym, ok, tc.pkg, tc.sym, tc.ok)
		}
	}
}

// names are the functions of a made-up binary: the main package, part of
// golang.org/x/text/language, a generic method, and a package with a dot.
var names = []string{
	"main.main",
	"main.serve",
	"golang.org/x/text/language.Parse",
	"golang.org/x/text/language.(*Tag).String",
	"golang.org/x/text/language.Tag.Base",
	"example.com/gen.(*Set[...]).Add",
	"gopkg.in/yaml%2ev3.Unmarshal",
	"runtime.main",
}

func TestJudge(t *testing.T) {
	s := newSymbols(names, "example.com/cmd/app", true)
	s.goos, s.goarch = "linux", "amd64"
	incomplete := newSymbols(names, "example.com/cmd/app", false)
	identity := func(p string) string { return p }
	const loc = "/usr/bin/app"
	imp := func(path string, syms ...string) vulndb.Import { return vulndb.Import{Path: path, Symbols: syms} }

	for _, tc := range []struct {
		name    string
		syms    *symbols
		path    func(string) string
		imports []vulndb.Import
		// ok false: no judgement.
		ok            bool
		status        vex.Status
		justification vex.Justification
		// evidence must appear in the evidence detail.
		evidence []string
	}{
		{
			name:    "function linked",
			imports: []vulndb.Import{imp("golang.org/x/text/language", "Parse", "MatchStrings")},
			ok:      true, status: vex.Affected,
			evidence: []string{"golang.org/x/text/language.Parse"},
		},
		{
			name:    "pointer method named without its star",
			imports: []vulndb.Import{imp("golang.org/x/text/language", "Tag.String")},
			ok:      true, status: vex.Affected,
			evidence: []string{"golang.org/x/text/language.Tag.String"},
		},
		{
			name:    "value method",
			imports: []vulndb.Import{imp("golang.org/x/text/language", "Tag.Base")},
			ok:      true, status: vex.Affected,
		},
		{
			name:    "generic method",
			imports: []vulndb.Import{imp("example.com/gen", "Set.Add")},
			ok:      true, status: vex.Affected,
			evidence: []string{"example.com/gen.Set.Add"},
		},
		{
			name:    "escaped package path",
			imports: []vulndb.Import{imp("gopkg.in/yaml.v3", "Unmarshal")},
			ok:      true, status: vex.Affected,
		},
		{
			name:    "main package under its import path",
			imports: []vulndb.Import{imp("example.com/cmd/app", "serve")},
			ok:      true, status: vex.Affected,
		},
		{
			name:    "package linked, functions not",
			imports: []vulndb.Import{imp("golang.org/x/text/language", "MatchStrings", "ParseAcceptLanguage")},
			ok:      true, status: vex.NotAffected, justification: vex.VulnerableCodeNotInExecutePath,
			evidence: []string{"golang.org/x/text/language.MatchStrings", "golang.org/x/text/language.ParseAcceptLanguage", "none is there"},
		},
		{
			name:    "a method of the same name on another type",
			imports: []vulndb.Import{imp("example.com/gen", "Map.Add", "Add")},
			ok:      true, status: vex.NotAffected, justification: vex.VulnerableCodeNotInExecutePath,
		},
		{
			name:    "package not linked",
			imports: []vulndb.Import{imp("net/http", "Get")},
			ok:      true, status: vex.NotAffected, justification: vex.VulnerableCodeNotPresent,
			evidence: []string{"net/http.Get"},
		},
		{
			name:    "whole package, linked",
			imports: []vulndb.Import{imp("golang.org/x/text/language")},
			ok:      true, status: vex.Affected,
			evidence: []string{"golang.org/x/text/language (whole package)"},
		},
		{
			name:    "whole package, not linked",
			imports: []vulndb.Import{imp("golang.org/x/text/encoding")},
			ok:      true, status: vex.NotAffected, justification: vex.VulnerableCodeNotPresent,
		},
		{
			name:    "a subpackage is not the package",
			imports: []vulndb.Import{imp("golang.org/x/text")},
			ok:      true, status: vex.NotAffected, justification: vex.VulnerableCodeNotPresent,
		},
		{
			name:    "one of two imports linked",
			imports: []vulndb.Import{imp("net/http", "Get"), imp("gopkg.in/yaml.v3", "Unmarshal")},
			ok:      true, status: vex.Affected,
		},
		{
			name: "import for another platform",
			imports: []vulndb.Import{
				{Path: "golang.org/x/text/language", Symbols: []string{"Parse"}, GOOS: []string{"windows"}},
				{Path: "net/http", Symbols: []string{"Get"}},
			},
			ok: true, status: vex.NotAffected, justification: vex.VulnerableCodeNotPresent,
		},
		{
			name:    "every import for other platforms",
			imports: []vulndb.Import{{Path: "golang.org/x/text/language", Symbols: []string{"Parse"}, GOARCH: []string{"arm64", "386"}}},
			ok:      true, status: vex.NotAffected, justification: vex.VulnerableCodeNotPresent,
			evidence: []string{"linux/amd64"},
		},
		{
			name:    "import for this platform",
			imports: []vulndb.Import{{Path: "golang.org/x/text/language", Symbols: []string{"Parse"}, GOOS: []string{"darwin", "linux"}}},
			ok:      true, status: vex.Affected,
		},
		{
			name:    "incomplete table, found",
			syms:    incomplete,
			imports: []vulndb.Import{imp("golang.org/x/text/language", "Parse")},
			ok:      true, status: vex.Affected,
		},
		{
			name:    "incomplete table, not found",
			syms:    incomplete,
			imports: []vulndb.Import{imp("net/http", "Get")},
		},
		{
			name:    "replaced module",
			path:    translation(&inventory.Component{Namespace: "github.com/golang", Name: "text", Metadata: map[string]string{gobinary.MetaReplaces: "golang.org/x/text@v0.7.0"}}),
			imports: []vulndb.Import{imp("github.com/golang/text/language", "Parse")},
			ok:      true, status: vex.Affected,
			evidence: []string{"golang.org/x/text/language.Parse"},
		},
		{
			name:    "replaced by a directory: the path is the module's own",
			path:    translation(&inventory.Component{Namespace: "golang.org/x", Name: "text", Metadata: map[string]string{gobinary.MetaReplaces: "golang.org/x/text@v0.7.0", gobinary.MetaReplaceDir: "../text"}}),
			imports: []vulndb.Import{imp("golang.org/x/text/language", "Parse")},
			ok:      true, status: vex.Affected,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			syms, path := tc.syms, tc.path
			if syms == nil {
				syms = s
			}
			if path == nil {
				path = identity
			}
			v, ok := judge(syms, loc, path, tc.imports)
			if ok != tc.ok {
				t.Fatalf("judged %v (%+v), want %v", ok, v, tc.ok)
			}
			if !ok {
				return
			}
			if v.Status != tc.status || v.Justification != tc.justification {
				t.Errorf("verdict %s/%s, want %s/%s", v.Status, v.Justification, tc.status, tc.justification)
			}
			if len(v.Evidence) != 1 || v.Evidence[0].Kind != "symbols" || v.Evidence[0].Location != loc || v.Impact == "" {
				t.Fatalf("evidence %+v, impact %q", v.Evidence, v.Impact)
			}
			for _, e := range tc.evidence {
				if !strings.Contains(v.Evidence[0].Detail, e) {
					t.Errorf("evidence %q does not name %q", v.Evidence[0].Detail, e)
				}
			}
		})
	}
}

func TestTranslation(t *testing.T) {
	tr := translation(&inventory.Component{Namespace: "github.com/golang", Name: "text", Metadata: map[string]string{gobinary.MetaReplaces: "golang.org/x/text@v0.7.0"}})
	for in, want := range map[string]string{
		"github.com/golang/text":          "golang.org/x/text",
		"github.com/golang/text/language": "golang.org/x/text/language",
		"github.com/golang/textual":       "github.com/golang/textual",
		"net/http":                        "net/http",
	} {
		if got := tr(in); got != want {
			t.Errorf("translation(%q) = %q, want %q", in, got, want)
		}
	}
	plain := translation(&inventory.Component{Namespace: "golang.org/x", Name: "text"})
	if got := plain("golang.org/x/text/language"); got != "golang.org/x/text/language" {
		t.Errorf("no replacement changed the path to %q", got)
	}
}

// TestSymbolsIndex: every name of a binary is filed once under its
// package, and main's also under the main package path.
func TestSymbolsIndex(t *testing.T) {
	s := newSymbols(names, "example.com/cmd/app", true)
	var pkgs []string
	for p := range s.pkgs {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	want := []string{"example.com/cmd/app", "example.com/gen", "golang.org/x/text/language", "gopkg.in/yaml.v3", "main", "runtime"}
	if !slices.Equal(pkgs, want) {
		t.Errorf("packages %v, want %v", pkgs, want)
	}
	if s.names != len(names) || len(s.pkgs["golang.org/x/text/language"]) != 3 {
		t.Errorf("names %d, language symbols %v", s.names, s.pkgs["golang.org/x/text/language"])
	}
}
