package match

import (
	"slices"
	"testing"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/ecosystem"
)

func ev(kind vulndb.EventKind, v string) vulndb.Event { return vulndb.Event{Kind: kind, Version: v} }

var (
	intro = func(v string) vulndb.Event { return ev(vulndb.Introduced, v) }
	fixed = func(v string) vulndb.Event { return ev(vulndb.Fixed, v) }
	last  = func(v string) vulndb.Event { return ev(vulndb.LastAffected, v) }
	limit = func(v string) vulndb.Event { return ev(vulndb.Limit, v) }
)

// TestInRange covers the OSV evaluation rules on sorted events, in SemVer.
func TestInRange(t *testing.T) {
	tests := []struct {
		name     string
		events   []vulndb.Event
		version  string
		affected bool
		fix      string
		state    FixState
	}{
		{"open range", []vulndb.Event{intro("0")}, "9.9.9", true, "", FixStateNotFixed},
		{"below fix", []vulndb.Event{intro("0"), fixed("1.2.0")}, "1.1.9", true, "1.2.0", FixStateFixed},
		{"at fix", []vulndb.Event{intro("0"), fixed("1.2.0")}, "1.2.0", false, "", ""},
		{"before introduced", []vulndb.Event{intro("1.0.0"), fixed("1.2.0")}, "0.9.0", false, "", ""},
		{"at introduced", []vulndb.Event{intro("1.0.0"), fixed("1.2.0")}, "1.0.0", true, "1.2.0", FixStateFixed},
		{"second branch", []vulndb.Event{intro("0"), fixed("1.2.0"), intro("2.0.0"), fixed("2.0.3")}, "2.0.1", true, "2.0.3", FixStateFixed},
		{"between branches", []vulndb.Event{intro("0"), fixed("1.2.0"), intro("2.0.0"), fixed("2.0.3")}, "1.5.0", false, "", ""},
		{"pre-release of a branch", []vulndb.Event{intro("0"), fixed("1.21.11"), intro("1.22.0-0"), fixed("1.22.4")}, "1.22.0-rc.1", true, "1.22.4", FixStateFixed},
		{"at last_affected", []vulndb.Event{intro("0"), last("1.2.0")}, "1.2.0", true, "", FixStateUnknown},
		{"after last_affected", []vulndb.Event{intro("0"), last("1.2.0")}, "1.2.1", false, "", ""},
		{"under limit", []vulndb.Event{intro("0"), limit("2.0.0")}, "1.9.0", true, "", FixStateUnknown},
		{"at limit", []vulndb.Event{intro("0"), limit("2.0.0")}, "2.0.0", false, "", ""},
		{"limit star", []vulndb.Event{intro("0"), limit("*")}, "99.0.0", true, "", FixStateUnknown},
		{"introduced and fixed at once", []vulndb.Event{intro("1.0.0"), fixed("1.0.0")}, "1.0.0", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ecosystem.SemVer.Parse(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			in, fix, state, err := inRange(v, ecosystem.SemVer, tt.events)
			if err != nil {
				t.Fatal(err)
			}
			fixStr := ""
			if fix != nil {
				fixStr = fix.String()
			}
			if in != tt.affected || fixStr != tt.fix || state != tt.state {
				t.Errorf("= %v %q %q, want %v %q %q", in, fixStr, state, tt.affected, tt.fix, tt.state)
			}
		})
	}
}

func TestEvaluateCombines(t *testing.T) {
	pep := func(s string) *installed {
		v, err := ecosystem.PyPIScheme.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return &installed{raw: s, scheme: ecosystem.PyPIScheme, eco: v}
	}
	list := []vulndb.Affected{
		// Two ranges affecting the version: both fixes are reported, the
		// higher one fixes both.
		{ID: "A", Ranges: []vulndb.Range{
			{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{intro("0"), fixed("1.5")}},
			{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{intro("1.0"), fixed("1.4.post1")}},
		}},
		// A fixed range and an open one: not fixed.
		{ID: "B", Ranges: []vulndb.Range{
			{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{intro("0"), fixed("1.5")}},
			{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{intro("1.3")}},
		}},
		// Listed versions only.
		{ID: "C", Versions: []string{"1.4.0", "2.0"}},
		{ID: "D", Ranges: []vulndb.Range{{Type: vulndb.RangeEcosystem, Events: []vulndb.Event{intro("0"), fixed("1.4")}}}},
	}
	hits, err := evaluate(pep("1.4"), list)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]hit{}
	for _, h := range hits {
		got[h.id] = h
	}
	if a := got["A"]; a.state != FixStateFixed || !slices.Equal(sortVersions(a.fixed), []string{"1.4.post1", "1.5"}) {
		t.Errorf("A = %+v", a)
	}
	if b := got["B"]; b.state != FixStateNotFixed {
		t.Errorf("B = %+v", b)
	}
	// 1.4 equals the listed 1.4.0 under PEP 440.
	if c, ok := got["C"]; !ok || c.state != FixStateUnknown {
		t.Errorf("C = %+v, %v", c, ok)
	}
	if _, ok := got["D"]; ok {
		t.Error("D affects its fixed version")
	}
}

// FuzzEvaluate evaluates arbitrary versions against arbitrary ranges in
// every scheme, sorted as the importer sorts them. It must not panic, and a
// fixed version it reports must be above the installed one.
func FuzzEvaluate(f *testing.F) {
	schemes := []ecosystem.Scheme{ecosystem.DebianScheme, ecosystem.AlpineScheme, ecosystem.SemVer,
		ecosystem.PyPIScheme, ecosystem.NpmScheme, ecosystem.MavenScheme}
	f.Add(uint8(0), "3.0.11-1~deb12u2", "0", "3.0.13-1~deb12u1", "", "")
	f.Add(uint8(1), "3.1.4-r0", "0", "3.1.4-r1", "", "")
	f.Add(uint8(2), "1.22.0-rc.1", "1.22.0-0", "1.22.4", "1.21.11", "*")
	f.Add(uint8(3), "1.7b3", "1.7a0", "1.7b4", "1.6.5", "")
	f.Add(uint8(4), "1.0.0-beta.2", "0", "1.0.0-beta.11", "", "")
	f.Add(uint8(5), "2.14.0-rc1", "2.0", "2.14.0", "2.13.9", "3.0")
	f.Fuzz(func(t *testing.T, i uint8, installedV, introV, fixedV, lastV, limitV string) {
		scheme := schemes[int(i)%len(schemes)]
		v, err := scheme.Parse(installedV)
		if err != nil {
			return
		}
		var events []vulndb.Event
		for _, e := range []vulndb.Event{intro(introV), fixed(fixedV), last(lastV), limit(limitV)} {
			special := e.Kind == vulndb.Introduced && e.Version == "0" || e.Kind == vulndb.Limit && e.Version == "*"
			if _, err := scheme.Parse(e.Version); err == nil || special {
				events = append(events, e)
			}
		}
		key := func(e vulndb.Event) ecosystem.Version {
			p, _ := scheme.Parse(e.Version)
			return p
		}
		slices.SortStableFunc(events, func(a, b vulndb.Event) int {
			ka, kb := key(a), key(b)
			switch {
			case ka == nil || kb == nil:
				return 0
			default:
				return ka.Compare(kb)
			}
		})
		in, fix, state, err := inRange(v, scheme, events)
		if err != nil {
			t.Fatal(err)
		}
		if in && state == FixStateFixed && (fix == nil || v.Compare(fix) >= 0) {
			t.Errorf("%s %q affected, fixed in %v which is not above it (events %v)", scheme.Name(), installedV, fix, events)
		}
	})
}
