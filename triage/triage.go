// Package triage decides which vulnerability findings are true of the image
// as it will run. A version match says a package *could* be vulnerable;
// triage looks for the facts that say otherwise — a fix backported into an
// older version string, a package a later layer replaced, vulnerable Go
// code the binary never linked, a network-only bug in a container without a
// network, or a VEX statement the user supplied — and records each as a
// vex.Verdict with its evidence. Nothing is dropped: a suppressed finding
// keeps its verdict, and every output format shows it.
//
// Each kind of evidence is one Provider in a sub-package (triage/backport,
// triage/supersede, triage/reachability, triage/deploy, triage/vexin); Run
// asks them in order and the first suppressing verdict a finding gets
// stands, so a VEX document the user wrote, placed first, overrides what
// Vigil inferred. A verdict that confirms a finding (affected: "the
// vulnerable function is linked") gives way to a later provider's
// suppressing one (the container has no network), unless a user's VEX said it.
package triage

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/workload"
)

// Input is what providers may look at.
type Input struct {
	// Image says what was scanned: its name picks the deployment files'
	// workloads that run it.
	Image image.Info
	// FS is the final filesystem view of the image; At gives earlier ones.
	// Only files some stage asked the walk to keep can be read: a provider
	// that reads files implements Wanter.
	FS        layers.FS
	Inventory *inventory.Inventory
	// Config is the image's config file; nil for a dir: source.
	Config *v1.ConfigFile
	// Workloads say how the image is deployed (--context files); empty
	// when the user gave none.
	Workloads []workload.Workload
}

// Provider judges findings from one kind of evidence.
type Provider interface {
	// Name is short and stable ("backport"); verdicts say By "triage/"+Name.
	Name() string
	// Judge returns verdicts for the findings it has evidence about.
	// Findings whose verdict is final (Final reports it) may be skipped.
	Judge(ctx context.Context, in *Input, findings []match.Finding) ([]Judgement, error)
}

// Wanter is implemented by providers that read file contents: the layer
// walk keeps a file when any Wanter (or cataloger) wants it. It is called for
// every regular file of every layer, so it must be cheap.
type Wanter interface {
	Wants(name string, mode fs.FileMode, size int64, head []byte) bool
}

// RemovedJudge is implemented by providers that judge the findings of
// components a later layer replaced or removed (inventory.Removed). The
// pipeline matches those components only when such a provider runs: without
// one, their findings would read as true of an image that no longer holds them.
type RemovedJudge interface {
	JudgesRemoved() bool
}

// EvidenceSymbols is the evidence kind of the reachability provider: the
// vulnerable functions it found linked, or looked for in vain. Ranking reads
// an affected verdict with it as "reachable".
const EvidenceSymbols = "symbols"

// Judgement is a provider's verdict on one finding.
type Judgement struct {
	// Finding is the index of the finding in the slice given to Judge.
	Finding int
	Verdict vex.Verdict
}

// Stats say what triage did: per provider, how many findings it judged,
// how long it took, and what it could not do.
type Stats struct {
	Providers []ProviderStats `json:"providers"`
	// Warnings are providers' failures; triage goes on without them.
	Warnings []string `json:"warnings,omitempty"`
	// Elapsed is the whole of triage's time in the scan, set by the
	// pipeline: the providers, and matching the removed components.
	Elapsed time.Duration `json:"elapsedNs"`
}

// ProviderStats is one provider's share of a Run.
type ProviderStats struct {
	Name    string        `json:"name"`
	Judged  int           `json:"judged"`
	Elapsed time.Duration `json:"elapsedNs"`
}

// Run asks every provider in turn and sets the verdict of each finding that
// has none yet. A provider's failure is a warning, not an error: one broken
// piece of evidence must not hide the others. Only a cancelled ctx stops Run.
func Run(ctx context.Context, in *Input, findings []match.Finding, providers []Provider) (Stats, error) {
	var st Stats
	for _, p := range providers {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		start := time.Now()
		js, err := p.Judge(ctx, in, findings)
		ps := ProviderStats{Name: p.Name()}
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			st.Warnings = append(st.Warnings, fmt.Sprintf("triage %s: %v", p.Name(), err))
		}
		for _, j := range js {
			if j.Finding < 0 || j.Finding >= len(findings) {
				continue
			}
			v := j.Verdict
			if old := findings[j.Finding].Verdict; old != nil && (Final(old) || !v.Suppressed()) {
				continue
			}
			if v.By == "" {
				v.By = "triage/" + p.Name()
			}
			findings[j.Finding].Verdict = &v
			ps.Judged++
		}
		ps.Elapsed = time.Since(start)
		st.Providers = append(st.Providers, ps)
	}
	return st, nil
}

// Final reports whether a verdict can no longer change: it suppresses the
// finding, or a user's VEX document made it.
func Final(v *vex.Verdict) bool {
	return v != nil && (v.Suppressed() || strings.HasPrefix(v.By, "vex:"))
}

// Wants combines the Wanters among providers into one want function for
// the walk; nil when none reads files.
func Wants(providers []Provider) func(name string, mode fs.FileMode, size int64, head []byte) bool {
	var ws []Wanter
	for _, p := range providers {
		if w, ok := p.(Wanter); ok {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return nil
	}
	return func(name string, mode fs.FileMode, size int64, head []byte) bool {
		keep := false
		for _, w := range ws {
			keep = w.Wants(name, mode, size, head) || keep
		}
		return keep
	}
}
