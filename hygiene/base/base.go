// Package base judges the base an image is built on: whether its
// distribution release is out of security support (from a shipped table of
// release dates with their sources), and how stale the base layers are,
// counted in the vulnerability findings a rebuild on the current base would
// fix. The advice for both is the same: rebuild the image, don't patch the
// running container.
package base

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
)

// Rule ids.
const (
	RuleEOL      = "vigil/eol-base"
	RuleOutdated = "vigil/outdated-base"
)

// DefaultMaxAge is how old a base layer may be before it is reported even
// without fixable findings: distributions publish security updates every
// few weeks, so a base older than this has missed some.
const DefaultMaxAge = 90 * 24 * time.Hour

// soon is how close to the end of security support a release is reported
// (at Info) while still supported.
const soon = 90 * 24 * time.Hour

// Options configure the check.
type Options struct {
	// MaxAge: zero means DefaultMaxAge.
	MaxAge time.Duration
	// Now is today; nil means time.Now. Tests set it.
	Now func() time.Time
	// Releases replaces the shipped table when set.
	Releases []Release
}

// Check judges the base.
type Check struct{ opts Options }

// New returns a base check.
func New(opts Options) *Check {
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Releases == nil {
		opts.Releases = Releases
	}
	return &Check{opts: opts}
}

// Name implements hygiene.Check.
func (c *Check) Name() string { return "base" }

const remediation = "Rebuild the image on a supported, current base image (update the FROM line and rebuild " +
	"regularly) rather than patching running containers: a rebuild picks up every security update at once."

// Run implements hygiene.Check.
func (c *Check) Run(ctx context.Context, in *hygiene.Input) ([]hygiene.Issue, error) {
	now := c.opts.Now()
	var infos []layers.Info
	if in.FS != nil {
		infos = in.FS.Layers()
	}
	base := baseLayers(infos)
	var issues []hygiene.Issue
	if in.Inventory != nil && in.Inventory.Distro != nil {
		if is, ok := c.eol(in.Inventory.Distro, now, infos, base); ok {
			issues = append(issues, is)
		}
	}
	if is, ok := c.outdated(in.Findings, now, infos, base); ok {
		issues = append(issues, is)
	}
	return issues, nil
}

// baseLayers returns the indexes of the layers that came from the base
// image: those the image package marked (from history, as Trivy does), else
// the bottom layer, which always comes from the base (single-layer
// distribution images, or a history that does not say).
func baseLayers(infos []layers.Info) []int {
	var out []int
	for _, l := range infos {
		if l.Base {
			out = append(out, l.Index)
		}
	}
	if len(out) == 0 && len(infos) > 0 {
		out = []int{0}
	}
	return out
}

// Lookup finds distro's release in the table: by VERSION_ID, then its
// first two and first one dot-separated parts ("3.19.1" → "3.19").
func Lookup(table []Release, d *inventory.Distro) (Release, bool) {
	parts := strings.Split(d.VersionID, ".")
	for n := len(parts); n > 0; n-- {
		v := strings.Join(parts[:n], ".")
		for _, r := range table {
			if r.Distro == d.ID && r.Version == v {
				return r, true
			}
		}
	}
	return Release{}, false
}

func (c *Check) eol(d *inventory.Distro, now time.Time, infos []layers.Info, base []int) (hygiene.Issue, bool) {
	r, ok := Lookup(c.opts.Releases, d)
	if !ok {
		return hygiene.Issue{}, false
	}
	is := hygiene.Issue{
		Rule:        RuleEOL,
		Path:        "/etc/os-release",
		Layer:       hygiene.LayerInfo(infos, topOf(base)),
		Evidence:    fmt.Sprintf("%s %s", d.ID, d.VersionID),
		Remediation: remediation,
		References:  []string{r.Source},
	}
	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	switch {
	case now.Before(r.Security):
		if r.Security.Sub(now) > soon {
			return hygiene.Issue{}, false
		}
		is.Severity = hygiene.Info
		is.Title = fmt.Sprintf("%s leaves security support on %s", r.Name, date(r.Security))
		is.Message = fmt.Sprintf("The base is %s, whose security support ends on %s. Plan the move to a newer release.", r.Name, date(r.Security))
	case !r.Extended.IsZero() && now.Before(r.Extended):
		is.Severity = hygiene.Low
		cost := ""
		if r.Paid {
			is.Severity = hygiene.Medium
			cost = " (a paid subscription most images do not have)"
		}
		is.Title = fmt.Sprintf("%s is in extended support only", r.Name)
		is.Message = fmt.Sprintf("The base is %s: regular security support ended on %s; only %s%s covers it, until %s, and for fewer packages.", r.Name, date(r.Security), r.ExtendedBy, cost, date(r.Extended))
	default:
		end := r.Security
		if !r.Extended.IsZero() {
			end = r.Extended
		}
		is.Severity = hygiene.High
		is.Title = fmt.Sprintf("%s is end-of-life", r.Name)
		is.Message = fmt.Sprintf("The base is %s, which has had no security support since %s: new vulnerabilities in it are not fixed.", r.Name, date(end))
	}
	return is, true
}

// firstImages is when container images appeared (Docker's first release).
// An earlier creation date is not an age: reproducible builds (ko, Bazel,
// Nix, SOURCE_DATE_EPOCH=0) write the Unix epoch, and calling such a base
// 56 years old would be noise, so it counts as "no creation date".
var firstImages = time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC)

func (c *Check) outdated(findings []match.Finding, now time.Time, infos []layers.Info, base []int) (hygiene.Issue, bool) {
	if len(base) == 0 {
		return hygiene.Issue{}, false
	}
	inBase := map[int]bool{}
	var created time.Time
	for _, i := range base {
		inBase[i] = true
		if t := infos[i].Created; t.After(created) && t.After(firstImages) {
			created = t
		}
	}
	fixable := map[string]bool{}
	for _, f := range findings {
		if f.FixState != match.FixStateFixed || f.Layer == nil || !inBase[f.Layer.Index] || f.Verdict != nil && f.Verdict.Suppressed() {
			continue
		}
		fixable[f.ID+" "+f.Component.Ref] = true
	}
	age := now.Sub(created)
	old := !created.IsZero() && age > c.opts.MaxAge
	if !old && len(fixable) == 0 {
		return hygiene.Issue{}, false
	}
	top := topOf(base)
	is := hygiene.Issue{
		Rule:        RuleOutdated,
		Severity:    hygiene.Low,
		Layer:       hygiene.LayerInfo(infos, top),
		Remediation: remediation,
	}
	what := fmt.Sprintf("The base image's top layer (layer %d)", top)
	if created.IsZero() {
		is.Title = "Base has fixable vulnerabilities"
		is.Message = what + " has no creation date in the history"
	} else {
		days := int(age.Hours() / 24)
		is.Title = fmt.Sprintf("Base is %d days old", days)
		is.Message = fmt.Sprintf("%s was created on %s, %d days ago", what, created.Format(time.DateOnly), days)
	}
	if len(fixable) > 0 {
		is.Severity = hygiene.Medium
		is.Message += fmt.Sprintf("; %d vulnerability findings in packages from the base have fixed versions, which a rebuild on the current base would bring in", len(fixable))
		is.Evidence = fmt.Sprintf("%d fixable findings in base packages", len(fixable))
	}
	is.Message += ". Rebuild, don't patch the running container."
	return is, true
}

// topOf returns the highest base layer, -1 when there is none.
func topOf(base []int) int {
	if len(base) == 0 {
		return -1
	}
	return base[len(base)-1]
}
