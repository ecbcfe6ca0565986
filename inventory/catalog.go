package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/vigilsec/vigil/layers"
)

// Wants combines catalogers' Wants for the layer walk and remembers, per
// cataloger, which paths it asked for, so that Catalog knows which layers can
// have changed what each cataloger sees. A Wants value serves one walk.
type Wants struct {
	cats []Cataloger

	mu    sync.Mutex
	paths []map[string]struct{} // per cataloger
}

// NewWants prepares the want function for one walk over cats.
func NewWants(cats []Cataloger) *Wants {
	w := &Wants{cats: cats, paths: make([]map[string]struct{}, len(cats))}
	for i := range w.paths {
		w.paths[i] = map[string]struct{}{}
	}
	return w
}

// Want is a layers.Options.Want function.
func (w *Wants) Want(name string, mode fs.FileMode, size int64, head []byte) bool {
	keep := false
	for i, c := range w.cats {
		if c.Wants(name, mode, size, head) {
			w.mu.Lock()
			w.paths[i][name] = struct{}{}
			w.mu.Unlock()
			keep = true
		}
	}
	return keep
}

// Catalog runs every cataloger over fsys and attributes each component to
// the layer that introduced the version the final view holds.
//
// Attribution is generic rather than per ecosystem: a cataloger is re-run on
// the view of each layer that changed one of the files it wanted, and a
// component's story is the sequence of versions it has in those views. This
// is what lets triage say "added in layer 2, replaced in layer 4" for any
// ecosystem without each cataloger knowing about layers.
//
// Cataloger failures are not fatal: a hostile or broken package file must not
// hide the rest of the image, so they become warnings. Only a cancelled
// context stops Catalog.
func Catalog(ctx context.Context, fsys layers.FS, env Environment, cats []Cataloger, wants *Wants) (*Inventory, error) {
	if len(cats) == 0 {
		return nil, ErrNoCatalogers
	}
	inv := &Inventory{Distro: env.Distro, Layers: fsys.Layers()}
	for i, c := range cats {
		var paths map[string]struct{}
		if wants != nil {
			paths = wants.paths[i]
		}
		comps, removed, warns, err := catalogOne(ctx, fsys, env, c, paths)
		if err != nil {
			return nil, err
		}
		inv.Components = append(inv.Components, comps...)
		inv.Removed = append(inv.Removed, removed...)
		inv.Warnings = append(inv.Warnings, warns...)
	}
	finish(inv.Components)
	finish(inv.Removed)
	return inv, nil
}

// catalogOne runs one cataloger on the final view and on every earlier view
// where its inputs changed, and derives each component's history.
func catalogOne(ctx context.Context, fsys layers.FS, env Environment, c Cataloger, paths map[string]struct{}) (final, removed []Component, warns []string, err error) {
	top := fsys.Top()
	catalog := func(view layers.FS) []Component {
		comps, err := c.Catalog(ctx, view, env)
		if err != nil {
			warns = append(warns, fmt.Sprintf("cataloger %s (layer %d): %v", c.Name(), view.Top(), err))
		}
		return comps
	}

	// The layers where this cataloger's inputs changed, below the top.
	var steps []int
	for p := range paths {
		for _, ch := range fsys.History(p) {
			if ch.Layer < top {
				steps = append(steps, ch.Layer)
			}
		}
	}
	slices.Sort(steps)
	steps = slices.Compact(steps)

	// A run is one stretch of layers in which a component kept one version.
	type run struct {
		comp  Component
		since int
	}
	type state struct {
		cur     run
		present bool
		events  []LayerEvent
		ended   []run // earlier runs, reported as Removed
	}
	states := map[string]*state{}
	var order []string
	apply := func(layer int, comps []Component) {
		seen := map[string]bool{}
		for _, comp := range comps {
			k := key(comp)
			if seen[k] {
				continue // a cataloger may report one package twice; the first wins
			}
			seen[k] = true
			st, ok := states[k]
			if !ok {
				st = &state{}
				states[k] = st
				order = append(order, k)
			}
			switch {
			case !st.present:
				st.events = append(st.events, LayerEvent{Layer: layer, Op: layers.Added, Version: comp.Version})
				st.cur = run{comp, layer}
			case st.cur.comp.Version != comp.Version:
				st.ended = append(st.ended, st.cur)
				st.events = append(st.events, LayerEvent{Layer: layer, Op: layers.Modified, Version: comp.Version})
				st.cur = run{comp, layer}
			default:
				st.cur.comp = comp // same version: keep the newest metadata
			}
			st.present = true
		}
		for _, k := range order {
			st := states[k]
			if st.present && !seen[k] {
				st.ended = append(st.ended, st.cur)
				st.events = append(st.events, LayerEvent{Layer: layer, Op: layers.Deleted, Version: st.cur.comp.Version})
				st.present = false
			}
		}
	}

	for _, l := range steps {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		apply(l, catalog(fsys.At(l)))
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	apply(top, catalog(fsys))

	infos := fsys.Layers()
	attribute := func(r run, events []LayerEvent) Component {
		c := r.comp
		c.History = events
		if r.since >= 0 && r.since < len(infos) {
			li := infos[r.since]
			c.Layer = &li
		}
		return c
	}
	for _, k := range order {
		st := states[k]
		for _, r := range st.ended {
			removed = append(removed, attribute(r, st.events))
		}
		if st.present {
			final = append(final, attribute(st.cur, st.events))
		}
	}
	return final, removed, warns, nil
}

// key identifies "the same package" across layer views: a version change
// keeps the key, a package at another location is another component.
func key(c Component) string {
	loc := ""
	if len(c.Locations) > 0 {
		loc = c.Locations[0]
	}
	return strings.Join([]string{c.Type, c.Namespace, c.Name, c.Arch, loc}, "\x00")
}

// finish gives every component its stable reference and sorts the list.
func finish(comps []Component) {
	for i := range comps {
		c := &comps[i]
		sum := sha256.Sum256([]byte(key(*c) + "\x00" + c.Version))
		c.Ref = "pkg-" + hex.EncodeToString(sum[:8])
	}
	slices.SortStableFunc(comps, func(a, b Component) int {
		for _, d := range [][2]string{{a.Type, b.Type}, {a.Namespace, b.Namespace}, {a.Name, b.Name}, {a.Version, b.Version}, {a.Arch, b.Arch}, {first(a.Locations), first(b.Locations)}} {
			if c := strings.Compare(d[0], d[1]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// ErrNoCatalogers is returned when Catalog is asked to run nothing.
var ErrNoCatalogers = errors.New("no catalogers selected")
