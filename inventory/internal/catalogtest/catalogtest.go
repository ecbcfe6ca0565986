// Package catalogtest holds the checks every cataloger's tests share: run a
// cataloger over a root filesystem directory, and check that streaming the
// same tree as an image layer, keeping only what Wants asks for, gives the
// same components — which proves Wants captures everything Catalog reads.
package catalogtest

import (
	"reflect"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

// Dir runs c over the root filesystem in dir.
func Dir(t testing.TB, c inventory.Cataloger, dir string, env inventory.Environment) ([]inventory.Component, error) {
	t.Helper()
	fsys, err := layers.FromDir(dir, layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return c.Catalog(t.Context(), fsys, env)
}

// ThroughWalk checks that c finds in dir streamed as a layer exactly what it
// finds in the directory itself.
func ThroughWalk(t *testing.T, c inventory.Cataloger, dir string, env inventory.Environment) {
	t.Helper()
	want, err := Dir(t, c, dir, env)
	if err != nil {
		t.Fatal(err)
	}
	l := testimage.LayerFromDir(t, dir)
	fsys, err := layers.Walk(t.Context(), []layers.Blob{{Open: l.Compressed}}, layers.Options{Want: c.Wants})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	got, err := c.Catalog(t.Context(), fsys, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatalf("%s finds nothing in %s: the comparison would prove nothing", c.Name(), dir)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: Catalog through Walk differs from Catalog over the directory %s", c.Name(), dir)
	}
}
