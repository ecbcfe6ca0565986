// Package supersede judges findings on packages that some layer installed
// and a later layer replaced or deleted: the vulnerable version is in the
// image's history but not in the container that runs. Such findings are not
// dropped; they are not_affected / component_not_present, with the layer
// story as evidence ("added in layer 2 by `RUN …`, replaced in layer 4").
//
// Where the bytes went matters for other questions (a secret a later layer
// deleted still ships in the earlier layer's tar, and the hygiene checks say
// so), but a package that is not in the final filesystem cannot run.
package supersede

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
)

// Provider is the supersession evidence provider.
type Provider struct{}

// Name implements triage.Provider.
func (Provider) Name() string { return "supersede" }

// JudgesRemoved implements triage.RemovedJudge: the pipeline matches the
// removed components for this provider to judge.
func (Provider) JudgesRemoved() bool { return true }

// Judge implements triage.Provider: a finding whose component is among the
// inventory's Removed (and not also in the final view) is not present.
func (Provider) Judge(_ context.Context, in *triage.Input, findings []match.Finding) ([]triage.Judgement, error) {
	if in.Inventory == nil || len(in.Inventory.Removed) == 0 {
		return nil, nil
	}
	final := map[string]bool{}
	for i := range in.Inventory.Components {
		final[in.Inventory.Components[i].Ref] = true
	}
	removed := map[string]*inventory.Component{}
	for i := range in.Inventory.Removed {
		c := &in.Inventory.Removed[i]
		if !final[c.Ref] {
			removed[c.Ref] = c
		}
	}
	var js []triage.Judgement
	for i := range findings {
		f := &findings[i]
		c := removed[f.Component.Ref]
		if c == nil || triage.Final(f.Verdict) {
			continue
		}
		story := Story(c, in.Inventory.Layers)
		loc := ""
		if c.Layer != nil {
			loc = cmp.Or(c.Layer.DiffID, "#"+strconv.Itoa(c.Layer.Index))
		}
		js = append(js, triage.Judgement{Finding: i, Verdict: vex.Verdict{
			Status:        vex.NotAffected,
			Justification: vex.ComponentNotPresent,
			Impact:        fmt.Sprintf("%s %s is not in the final image: %s.", c.Name, c.Version, story),
			Evidence:      []vex.Evidence{{Kind: "layer", Location: loc, Detail: story}},
		}})
	}
	return js, nil
}

// Story tells a component's life across the image's layers, for this
// version: where it came in, and what a later layer did to it.
func Story(c *inventory.Component, infos []layers.Info) string {
	var parts []string
	for i, e := range c.History {
		var verb string
		switch e.Op {
		case layers.Added:
			verb = "added " + e.Version
		case layers.Modified:
			prev := ""
			if i > 0 {
				prev = c.History[i-1].Version
			}
			if prev != "" && prev != e.Version {
				verb = "replaced " + prev + " by " + e.Version
			} else {
				verb = "changed to " + e.Version
			}
		case layers.Deleted:
			verb = "removed " + e.Version
		default:
			continue
		}
		parts = append(parts, verb+" in "+layerPhrase(e.Layer, infos))
	}
	if len(parts) == 0 {
		return "no layer history"
	}
	return strings.Join(parts, ", ")
}

// layerPhrase names a layer with the command that made it: "layer 2 by
// `RUN apt-get install -y curl`". Long commands are cut: a story is a line.
func layerPhrase(i int, infos []layers.Info) string {
	s := "layer " + strconv.Itoa(i)
	if i >= 0 && i < len(infos) {
		if cb := strings.Join(strings.Fields(infos[i].CreatedBy), " "); cb != "" {
			cb = strings.TrimPrefix(cb, "/bin/sh -c ")
			cb = strings.TrimPrefix(cb, "#(nop) ")
			if r := []rune(cb); len(r) > 80 {
				cb = string(r[:79]) + "…"
			}
			s += " by `" + cb + "`"
		}
	}
	return s
}
