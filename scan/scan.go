// Package scan runs Vigil's image pipeline for the commands: acquire the
// image, walk its layers exactly once, build the inventory, match it against
// vulnerability data and run the hygiene checks. Every stage plugs in here so
// that all of them read the image through the same single walk.
package scan

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/apk"
	"github.com/vigilsec/vigil/inventory/dpkg"
	"github.com/vigilsec/vigil/inventory/gobinary"
	"github.com/vigilsec/vigil/inventory/java"
	"github.com/vigilsec/vigil/inventory/npm"
	"github.com/vigilsec/vigil/inventory/osrelease"
	"github.com/vigilsec/vigil/inventory/python"
	"github.com/vigilsec/vigil/inventory/rpm"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/triage/backport"
	"github.com/vigilsec/vigil/triage/deploy"
	"github.com/vigilsec/vigil/triage/reachability"
	"github.com/vigilsec/vigil/triage/supersede"
	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/workload"
)

// Catalogers returns the default catalogers, one per ecosystem.
func Catalogers() []inventory.Cataloger {
	return []inventory.Cataloger{
		dpkg.Cataloger{}, apk.Cataloger{}, rpm.Cataloger{},
		gobinary.Cataloger{}, python.Cataloger{}, npm.Cataloger{}, java.Cataloger{},
	}
}

// Triage returns the default triage providers, after first: the VEX
// documents a user supplies go first, so their statements override what
// Vigil infers. The order of the rest matters only between suppressing
// verdicts: a package a later layer removed is not present, whatever its
// changelog or symbols say.
func Triage(first ...triage.Provider) []triage.Provider {
	return append(first, supersede.Provider{}, backport.Provider{}, reachability.Provider{}, deploy.Provider{})
}

// Options configure one run of the pipeline.
type Options struct {
	Image image.Options
	// Layers configures the walk: limits, temp dir, progress and warnings.
	// Want is set by the pipeline.
	Layers layers.Options
	// Catalogers to run; nil means Catalogers().
	Catalogers []inventory.Cataloger
	// DB, when set, matches the inventory against vulnerability data.
	DB *vulndb.DB
	// Checks are the hygiene checks to run. Those that read file contents
	// see every file of every layer as the walk streams it.
	Checks []hygiene.Check
	// Workloads say how the image is deployed (from --context files), for
	// triage and the configuration checks.
	Workloads []workload.Workload
	// Triage providers judge the findings, in order (see triage.Run for
	// which verdict stands); they run only when DB is set. Providers that
	// read files take part in the walk's choice of what to keep.
	Triage []triage.Provider
	// Status, when set, is told what the pipeline is doing now.
	Status func(msg string)
}

// Result is what a run found. Close it to release the walk's temporary files.
type Result struct {
	Source    *image.Source
	Inventory *inventory.Inventory
	// FS is the final filesystem view, for later stages.
	FS layers.FS
	// Findings and MatchStats are set when Options.DB was.
	Findings   []match.Finding
	MatchStats *match.Stats
	// Triage says what the providers judged, and Context how the image is
	// deployed, when Options.Triage was set.
	Triage  *triage.Stats
	Context *deploy.Summary
	// Issues are what the hygiene checks found.
	Issues []hygiene.Issue
}

// Close releases the walk's and the source's temporary storage.
func (r *Result) Close() error {
	var err error
	if r.FS != nil {
		err = r.FS.Close()
	}
	if r.Source != nil {
		if e := r.Source.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Run acquires ref, walks it and builds its inventory.
func Run(ctx context.Context, ref string, opts Options) (*Result, error) {
	cats := opts.Catalogers
	if cats == nil {
		cats = Catalogers()
	}
	src, err := image.Open(ctx, ref, opts.Image)
	if err != nil {
		return nil, err
	}
	res := &Result{Source: src}

	wants := inventory.NewWants(cats)
	triageWants := triage.Wants(opts.Triage)
	lopts := opts.Layers
	lopts.Want = func(name string, mode fs.FileMode, size int64, head []byte) bool {
		// Evaluate every consumer: Wants records what each cataloger asked for.
		keep := wants.Want(name, mode, size, head)
		if triageWants != nil && triageWants(name, mode, size, head) {
			keep = true
		}
		return osrelease.Wants(name) || keep
	}
	lopts.Observe = hygiene.Observe(opts.Checks)
	if src.Dir != "" {
		res.FS, err = layers.FromDir(src.Dir, lopts)
	} else {
		res.FS, err = layers.Walk(ctx, src.Layers, lopts)
	}
	if err != nil {
		res.Close()
		return nil, fmt.Errorf("walk %s: %w", ref, err)
	}

	status := opts.Status
	if status == nil {
		status = func(string) {}
	}
	status("cataloging packages")
	distro, err := osrelease.Detect(res.FS)
	if err != nil && lopts.Warn != nil {
		lopts.Warn(fmt.Errorf("detect OS: %w", err))
	}
	inv, err := inventory.Catalog(ctx, res.FS, inventory.Environment{Distro: distro}, cats, wants)
	if err != nil {
		res.Close()
		return nil, err
	}
	inv.Source = src.Info
	res.Inventory = inv

	if opts.DB != nil {
		status("matching vulnerabilities")
		findings, stats, err := match.Match(ctx, opts.DB, inv, match.Options{})
		if err != nil {
			res.Close()
			return nil, fmt.Errorf("match %s: %w", ref, err)
		}
		res.Findings, res.MatchStats = findings, &stats
		if len(opts.Triage) > 0 {
			status("triaging findings")
			if err := res.triage(ctx, opts); err != nil {
				res.Close()
				return nil, fmt.Errorf("triage %s: %w", ref, err)
			}
		}
	}

	if len(opts.Checks) > 0 {
		status("checking image hygiene")
		in := &hygiene.Input{Source: src, FS: res.FS, Inventory: inv, Findings: res.Findings, Workloads: opts.Workloads}
		for _, c := range opts.Checks {
			issues, err := c.Run(ctx, in)
			if err != nil {
				if ctx.Err() != nil {
					res.Close()
					return nil, ctx.Err()
				}
				// One broken check must not hide what the others found.
				inv.Warnings = append(inv.Warnings, fmt.Sprintf("hygiene check %s: %v", c.Name(), err))
			}
			res.Issues = append(res.Issues, issues...)
		}
	}
	return res, nil
}

// triage judges the findings. Components a later layer replaced or removed
// are matched too when a provider judges them, so that their findings can be
// shown as not present (with the layer story) instead of vanishing without a
// word.
func (r *Result) triage(ctx context.Context, opts Options) error {
	start := time.Now()
	if gone := r.removed(opts.Triage); len(gone.Components) > 0 {
		removed, _, err := match.Match(ctx, opts.DB, gone, match.Options{})
		if err != nil {
			return fmt.Errorf("match removed components: %w", err)
		}
		r.Findings = append(r.Findings, removed...)
	}
	in := &triage.Input{Image: r.Source.Info, FS: r.FS, Inventory: r.Inventory, Config: r.Source.Config, Workloads: opts.Workloads}
	st, err := triage.Run(ctx, in, r.Findings, opts.Triage)
	if err != nil {
		return err
	}
	r.Inventory.Warnings = append(r.Inventory.Warnings, st.Warnings...)
	summary := deploy.Summarize(in)
	r.Context = &summary
	triage.Rank(r.Findings, summary.Exposed())
	st.Elapsed = time.Since(start)
	r.Triage = &st
	return nil
}

// removed is the inventory of the components a later layer replaced or
// removed, when one of providers judges such components; without one their
// findings would read as true. A component that is also in the final view
// (deleted, then put back at the same version) is not removed.
func (r *Result) removed(providers []triage.Provider) *inventory.Inventory {
	gone := &inventory.Inventory{Distro: r.Inventory.Distro, Layers: r.Inventory.Layers}
	if !slices.ContainsFunc(providers, func(p triage.Provider) bool {
		j, ok := p.(triage.RemovedJudge)
		return ok && j.JudgesRemoved()
	}) {
		return gone
	}
	final := make(map[string]bool, len(r.Inventory.Components))
	for i := range r.Inventory.Components {
		final[r.Inventory.Components[i].Ref] = true
	}
	for _, c := range r.Inventory.Removed {
		if !final[c.Ref] {
			gone.Components = append(gone.Components, c)
		}
	}
	return gone
}
