package match

import (
	"fmt"
	"slices"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/ecosystem"
)

// hit is one record that affects a queried version.
type hit struct {
	id    string
	fixed []ecosystem.Version // fixes of the ranges that matched
	state FixState
}

// installed is a queried version, parsed once per scheme it is compared in.
type installed struct {
	raw    string
	scheme ecosystem.Scheme
	eco    ecosystem.Version // by the ecosystem's rules
	semver ecosystem.Version // for SEMVER ranges; parsed on first use
	semErr error
}

func (in *installed) in(t vulndb.RangeType) (ecosystem.Version, ecosystem.Scheme, error) {
	if t != vulndb.RangeSemVer || in.scheme == ecosystem.SemVer {
		return in.eco, in.scheme, nil
	}
	if in.semver == nil && in.semErr == nil {
		if in.semver, in.semErr = ecosystem.SemVer.Parse(in.raw); in.semErr != nil {
			in.semErr = fmt.Errorf("%w (%s)", errVersion, ecosystem.SemVer.Name())
		}
	}
	return in.semver, ecosystem.SemVer, in.semErr
}

// evaluate returns the records of list that affect v. The events of each
// range are sorted by the importer, so one walk finds whether v is inside:
// the last event at or below v decides. OSV ranges of one entry, and its
// versions list, are alternatives: any of them makes v affected.
func evaluate(v *installed, list []vulndb.Affected) ([]hit, error) {
	var hits []hit
	for _, a := range list {
		h := hit{id: a.ID}
		affected := false
		for _, r := range a.Ranges {
			iv, scheme, err := v.in(r.Type)
			if err != nil {
				return nil, err
			}
			in, fix, state, err := inRange(iv, scheme, r.Events)
			if err != nil {
				return nil, fmt.Errorf("database entry %s for %s: %w", a.ID, a.Name, err)
			}
			if !in {
				continue
			}
			affected = true
			h.state = worse(h.state, state)
			if fix != nil {
				h.fixed = append(h.fixed, fix)
			}
		}
		for _, listed := range a.Versions {
			lv, err := v.scheme.Parse(listed)
			if err == nil && v.eco.Compare(lv) == 0 {
				affected = true
				h.state = worse(h.state, FixStateUnknown)
			}
		}
		if affected {
			hits = append(hits, h)
		}
	}
	return hits, nil
}

// inRange applies the OSV evaluation rules to one range whose events are
// sorted: introduced makes v affected from that version on, fixed ends it
// at that version, last_affected just after it, and when there are limits v
// must be below one of them. When v is affected, the first bound above it
// says how it is fixed.
func inRange(v ecosystem.Version, scheme ecosystem.Scheme, events []vulndb.Event) (bool, ecosystem.Version, FixState, error) {
	// cmp[i] is v compared with event i, computed once: comparing is most
	// of matching's time (the Debian library runs regular expressions).
	// Unbounded events ("0", "*") have no version; they are marked open.
	parsed := make([]ecosystem.Version, len(events))
	cmp := make([]int, len(events))
	open := make([]bool, len(events))
	limited, belowLimit := false, false
	for i, e := range events {
		if (e.Kind == vulndb.Introduced && e.Version == "0") || (e.Kind == vulndb.Limit && e.Version == "*") {
			open[i] = true
		} else {
			p, err := scheme.Parse(e.Version)
			if err != nil {
				return false, nil, "", err
			}
			parsed[i], cmp[i] = p, v.Compare(p)
		}
		if e.Kind == vulndb.Limit {
			limited = true
			belowLimit = belowLimit || open[i] || cmp[i] < 0
		}
	}
	if limited && !belowLimit {
		return false, nil, "", nil
	}
	affected := false
	for i, e := range events {
		switch e.Kind {
		case vulndb.Introduced:
			if open[i] || cmp[i] >= 0 {
				affected = true
			}
		case vulndb.Fixed:
			if cmp[i] >= 0 {
				affected = false
			}
		case vulndb.LastAffected:
			if cmp[i] > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, nil, "", nil
	}
	for i, e := range events {
		switch {
		case e.Kind == vulndb.Fixed && cmp[i] < 0:
			return true, parsed[i], FixStateFixed, nil
		case e.Kind == vulndb.LastAffected && cmp[i] <= 0,
			e.Kind == vulndb.Limit && (open[i] || cmp[i] < 0):
			return true, nil, FixStateUnknown, nil
		}
	}
	return true, nil, FixStateNotFixed, nil
}

var fixRank = map[FixState]int{"": 0, FixStateFixed: 1, FixStateUnknown: 2, FixStateNotFixed: 3}

// worse combines the fix states of two ranges that both affect a version:
// the version is only fixed by upgrading if every range says how.
func worse(a, b FixState) FixState {
	if fixRank[b] > fixRank[a] {
		return b
	}
	return a
}

// sortVersions sorts and deduplicates versions.
func sortVersions(vs []ecosystem.Version) []string {
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b ecosystem.Version) int { return a.Compare(b) })
	vs = slices.CompactFunc(vs, func(a, b ecosystem.Version) bool { return a.Compare(b) == 0 })
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}
