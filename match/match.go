// Package match finds the known vulnerabilities of the components of an
// inventory, using the vulnerability database.
//
// One Matcher per ecosystem says where each component is in the data (which
// ecosystem, which package, which installed version: for distribution
// packages, the source package's); the comparison of versions with the
// records' affected ranges is shared, by each ecosystem's own rules
// (vulndb/ecosystem). Records that alias each other become one Finding per
// component, named by CVE where there is one, with its severity from CVSS
// vectors, never guessed.
package match

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/ecosystem"
)

// Options tunes Match.
type Options struct {
	// Matchers replace the default set, Matchers(), when not nil.
	Matchers []Matcher
}

const (
	// maxDetails bounds Stats.Details.
	maxDetails = 100
	// maxReferences bounds Finding.References.
	maxReferences = 5
)

// errVersion marks an installed version the data's rules cannot parse.
var errVersion = errors.New("unparseable installed version")

// Match returns the findings for the components of inv, ordered as the
// components then by id, and what it could and could not check. Components
// in inv.Removed are not matched: they are not in the image.
func Match(ctx context.Context, db *vulndb.DB, inv *inventory.Inventory, opts Options) ([]Finding, Stats, error) {
	if db == nil || inv == nil {
		return nil, Stats{}, errors.New("match: no database or no inventory")
	}
	matchers := opts.Matchers
	if matchers == nil {
		matchers = Matchers()
	}
	s := &session{
		db:      db,
		queries: map[Query]result{},
		vulns:   map[string]*vulndb.Vulnerability{},
		cvss:    map[string][]vulndb.Severity{},
	}
	stats := Stats{
		Components:  len(inv.Components),
		Checked:     map[string]int{},
		Vulnerable:  map[string]int{},
		Unsupported: map[string]int{},
		Warnings:    map[string]int{},
	}
	var findings []Finding
	for i := range inv.Components {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, stats, err
			}
		}
		c := &inv.Components[i]
		var m Matcher
		for _, cand := range matchers {
			if cand.Handles(c) {
				m = cand
				break
			}
		}
		if m == nil {
			stats.Unsupported[fmt.Sprintf("no matcher for %q packages", c.Type)]++
			continue
		}
		q, err := m.Query(c, inv.Distro)
		if errors.Is(err, ErrUnsupported) {
			stats.Unsupported[strings.TrimPrefix(err.Error(), ErrUnsupported.Error()+": ")]++
			continue
		} else if err != nil {
			return nil, stats, fmt.Errorf("match %s: %w", c.PURL, err)
		}
		if !db.HasEcosystem(q.Ecosystem) {
			stats.Unsupported["no data for "+q.Ecosystem+" in the database"]++
			continue
		}
		r := s.match(q)
		if errors.Is(r.err, errVersion) {
			stats.Warnings[r.err.Error()]++
			if len(stats.Details) < maxDetails {
				stats.Details = append(stats.Details, fmt.Sprintf("%s %s %s: %v", c.Type, c.Name, q.Version, r.err))
			}
			continue
		} else if r.err != nil {
			return nil, stats, fmt.Errorf("match %s %s: %w", q.Ecosystem, q.Package, r.err)
		}
		stats.Checked[q.Ecosystem]++
		if len(r.findings) > 0 {
			stats.Vulnerable[q.Ecosystem]++
		}
		for _, t := range r.findings {
			findings = append(findings, forComponent(t, c))
		}
	}
	return findings, stats, nil
}

// forComponent copies a finding shared by every component with the same
// query, so that callers may change one without touching the others.
func forComponent(t Finding, c *inventory.Component) Finding {
	f := t
	f.Aliases = slices.Clone(t.Aliases)
	f.Related = slices.Clone(t.Related)
	f.FixedVersions = slices.Clone(t.FixedVersions)
	f.CVSS = slices.Clone(t.CVSS)
	f.Symbols = slices.Clone(t.Symbols)
	f.References = slices.Clone(t.References)
	f.DataSources = slices.Clone(t.DataSources)
	if t.KEV != nil {
		k := *t.KEV
		f.KEV = &k
	}
	f.Component = ComponentRef{Ref: c.Ref, Type: c.Type, Name: c.Name, Version: c.Version, PURL: c.PURL}
	f.RootCause = rootCause(c, f.InstalledVersion)
	if c.Source != nil {
		src := *c.Source
		f.Component.Source = &src
	}
	if c.Layer != nil {
		l := *c.Layer
		f.Layer = &l
	}
	return f
}

// rootCause names the package a fix goes into: the source package for
// distribution packages, else the component with its namespace (a Go
// module path, an npm scope, a Maven group), the version being the one
// matched.
func rootCause(c *inventory.Component, version string) string {
	name := c.Name
	switch {
	case c.Source != nil && c.Source.Name != "":
		name = c.Source.Name
	case c.Namespace != "" && (c.Type == "golang" || c.Type == "npm" || c.Type == "maven"):
		name = c.Namespace + "/" + c.Name
	}
	return c.Type + "/" + name + "@" + version
}

// session caches what one Match reads: the binary packages of one source
// package share a query, and records share CVEs.
type session struct {
	db      *vulndb.DB
	queries map[Query]result
	vulns   map[string]*vulndb.Vulnerability
	cvss    map[string][]vulndb.Severity
}

type result struct {
	findings []Finding
	err      error
}

func (s *session) match(q Query) result {
	if r, ok := s.queries[q]; ok {
		return r
	}
	findings, err := s.find(q)
	r := result{findings, err}
	s.queries[q] = r
	return r
}

func (s *session) find(q Query) ([]Finding, error) {
	scheme, err := ecosystem.SchemeOf(q.Ecosystem)
	if err != nil {
		return nil, err
	}
	v, err := scheme.Parse(q.Version)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", errVersion, scheme.Name())
	}
	list, err := s.db.Affected(q.Ecosystem, q.Package)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	hits, err := evaluate(&installed{raw: q.Version, scheme: scheme, eco: v}, list)
	if err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		return nil, nil
	}
	return s.assemble(q, hits)
}

// record is a hit with its record.
type record struct {
	hit
	v   *vulndb.Vulnerability
	ids []string // the record's id and aliases
}

// assemble turns the records that affect one query into findings: records
// sharing an id become one finding; an advisory (DSA, DLA) whose every CVE
// is already a finding is folded into them.
func (s *session) assemble(q Query, hits []hit) ([]Finding, error) {
	recs := make([]record, len(hits))
	for i, h := range hits {
		v, err := s.vulnerability(q.Ecosystem, h.id)
		if err != nil {
			return nil, err
		}
		recs[i] = record{hit: h, v: v, ids: append([]string{v.ID}, v.Aliases...)}
	}

	// Union-find over records that share an id.
	parent := make([]int, len(recs))
	for i := range parent {
		parent[i] = i
	}
	root := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, r := range recs {
		for _, id := range r.ids {
			if j, ok := owner[id]; ok {
				parent[root(i)] = root(j)
			} else {
				owner[id] = i
			}
		}
	}
	groups := map[int][]int{}
	for i := range recs {
		groups[root(i)] = append(groups[root(i)], i)
	}

	folded := map[int][]string{}
	related := map[int][]string{}
	for g, members := range groups {
		if groupHasCVE(recs, members) {
			continue
		}
		var cves []string
		for _, i := range members {
			for _, id := range recs[i].v.Related {
				if isCVE(id) {
					cves = append(cves, id)
				}
			}
		}
		covered := len(cves) > 0
		for _, cve := range cves {
			j, ok := owner[cve]
			covered = covered && ok && root(j) != g
		}
		if !covered {
			related[g] = cves
			continue
		}
		for _, cve := range cves {
			target := root(owner[cve])
			for _, i := range members {
				folded[target] = append(folded[target], recs[i].v.ID)
			}
		}
		delete(groups, g)
	}

	var out []Finding
	for g, members := range groups {
		slices.SortFunc(members, func(a, b int) int { return strings.Compare(recs[a].v.ID, recs[b].v.ID) })
		f, err := s.finding(q, recs, members)
		if err != nil {
			return nil, err
		}
		f.Related = sortedUnique(append(folded[g], related[g]...))
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func groupHasCVE(recs []record, members []int) bool {
	for _, i := range members {
		if slices.ContainsFunc(recs[i].ids, isCVE) {
			return true
		}
	}
	return false
}

func isCVE(id string) bool { return strings.HasPrefix(id, "CVE-") }

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}

// finding builds the finding of one group of records, sorted by id.
func (s *session) finding(q Query, recs []record, members []int) (Finding, error) {
	var recIDs, all []string
	for _, i := range members {
		recIDs = append(recIDs, recs[i].v.ID)
		all = append(all, recs[i].ids...)
	}
	all = sortedUnique(all)
	primary := recIDs[0]
	if i := slices.IndexFunc(recIDs, isCVE); i >= 0 {
		primary = recIDs[i]
	} else if i := slices.IndexFunc(all, isCVE); i >= 0 {
		primary = all[i]
	}
	f := Finding{ID: primary, InstalledVersion: q.Version}
	for _, id := range recIDs {
		if id != primary {
			f.Aliases = append(f.Aliases, id)
		}
	}
	for _, id := range all {
		if id != primary && !slices.Contains(recIDs, id) {
			f.Aliases = append(f.Aliases, id)
		}
	}

	// The record named like the finding speaks first.
	order := slices.Clone(members)
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(boolRank(recs[a].v.ID != primary), boolRank(recs[b].v.ID != primary))
	})
	var ordered []*vulndb.Vulnerability
	var fixed []ecosystem.Version
	// imports gathers the vulnerable packages and functions of every
	// record that names them. A GitHub advisory (GHSA) naming none is the
	// twin of a Go team record and never carries them; a Go team record
	// (GO-) naming none means the whole module, and then no list is
	// complete.
	var imports []vulndb.Import
	wholeModule := false
	for _, i := range order {
		r := recs[i]
		ordered = append(ordered, r.v)
		f.FixState = worse(f.FixState, r.state)
		fixed = append(fixed, r.fixed...)
		f.DataSources = append(f.DataSources, DataSource{Ecosystem: q.Ecosystem, Package: q.Package, ID: r.v.ID, Modified: r.v.Modified})
		if f.Summary == "" {
			f.Summary = r.v.Summary
		}
		for _, p := range r.v.Packages {
			if p.Ecosystem != q.Ecosystem || ecosystem.NormalizeName(p.Ecosystem, p.Name) != ecosystem.NormalizeName(q.Ecosystem, q.Package) {
				continue
			}
			if f.Urgency == "" {
				f.Urgency = p.Urgency
			}
			imports = append(imports, p.Imports...)
			wholeModule = wholeModule || (len(p.Imports) == 0 && strings.HasPrefix(r.v.ID, "GO-"))
		}
		for _, ref := range r.v.References {
			if len(f.References) < maxReferences && !slices.Contains(f.References, ref) {
				f.References = append(f.References, ref)
			}
		}
	}
	if !wholeModule {
		f.Symbols = imports
	}
	f.FixedVersions = sortVersions(fixed)
	if f.FixState == FixStateFixed && len(f.FixedVersions) > 0 {
		f.FixedVersion = f.FixedVersions[len(f.FixedVersions)-1]
	}

	cves := []string{}
	if isCVE(primary) {
		cves = append(cves, primary)
	}
	for _, id := range all {
		if isCVE(id) && id != primary {
			cves = append(cves, id)
		}
	}
	var err error
	if f.CVSS, err = s.vectors(ordered, cves); err != nil {
		return f, err
	}
	f.Severity = SeverityUnknown
	if len(f.CVSS) > 0 {
		f.Severity = rate(f.CVSS[0])
	}
	for _, cve := range cves {
		if f.KEV = s.db.KEV(cve); f.KEV != nil {
			break
		}
	}
	return f, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// vectors gathers every CVSS vector known for a finding: the records' own,
// then the scores source's for each CVE; ordered v3, v4, v2, the records'
// before the source's, without repeats.
func (s *session) vectors(recs []*vulndb.Vulnerability, cves []string) ([]CVSS, error) {
	var out []CVSS
	for _, r := range recs {
		for _, sev := range r.Severity {
			out = append(out, CVSS{Version: sev.Version, Vector: sev.Vector, Score: sev.Score, Source: "osv:" + r.ID})
		}
	}
	for _, cve := range cves {
		sevs, err := s.scores(cve)
		if err != nil {
			return nil, err
		}
		for _, sev := range sevs {
			out = append(out, CVSS{Version: sev.Version, Vector: sev.Vector, Score: sev.Score, Source: "cvss:" + sev.Source})
		}
	}
	rank := func(v string) int {
		switch v {
		case "3.1", "3.0":
			return 0
		case "4.0":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b CVSS) int { return rank(a.Version) - rank(b.Version) })
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(c CVSS) bool {
		dup := seen[c.Vector]
		seen[c.Vector] = true
		return dup
	}), nil
}

// rate rates a base score on the CVSS v3 and v4 qualitative scale; v2 has
// none of its own, and NVD's (no critical, 0 is low) is used for it.
func rate(c CVSS) Severity {
	if c.Version == "2.0" {
		switch {
		case c.Score >= 7:
			return SeverityHigh
		case c.Score >= 4:
			return SeverityMedium
		}
		return SeverityLow
	}
	switch {
	case c.Score >= 9:
		return SeverityCritical
	case c.Score >= 7:
		return SeverityHigh
	case c.Score >= 4:
		return SeverityMedium
	case c.Score > 0:
		return SeverityLow
	}
	return SeverityNegligible
}

func (s *session) vulnerability(eco, id string) (*vulndb.Vulnerability, error) {
	key := ecosystem.Base(eco) + "\x00" + id
	if v, ok := s.vulns[key]; ok {
		return v, nil
	}
	v, err := s.db.Vulnerability(eco, id)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("database lists %s for %s but has no record of it", id, eco)
	}
	s.vulns[key] = v
	return v, nil
}

func (s *session) scores(cve string) ([]vulndb.Severity, error) {
	if v, ok := s.cvss[cve]; ok {
		return v, nil
	}
	v, err := s.db.CVSS(cve)
	if err == nil {
		s.cvss[cve] = v
	}
	return v, err
}
