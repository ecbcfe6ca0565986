package npm

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/golden"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

// TestCatalog lays real packages from the npm registry out as npm, pnpm and
// Debian install them, next to an application manifest and files that must
// be ignored, and checks what Catalog reports against the versions asked
// for.
func TestCatalog(t *testing.T) {
	specs := []string{
		"lodash@4.17.20",
		"minimist@1.2.5",
		"@babel/helper-string-parser@7.22.5",
		"json-schema@0.2.3",   // deprecated "licenses" array of objects
		"pause-stream@0.0.11", // "license" as an array of strings
	}
	pkgs := testimage.NpmPack(t, specs...)
	root := t.TempDir()
	install := func(pkg int, dir string) {
		t.Helper()
		if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(pkgs[pkg])); err != nil {
			t.Fatal(err)
		}
	}
	install(0, "app/node_modules/lodash")
	install(1, "app/node_modules/lodash/node_modules/minimist") // nested
	install(2, "app/node_modules/@babel/helper-string-parser")  // scoped
	install(3, "app/node_modules/.pnpm/json-schema@0.2.3/node_modules/json-schema")
	install(4, "app/node_modules/pause-stream")
	install(1, "usr/share/nodejs/minimist") // Debian's global directory
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app/package.json", `{"name": "shop", "version": "1.0.0", "private": true, "dependencies": {"lodash": "^4.17.20"}}`)
	write("srv/package.json", `{"name": "unversioned-tool"}`)                                 // no version: not a package
	write("app/node_modules/lodash/fixtures/package.json", `{"name": "fixture", "version": `) // below a package root
	write("app/node_modules/.package-lock.json", `{}`)
	write("app/node_modules/broken/package.json", `{"name": "broken", "version": `)
	write("proc/1/root/node_modules/ghost/package.json", `{"name": "ghost", "version": "1.0.0"}`)

	fsys, err := layers.FromDir(root, layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	comps, err := Cataloger{}.Catalog(t.Context(), fsys, inventory.Environment{})
	if err == nil || !strings.Contains(err.Error(), "/app/node_modules/broken/package.json") || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("error = %v, want exactly one, naming the broken manifest", err)
	}

	want := []struct {
		purl, location string
		licenses       []string
		app            bool
	}{
		{"pkg:npm/lodash@4.17.20", "/app/node_modules/lodash/package.json", []string{"MIT"}, false},
		{"pkg:npm/minimist@1.2.5", "/app/node_modules/lodash/node_modules/minimist/package.json", []string{"MIT"}, false},
		{"pkg:npm/%40babel/helper-string-parser@7.22.5", "/app/node_modules/@babel/helper-string-parser/package.json", []string{"MIT"}, false},
		{"pkg:npm/json-schema@0.2.3", "/app/node_modules/.pnpm/json-schema@0.2.3/node_modules/json-schema/package.json", []string{"AFLv2.1", "BSD"}, false},
		{"pkg:npm/pause-stream@0.0.11", "/app/node_modules/pause-stream/package.json", []string{"MIT", "Apache2"}, false},
		{"pkg:npm/minimist@1.2.5", "/usr/share/nodejs/minimist/package.json", []string{"MIT"}, false},
		{"pkg:npm/shop@1.0.0", "/app/package.json", nil, true},
	}
	if len(comps) != len(want) {
		for _, c := range comps {
			t.Log(c.PURL, c.Locations)
		}
		t.Fatalf("got %d components, want %d", len(comps), len(want))
	}
	for _, w := range want {
		i := slices.IndexFunc(comps, func(c inventory.Component) bool { return c.Locations[0] == w.location })
		if i < 0 {
			t.Errorf("nothing found at %s", w.location)
			continue
		}
		c := comps[i]
		if c.PURL != w.purl || c.Type != "npm" || c.Cataloger != "npm" || !slices.Equal(c.Licenses, w.licenses) || (c.Metadata[MetaApp] == "true") != w.app {
			t.Errorf("%s: got %s licenses %q metadata %v; want %s %q app=%v", w.location, c.PURL, c.Licenses, c.Metadata, w.purl, w.licenses, w.app)
		}
	}
	babel := comps[slices.IndexFunc(comps, func(c inventory.Component) bool { return c.Name == "helper-string-parser" })]
	if babel.Namespace != "@babel" || babel.Version != "7.22.5" || babel.Metadata[MetaAuthor] != "The Babel Team (https://babel.dev/team)" {
		t.Errorf("scoped package: %+v", babel)
	}
}

func TestWants(t *testing.T) {
	tests := []struct {
		name string
		size int64
		want bool
	}{
		{"app/node_modules/lodash/package.json", 100, true},
		{"node_modules/@babel/core/package.json", 100, true},
		{"a/node_modules/b/node_modules/c/package.json", 100, true},
		{"app/node_modules/.pnpm/x@1.0.0/node_modules/x/package.json", 100, true},
		{"usr/share/nodejs/lodash/package.json", 100, true},
		{"usr/lib/x86_64-linux-gnu/nodejs/bufferutil/package.json", 100, true},
		{"app/package.json", 100, true},
		{"package.json", 100, true},
		{"app/node_modules/lodash/package.json", MaxManifest + 1, false},
		{"app/node_modules/lodash/lib/package.json", 100, false},
		{"app/node_modules/@babel/package.json", 100, false}, // a scope directory, not a package
		{"app/node_modules/@/x/package.json", 100, false},
		{"app/node_modules/.bin/package.json", 100, false},
		{"app/node_modules/lodash/index.js", 100, false},
		{"app/node_modules/lodash/package.json.bak", 100, false},
	}
	for _, tt := range tests {
		if got := (Cataloger{}).Wants(tt.name, 0o644, tt.size, nil); got != tt.want {
			t.Errorf("Wants(%s, %d) = %v, want %v", tt.name, tt.size, got, tt.want)
		}
	}
	if (Cataloger{}).Wants("app/node_modules/x/package.json", os.ModeSymlink, 10, nil) {
		t.Error("Wants a symbolic link")
	}
}

// TestCatalogOversize checks that a manifest too large to read is reported,
// not silently dropped.
func TestCatalogOversize(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "node_modules", "huge")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	big := `{"name": "huge", "version": "1.0.0", "description": "` + strings.Repeat("x", MaxManifest) + `"}`
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := layers.FromDir(root, layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	comps, err := Cataloger{}.Catalog(t.Context(), fsys, inventory.Environment{})
	if len(comps) != 0 || err == nil || !strings.Contains(err.Error(), "node_modules/huge/package.json") {
		t.Errorf("got %v, %v; want no component and an error naming the file", comps, err)
	}
}

// TestParse compares the components parsed from testdata manifests (real
// ones from the registry and edge cases) with golden files.
func TestParse(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var result any
			if comp, err := Parse(b); err != nil {
				result = map[string]string{"error": err.Error()}
			} else {
				result = comp
			}
			golden.JSON(t, strings.TrimSuffix(in, ".json")+".golden.json", result, *update)
		})
	}
}

func FuzzParse(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil && !strings.HasSuffix(in, ".golden.json") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		comp, err := Parse(b)
		if err == nil && (comp.Name == "" || comp.Version == "" || comp.PURL == "") {
			t.Errorf("component without name, version or purl: %+v", comp)
		}
	})
}
