// Package backport judges findings on distribution packages whose fix was
// backported: the distribution patched the version it ships instead of
// moving to the upstream release the vulnerability data names as fixed, or
// fixed it after the data was taken. The package's own changelog says so,
// and this provider reads it: a finding is fixed when a CVE it is about is
// named in a changelog entry at or below the installed version, and that
// entry does not revert the fix.
//
// Debian and its derivatives ship each binary package's changelog as
// /usr/share/doc/<package>/changelog.Debian.gz (changelog.gz for native
// packages), with entries headed by source package versions, which is what
// findings on deb packages compare. Images built with dpkg path exclusions
// (debian:*-slim keeps no /usr/share/doc) carry none, and their findings
// stay unjudged. Alpine packages ship no changelog at all, so apk findings
// are never judged here. RPM keeps its changelog in the rpm database
// header, which the rpm cataloger does not read yet.
package backport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	debversion "github.com/knqyf263/go-deb-version"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
)

const docDir = "usr/share/doc/"

// changelogNames are the names a package's Debian changelog has in its
// doc directory, preferred first: changelog.gz is the Debian changelog only
// of native packages, and upstream's own otherwise.
var changelogNames = []string{"changelog.Debian.gz", "changelog.gz"}

// Provider is the backported-fix evidence provider. The zero value is
// ready to use.
type Provider struct{}

var (
	_ triage.Provider = Provider{}
	_ triage.Wanter   = Provider{}
)

// Name implements triage.Provider.
func (Provider) Name() string { return "backport" }

// Wants implements triage.Wanter: the changelogs directly in a package's
// doc directory, usr/share/doc/<package>/changelog.Debian.gz or
// changelog.gz.
func (Provider) Wants(name string, _ fs.FileMode, _ int64, _ []byte) bool {
	return changelogRank(name) >= 0
}

// changelogRank is the index in changelogNames of name's base when name
// is usr/share/doc/<package>/<base>, or -1.
func changelogRank(name string) int {
	rest, ok := strings.CutPrefix(name, docDir)
	if !ok {
		return -1
	}
	pkg, base, ok := strings.Cut(rest, "/")
	if !ok || pkg == "" || pkg == "." || pkg == ".." || strings.Contains(base, "/") {
		return -1
	}
	return slices.Index(changelogNames, base)
}

// Judge implements triage.Provider. It reads the changelogs of the deb
// packages that have findings, each once. Changelogs that cannot be read
// are reported in the error, joined, along with the verdicts of the rest.
func (Provider) Judge(ctx context.Context, in *triage.Input, findings []match.Finding) ([]triage.Judgement, error) {
	if in.Inventory == nil || in.FS == nil {
		return nil, nil
	}
	j := newJudge(in.FS, in.Inventory, findings)
	var js []triage.Judgement
	for i := range findings {
		if err := ctx.Err(); err != nil {
			return js, err
		}
		if v := j.judge(&findings[i]); v != nil {
			js = append(js, triage.Judgement{Finding: i, Verdict: *v})
		}
	}
	return js, errors.Join(j.errs...)
}

// judge holds what one Judge call has read.
type judge struct {
	fsys   fs.FS
	byRef  map[string]*inventory.Component
	bySrc  map[string][]*inventory.Component
	wanted map[string]bool
	// files caches parsed changelogs by path; nil for one that could not
	// be read. found caches, per component ref, the changelog chosen, and
	// looked what a changelog says of a CVE at a version: binary packages
	// of one source share both, and a crafted changelog can make one
	// lookup long.
	files  map[string]*changelog
	found  map[string]string
	looked map[lookupKey]looked
	errs   []error
}

type lookupKey struct{ file, id, installed string }

type looked struct {
	fix   fix
	state state
}

func newJudge(fsys fs.FS, inv *inventory.Inventory, findings []match.Finding) *judge {
	j := &judge{
		fsys:   fsys,
		byRef:  map[string]*inventory.Component{},
		bySrc:  map[string][]*inventory.Component{},
		wanted: map[string]bool{},
		files:  map[string]*changelog{},
		found:  map[string]string{},
		looked: map[lookupKey]looked{},
	}
	// Only the final view's packages: a removed one's files are gone.
	for i := range inv.Components {
		c := &inv.Components[i]
		if c.Type != "deb" {
			continue
		}
		j.byRef[c.Ref] = c
		if c.Source != nil {
			j.bySrc[c.Source.Name] = append(j.bySrc[c.Source.Name], c)
		}
	}
	// Keep only the CVEs some finding asks about: a changelog names
	// hundreds, and a crafted one millions.
	for i := range findings {
		if f := &findings[i]; eligible(f) {
			ids, _ := cves(f)
			for _, id := range ids {
				j.wanted[id] = true
			}
		}
	}
	return j
}

// eligible reports whether f is a deb finding still open to a verdict.
func eligible(f *match.Finding) bool {
	return f.Component.Type == "deb" && !triage.Final(f.Verdict)
}

// cves returns the CVE ids a finding is about and whether all of them must
// be fixed: its id or aliases, any one of which names the vulnerability,
// or, for a distribution advisory (DSA, DLA), the CVEs it fixes (Related),
// every one of which must be.
func cves(f *match.Finding) (ids []string, all bool) {
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		if isCVE(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return ids, false
	}
	for _, id := range f.Related {
		if isCVE(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, true
}

func isCVE(id string) bool {
	return strings.HasPrefix(id, "CVE-")
}

// judge returns the verdict on f, or nil when its changelog does not show
// it fixed.
func (j *judge) judge(f *match.Finding) *vex.Verdict {
	if !eligible(f) {
		return nil
	}
	ids, all := cves(f)
	c := j.byRef[f.Component.Ref]
	if len(ids) == 0 || c == nil {
		return nil
	}
	installed, err := debversion.NewVersion(f.InstalledVersion)
	if err != nil {
		return nil // the matcher could not have compared it either
	}
	name := j.changelogOf(c)
	cl := j.files[name]
	if cl == nil {
		return nil
	}
	var fixes []fix
	for _, id := range ids {
		key := lookupKey{name, id, f.InstalledVersion}
		l, ok := j.looked[key]
		if !ok {
			l.fix, l.state = cl.lookup(id, installed)
			j.looked[key] = l
		}
		fx, state := l.fix, l.state
		switch {
		case state == reverted:
			// However the finding is named, a revert of any of its
			// ids leaves it open.
			return nil
		case state == named:
			fixes = append(fixes, fx)
		case all:
			return nil
		}
	}
	if len(fixes) == 0 {
		return nil
	}
	if !all {
		fixes = fixes[:1]
	}
	v := &vex.Verdict{Status: vex.Fixed, Impact: impact(c, f, fixes)}
	for _, fx := range fixes {
		v.Evidence = append(v.Evidence, vex.Evidence{
			Kind:     "changelog",
			Location: "/" + name,
			Detail:   fx.entry.header + ": " + quote(fx.item.text, fx.id),
		})
	}
	return v
}

// impact says in a sentence why the finding is fixed.
func impact(c *inventory.Component, f *match.Finding, fixes []fix) string {
	var parts []string
	for _, fx := range fixes {
		parts = append(parts, fx.id+" as fixed in "+fx.entry.version.String())
	}
	src := c.Name
	if c.Source != nil {
		src = c.Source.Name
	}
	return fmt.Sprintf("The changelog of %s names %s, at or below the installed version %s of %s, so the installed package carries the fix.",
		c.Name, strings.Join(parts, " and "), f.InstalledVersion, src)
}

// changelogOf returns the path of the changelog to read for c, "" when it
// has none, parsing it into j.files on first use. Candidates, in order:
// the changelogs dpkg lists among c's files; those of the other packages
// built from the same source (a doc directory may be a symbolic link to a
// sibling's, and dpkg then lists none for c), same version first; then the
// conventional paths for c and those siblings, for package databases
// without file lists. The first one that can be read is chosen.
func (j *judge) changelogOf(c *inventory.Component) string {
	if name, ok := j.found[c.Ref]; ok {
		return name
	}
	pkgs := []*inventory.Component{c}
	if c.Source != nil {
		sibs := slices.Clone(j.bySrc[c.Source.Name])
		// Same version first; stable, so inventory order breaks ties.
		slices.SortStableFunc(sibs, func(a, b *inventory.Component) int {
			return boolRank(a.Source.Version != c.Source.Version) - boolRank(b.Source.Version != c.Source.Version)
		})
		for _, s := range sibs {
			if s != c {
				pkgs = append(pkgs, s)
			}
		}
	}
	var candidates []string
	for _, p := range pkgs {
		candidates = append(candidates, listed(p)...)
	}
	for _, p := range pkgs {
		for _, base := range changelogNames {
			// A package name from a crafted database must not lead out
			// of the doc directory.
			if name := docDir + p.Name + "/" + base; changelogRank(name) >= 0 {
				candidates = append(candidates, name)
			}
		}
	}
	name := ""
	for _, cand := range candidates {
		if j.read(cand) {
			name = cand
			break
		}
	}
	j.found[c.Ref] = name
	return name
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// listed returns the changelogs among c's files, as unrooted paths,
// changelog.Debian.gz before changelog.gz.
func listed(c *inventory.Component) []string {
	var out []string
	for rank := range changelogNames {
		for _, f := range c.Files {
			if name := strings.TrimPrefix(f.Path, "/"); changelogRank(name) == rank {
				out = append(out, name)
			}
		}
	}
	return out
}

// read parses the changelog name into j.files unless it was tried before,
// and reports whether it is usable. A missing file is silently unusable;
// any other failure is recorded in j.errs.
func (j *judge) read(name string) bool {
	if cl, ok := j.files[name]; ok {
		return cl != nil
	}
	cl, err := readChangelog(j.fsys, name, func(id string) bool { return j.wanted[id] })
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		j.errs = append(j.errs, err)
	}
	j.files[name] = cl
	return cl != nil
}
