// Package scan runs Vigil's image pipeline for the commands: acquire the
// image, walk its layers exactly once, build the inventory, match it against
// vulnerability data and run the hygiene checks. Every stage plugs in here so
// that all of them read the image through the same single walk.
package scan

import (
	"context"
	"fmt"
	"io/fs"

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
	// the configuration checks.
	Workloads []workload.Workload
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
	lopts := opts.Layers
	lopts.Want = func(name string, mode fs.FileMode, size int64, head []byte) bool {
		// Evaluate every consumer: Wants records what each cataloger asked for.
		keep := wants.Want(name, mode, size, head)
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
