package vulndb

import (
	"maps"
	"slices"
	"time"
)

// Metadata describes a database: when it was built and from what.
type Metadata struct {
	Schema  int          `json:"schema"`
	Built   time.Time    `json:"built"`
	Sources []SourceInfo `json:"sources"`
}

// SourceInfo describes one source as it was imported.
type SourceInfo struct {
	// Name identifies the source: "osv/Debian", "kev", "cvss".
	Name string `json:"name"`
	// Location is the file or URL the data was read from.
	Location string `json:"location"`
	// Records counts the usable records read: those not skipped for a
	// warning.
	Records int `json:"records"`
	// Ecosystems counts the kept records affecting each ecosystem, as OSV
	// spells it ("Debian:12").
	Ecosystems map[string]int `json:"ecosystems,omitempty"`
	// Snapshot is the newest modification time found in the data; zero when
	// the data carries none (the Go database zeroes its dates).
	Snapshot time.Time `json:"snapshot,omitzero"`
	Imported time.Time `json:"imported"`
	// Warnings are the problems met while importing, one per reason: what
	// was skipped and why.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Warning counts one reason for skipping data, with a few examples.
type Warning struct {
	Reason   string   `json:"reason"`
	Count    int      `json:"count"`
	Examples []string `json:"examples,omitempty"`
}

// WarningCount is the number of problems met, all reasons together.
func (s SourceInfo) WarningCount() int {
	n := 0
	for _, w := range s.Warnings {
		n += w.Count
	}
	return n
}

// Ecosystems counts the records affecting each ecosystem, over all sources.
func (m Metadata) Ecosystems() map[string]int {
	all := map[string]int{}
	for _, s := range m.Sources {
		for eco, n := range s.Ecosystems {
			all[eco] += n
		}
	}
	return all
}

// Stale returns the sources whose snapshot is older than maxAge at now.
// Sources without a snapshot date are not judged.
func (m Metadata) Stale(now time.Time, maxAge time.Duration) []SourceInfo {
	var old []SourceInfo
	for _, s := range m.Sources {
		if !s.Snapshot.IsZero() && now.Sub(s.Snapshot) > maxAge {
			old = append(old, s)
		}
	}
	return old
}

// maxExamples bounds the examples kept per warning reason.
const maxExamples = 3

// warnings accumulates Warning counts.
type warnings map[string]*Warning

func (w warnings) add(reason, example string) {
	x := w[reason]
	if x == nil {
		x = &Warning{Reason: reason}
		w[reason] = x
	}
	x.Count++
	if example != "" && len(x.Examples) < maxExamples {
		x.Examples = append(x.Examples, example)
	}
}

func (w warnings) list() []Warning {
	var out []Warning
	for _, k := range slices.Sorted(maps.Keys(w)) {
		out = append(out, *w[k])
	}
	return out
}
