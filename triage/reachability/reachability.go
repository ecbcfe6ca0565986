// Package reachability judges findings on Go modules and the Go standard
// library by what the binary actually links. The Go vulnerability
// database names, per advisory, the packages and functions the
// vulnerable code is in (OSV ecosystem_specific.imports); the Go linker
// drops every function nothing calls, and records the name of every
// function it kept, or inlined into one it kept, in the binary's pclntab.
// A finding whose vulnerable functions are none of those is
// not_affected; one whose vulnerable functions are linked is affected,
// with the linked functions as evidence, which ranks it as reachable.
//
// This is govulncheck's binary mode (golang.org/x/vuln/internal/vulncheck
// binary.go), made to work on stripped binaries as well: govulncheck
// reads the inline trees through the symbol table and, when -s -w
// removed it, reports every vulnerability of every module as called.
// Here the names come from the pclntab's funcnametab, which stripping
// does not touch and which holds inlined functions' names too (see
// pclntab.go). As in govulncheck, "linked" is the test, not "called":
// a linked function may still never run, but one that is not linked
// cannot.
//
// A finding is left as it is — the version match stands — when the data
// names no packages for it, when it merges several advisories (the
// finding carries the imports of only one of them), when the binary is
// not in the final filesystem, and when its pclntab cannot be found or
// does not parse: an image is attacker-controlled, and a binary that hides
// its tables gets no verdict rather than a favourable one. Binaries built
// before Go 1.16 have no funcnametab; their function table is read with
// debug/gosym, which cannot show inlined functions, so such a binary can
// only make a finding affected.
//
// The provider reads the binaries the go-binary cataloger found, through
// the same layer walk: that cataloger already asked the walk to keep every
// Go executable, so the provider is not a triage.Wanter. A Go component
// comes only from that cataloger, so there is no Go finding whose binary
// the walk did not keep.
package reachability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/gobinary"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
)

// Provider is the reachability evidence provider. Its zero value is ready
// to use.
type Provider struct{}

// Name implements triage.Provider.
func (Provider) Name() string { return "reachability" }

// EvidenceKind is the kind of the evidence the provider gives.
const EvidenceKind = triage.EvidenceSymbols

// Judge implements triage.Provider. Each binary is read once per call.
// The error joins the binaries that could not be opened at all; a binary
// that opens but whose tables do not parse is not an error of the
// provider, only a finding it does not judge.
func (Provider) Judge(ctx context.Context, in *triage.Input, findings []match.Finding) ([]triage.Judgement, error) {
	if in.Inventory == nil || in.FS == nil {
		return nil, nil
	}
	comps := map[string]*inventory.Component{}
	for i := range in.Inventory.Components {
		if c := &in.Inventory.Components[i]; c.Type == "golang" && len(c.Locations) > 0 {
			comps[c.Ref] = c
		}
	}
	bins := map[string]*symbols{}
	var js []triage.Judgement
	var errs []error
	for i := range findings {
		f := &findings[i]
		c := comps[f.Component.Ref]
		if c == nil || len(f.Symbols) == 0 || triage.Final(f.Verdict) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		loc := c.Locations[0]
		syms, seen := bins[loc]
		if !seen {
			var err error
			syms, err = load(in.FS, loc)
			if err != nil {
				errs = append(errs, err)
			}
			bins[loc] = syms
		}
		if syms == nil {
			continue
		}
		if v, ok := judge(syms, loc, translation(c), f.Symbols); ok {
			js = append(js, triage.Judgement{Finding: i, Verdict: v})
		}
	}
	return js, errors.Join(errs...)
}

// load reads the symbols of the binary at loc (a path with a leading
// slash). It returns nil symbols and no error for a binary whose tables
// cannot be read, and an error only when the file itself cannot be opened.
func load(fsys layers.FS, loc string) (*symbols, error) {
	name := strings.TrimPrefix(loc, "/")
	r, size, closeFn, err := open(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("open Go binary %s: %w", loc, err)
	}
	defer closeFn()
	t, err := readTable(r, size)
	if err != nil {
		// A binary without a readable table (hostile, damaged, or of a
		// format not read here) gets no verdict; that is no failure of
		// the provider.
		return nil, nil
	}
	var mainPath, goos, goarch string
	if bi, err := gobinary.Read(r); err == nil {
		mainPath = bi.Path
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
	}
	s := newSymbols(t.names, mainPath, t.complete)
	s.goos, s.goarch = goos, goarch
	return s, nil
}

// open gives random access to the captured file name: through the layer
// walk's reader when it has ReadAt, else through the private local copy.
func open(fsys layers.FS, name string) (io.ReaderAt, int64, func() error, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	if ra, ok := f.(io.ReaderAt); ok {
		return ra, info.Size(), f.Close, nil
	}
	f.Close()
	local, err := fsys.LocalPath(name)
	if err != nil {
		return nil, 0, nil, err
	}
	lf, err := os.Open(local)
	if err != nil {
		return nil, 0, nil, err
	}
	return lf, info.Size(), lf.Close, nil
}

// translation returns, for a component that a replace directive swapped
// in, a function that maps an import path of the module that was linked
// (as the advisory names it) to the path its code is compiled under (the
// replaced module's): the binary names functions by the import path the
// program used. It is the identity otherwise.
func translation(c *inventory.Component) func(string) string {
	orig, _, ok := strings.Cut(c.Metadata[gobinary.MetaReplaces], "@")
	if !ok || c.Metadata[gobinary.MetaReplaceDir] != "" {
		return func(p string) string { return p }
	}
	linked := c.Name
	if c.Namespace != "" {
		linked = c.Namespace + "/" + c.Name
	}
	return func(p string) string {
		if rest, ok := strings.CutPrefix(p, linked); ok && (rest == "" || rest[0] == '/') {
			return orig + rest
		}
		return p
	}
}

// judge decides a finding from the symbols of its binary at loc. ok is
// false when the symbols cannot decide it.
func judge(s *symbols, loc string, path func(string) string, imports []vulndb.Import) (v vex.Verdict, ok bool) {
	var (
		linked  []string // vulnerable functions the binary has
		wanted  []string // every vulnerable function looked for
		pkgsIn  []string // vulnerable packages of which something is linked
		skipped []string // imports for other platforms
	)
	for _, im := range imports {
		if !platform(s.goos, im.GOOS) || !platform(s.goarch, im.GOARCH) {
			skipped = append(skipped, im.Path)
			continue
		}
		p := path(im.Path)
		if s.pkgLinked(p) {
			pkgsIn = append(pkgsIn, p)
		}
		if len(im.Symbols) == 0 {
			wanted = append(wanted, p+" (any function)")
			if s.pkgLinked(p) {
				linked = append(linked, p+" (whole package)")
			}
			continue
		}
		for _, sym := range im.Symbols {
			wanted = append(wanted, p+"."+sym)
			if s.linked(p, sym) {
				linked = append(linked, p+"."+sym)
			}
		}
	}
	ev := func(detail string) []vex.Evidence {
		return []vex.Evidence{{Kind: EvidenceKind, Location: loc, Detail: detail}}
	}
	switch {
	case len(linked) > 0:
		return vex.Verdict{
			Status:   vex.Affected,
			Impact:   fmt.Sprintf("%s links the vulnerable code: %s.", loc, strings.Join(linked, ", ")),
			Evidence: ev("linked vulnerable functions: " + strings.Join(linked, ", ")),
		}, true
	case len(wanted) == 0:
		// Every import is for other platforms: the vulnerable code is
		// not compiled for this one.
		return vex.Verdict{
			Status:        vex.NotAffected,
			Justification: vex.VulnerableCodeNotPresent,
			Impact:        fmt.Sprintf("The vulnerable code is only in builds for other platforms than %s's %s/%s.", loc, s.goos, s.goarch),
			Evidence:      ev(fmt.Sprintf("binary built for %s/%s; vulnerable packages %s are vulnerable only for other GOOS/GOARCH", s.goos, s.goarch, strings.Join(skipped, ", "))),
		}, true
	case !s.complete:
		return vex.Verdict{}, false
	}
	detail := fmt.Sprintf("looked for %s among the %d function names (inlined ones included) of the binary's pclntab: none is there", strings.Join(wanted, ", "), s.names)
	if len(pkgsIn) == 0 {
		// The linker dropped every function of the vulnerable packages:
		// none of their code is in the binary at all.
		return vex.Verdict{
			Status:        vex.NotAffected,
			Justification: vex.VulnerableCodeNotPresent,
			Impact:        fmt.Sprintf("%s links no function of the vulnerable package.", loc),
			Evidence:      ev(detail),
		}, true
	}
	// Some of the package is linked, not the vulnerable functions: they
	// cannot be called from this binary.
	slices.Sort(pkgsIn)
	return vex.Verdict{
		Status:        vex.NotAffected,
		Justification: vex.VulnerableCodeNotInExecutePath,
		Impact:        fmt.Sprintf("%s links %s but none of the vulnerable functions.", loc, strings.Join(slices.Compact(pkgsIn), ", ")),
		Evidence:      ev(detail),
	}, true
}

// platform reports whether a binary built for have is among the platforms
// of an import: an empty list is every platform, and an unknown have
// matches any (golang.org/x/vuln matchesPlatformComponent).
func platform(have string, list []string) bool {
	return have == "" || len(list) == 0 || slices.Contains(list, have)
}
