package inventory_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

// listCataloger reads "name version" lines from etc/pkgs. It stands in for a
// package database so the test exercises attribution alone; the real
// catalogers have their own tests on real package data.
type listCataloger struct{}

func (listCataloger) Name() string { return "list" }
func (listCataloger) Wants(name string, _ fs.FileMode, _ int64, _ []byte) bool {
	return name == "etc/pkgs"
}
func (listCataloger) Catalog(_ context.Context, fsys layers.FS, _ inventory.Environment) ([]inventory.Component, error) {
	f, err := fsys.Open("etc/pkgs")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []inventory.Component
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, ver, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			return out, fmt.Errorf("etc/pkgs: bad line %q", sc.Text())
		}
		out = append(out, inventory.Component{Type: "generic", Name: name, Version: ver, Locations: []string{"/etc/pkgs"}})
	}
	return out, sc.Err()
}

func pkgs(body string) testimage.File {
	return testimage.File{Path: "etc/pkgs", Type: testimage.Reg, Mode: 0o644, Body: body}
}

func TestCatalogAttribution(t *testing.T) {
	type story struct {
		version string
		layer   int
		events  string // "op@layer:version ..."
	}
	tests := []struct {
		name    string
		layers  [][]testimage.File
		final   map[string]story
		removed map[string]story // keyed by name@version
	}{
		{
			name: "added upgraded removed",
			layers: [][]testimage.File{
				{{Path: "etc", Type: testimage.Dir, Mode: 0o755}, pkgs("a 1\nb 1\n")},
				{pkgs("a 1\nb 2\nc 1\n")},
				{{Path: "srv/unrelated", Type: testimage.Reg, Mode: 0o644, Body: "x"}},
				{pkgs("a 1\nb 2\n")},
			},
			final: map[string]story{
				"a": {"1", 0, "added@0:1"},
				"b": {"2", 1, "added@0:1 modified@1:2"},
			},
			removed: map[string]story{
				"b@1": {"1", 0, "added@0:1 modified@1:2"},
				"c@1": {"1", 1, "added@1:1 deleted@3:1"},
			},
		},
		{
			name: "database deleted by whiteout",
			layers: [][]testimage.File{
				{{Path: "etc", Type: testimage.Dir, Mode: 0o755}, pkgs("a 1\n")},
				{{Path: "etc/pkgs", Type: testimage.Whiteout}},
			},
			final:   map[string]story{},
			removed: map[string]story{"a@1": {"1", 0, "added@0:1 deleted@1:1"}},
		},
		{
			name: "reinstalled in a later layer",
			layers: [][]testimage.File{
				{{Path: "etc", Type: testimage.Dir, Mode: 0o755}, pkgs("a 1\n")},
				{{Path: "etc", Type: testimage.Opaque}},
				{pkgs("a 1\n")},
			},
			final:   map[string]story{"a": {"1", 2, "added@0:1 deleted@1:1 added@2:1"}},
			removed: map[string]story{"a@1": {"1", 0, "added@0:1 deleted@1:1 added@2:1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ls []v1.Layer
			for _, files := range tc.layers {
				ls = append(ls, testimage.LayerFromFiles(t, files))
			}
			archive := testimage.WriteDockerArchive(t, testimage.Build(t, nil, ls, nil, nil), "attr/test:1")
			src, err := image.Open(t.Context(), "docker-archive:"+archive, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			cats := []inventory.Cataloger{listCataloger{}}
			wants := inventory.NewWants(cats)
			fsys, err := layers.Walk(t.Context(), src.Layers, layers.Options{Want: wants.Want})
			if err != nil {
				t.Fatal(err)
			}
			defer fsys.Close()
			inv, err := inventory.Catalog(t.Context(), fsys, inventory.Environment{}, cats, wants)
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Warnings) > 0 {
				t.Errorf("warnings: %v", inv.Warnings)
			}
			check := func(kind string, comps []inventory.Component, want map[string]story, key func(inventory.Component) string) {
				t.Helper()
				if len(comps) != len(want) {
					t.Errorf("%s: got %d components, want %d: %+v", kind, len(comps), len(want), comps)
				}
				for _, c := range comps {
					w, ok := want[key(c)]
					if !ok {
						t.Errorf("%s: unexpected %s@%s", kind, c.Name, c.Version)
						continue
					}
					if c.Layer == nil || c.Layer.Index != w.layer || c.Layer.DiffID != src.Layers[w.layer].Info.DiffID {
						t.Errorf("%s %s: layer %+v, want index %d with diffID %s", kind, c.Name, c.Layer, w.layer, src.Layers[w.layer].Info.DiffID)
					}
					var ev []string
					for _, e := range c.History {
						ev = append(ev, fmt.Sprintf("%s@%d:%s", e.Op, e.Layer, e.Version))
					}
					if got := strings.Join(ev, " "); got != w.events {
						t.Errorf("%s %s: history %q, want %q", kind, c.Name, got, w.events)
					}
					if c.Ref == "" {
						t.Errorf("%s %s: no Ref", kind, c.Name)
					}
				}
			}
			check("final", inv.Components, tc.final, func(c inventory.Component) string { return c.Name })
			check("removed", inv.Removed, tc.removed, func(c inventory.Component) string { return c.Name + "@" + c.Version })
		})
	}
}
