package osv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/ecosystem"
)

func load(t *testing.T, name string) *record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func reasons(probs []problem) []string {
	var out []string
	for _, p := range probs {
		out = append(out, p.reason)
	}
	return out
}

func TestConvertRealRecords(t *testing.T) {
	tests := []struct {
		file      string
		packages  []string // ecosystem/name of each kept entry
		events    []vulndb.Event
		reasons   []string
		skipped   bool
		summary   string
		symbols   int
		severity  string
		published string
	}{
		{file: "debian-CVE-2023-5678.json", packages: []string{"Debian:12/openssl"},
			events:   []vulndb.Event{{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.Fixed, Version: "3.0.13-1~deb12u1"}},
			summary:  "Issue summary: Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow.",
			severity: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", published: "2023-11-06"},
		{file: "debian-CVE-2023-45853.json", packages: []string{"Debian:12/minizip", "Debian:12/zlib"},
			events: []vulndb.Event{{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.Fixed, Version: "1.1-8+deb12u1"}}},
		{file: "GO-2021-0113.json", packages: []string{"Go/golang.org/x/text"}, summary: "Out-of-bounds read in golang.org/x/text/language", symbols: 1,
			events: []vulndb.Event{{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.Fixed, Version: "0.3.7"}}},
		{file: "GO-2024-2887.json", packages: []string{"Go/stdlib"}, symbols: 1, events: []vulndb.Event{
			{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.Fixed, Version: "1.21.11"},
			{Kind: vulndb.Introduced, Version: "1.22.0-0"}, {Kind: vulndb.Fixed, Version: "1.22.4"}}},
		{file: "GO-2022-0617.json", skipped: true, reasons: []string{warnWithdrawn}},
		// One GIT range beside the ECOSYSTEM one: counted, not kept.
		{file: "PYSEC-2012-1.json", packages: []string{"PyPI/beaker"}, reasons: []string{warnGitRange},
			events: []vulndb.Event{{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.Fixed, Version: "1.6.5.post1"}}},
		// "2019-09-12" is not a PEP 440 version: the range, then the entry
		// and the record are dropped, each counted.
		{file: "PYSEC-2019-125.json", skipped: true, reasons: []string{warnBadVersion + " (PyPI)", warnEmptyAffected, warnNoAffected}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v, affected, probs := convert(load(t, tt.file))
			if !slices.Equal(reasons(probs), tt.reasons) {
				t.Errorf("problems = %v, want %v", probs, tt.reasons)
			}
			if tt.skipped {
				if v != nil || affected != nil {
					t.Errorf("kept %+v", v)
				}
				return
			}
			var pkgs []string
			for _, a := range affected {
				pkgs = append(pkgs, a.Ecosystem+"/"+a.Name)
			}
			if !slices.Equal(pkgs, tt.packages) {
				t.Errorf("packages = %v, want %v", pkgs, tt.packages)
			}
			if got := affected[0].Ranges[0].Events; !slices.Equal(got, tt.events) {
				t.Errorf("events = %v, want %v", got, tt.events)
			}
			if tt.summary != "" && v.Summary != tt.summary {
				t.Errorf("summary = %q", v.Summary)
			}
			if len(v.Packages) != len(affected) || len(v.Packages[0].Imports) != tt.symbols {
				t.Errorf("packages = %+v", v.Packages)
			}
			if tt.severity != "" && (len(v.Severity) != 1 || v.Severity[0].Vector != tt.severity || v.Severity[0].Source != "osv") {
				t.Errorf("severity = %+v", v.Severity)
			}
			if tt.published != "" && v.Published.Format("2006-01-02") != tt.published {
				t.Errorf("published = %v", v.Published)
			}
			if len(v.References) > maxReferences || len(v.References) > 0 && v.References[0].Type != "ADVISORY" && strings.Contains(tt.file, "debian") {
				t.Errorf("references = %+v", v.References)
			}
		})
	}
}

// TestConvertEvents checks range handling on records written for the case.
func TestConvertEvents(t *testing.T) {
	rec := func(eco, typ string, events ...event) *record {
		r := &record{ID: "TEST-1"}
		a := affected{Ranges: []osvRange{{Type: typ, Events: events}}}
		a.Package.Ecosystem, a.Package.Name = eco, "pkg"
		r.Affected = []affected{a}
		return r
	}
	tests := []struct {
		name    string
		rec     *record
		want    []vulndb.Event
		reasons []string
	}{
		{"sorted by the ecosystem's order", rec("Debian:12", "ECOSYSTEM",
			event{Fixed: "1.10-1"}, event{Introduced: "1.9-1"}, event{Introduced: "0"}, event{Fixed: "1.2-1"}),
			[]vulndb.Event{{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.Fixed, Version: "1.2-1"}, {Kind: vulndb.Introduced, Version: "1.9-1"}, {Kind: vulndb.Fixed, Version: "1.10-1"}}, nil},
		{"introduced before fixed at one version", rec("PyPI", "ECOSYSTEM", event{Fixed: "1.0"}, event{Introduced: "1.0"}),
			[]vulndb.Event{{Kind: vulndb.Introduced, Version: "1.0"}, {Kind: vulndb.Fixed, Version: "1.0"}}, nil},
		{"last_affected and limit kept", rec("Go", "SEMVER", event{Limit: "*"}, event{LastAffected: "1.2.0"}, event{Introduced: "0"}),
			[]vulndb.Event{{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.LastAffected, Version: "1.2.0"}, {Kind: vulndb.Limit, Version: "*"}}, nil},
		{"SEMVER range in npm compares as semver", rec("npm", "SEMVER", event{Introduced: "1.0.0-beta.2"}, event{Fixed: "1.0.0-beta.11"}),
			[]vulndb.Event{{Kind: vulndb.Introduced, Version: "1.0.0-beta.2"}, {Kind: vulndb.Fixed, Version: "1.0.0-beta.11"}}, nil},
		{"two kinds in one event", rec("Go", "SEMVER", event{Introduced: "0", Fixed: "1.0.0"}), nil,
			[]string{warnBadEvent, warnEmptyAffected, warnNoAffected}},
		{"no introduced", rec("Go", "SEMVER", event{Fixed: "1.0.0"}), nil,
			[]string{warnNoIntroduced, warnEmptyAffected, warnNoAffected}},
		{"unknown ecosystem", rec("Ubuntu:22.04:LTS", "ECOSYSTEM", event{Introduced: "0"}), nil,
			[]string{warnUnknownEco + ": Ubuntu", warnNoAffected}},
		{"unknown range type", rec("Go", "CALVER", event{Introduced: "0"}), nil,
			[]string{warnRangeType, warnEmptyAffected, warnNoAffected}},
		{"unparseable", rec("Alpine:v3.19", "ECOSYSTEM", event{Introduced: "0"}, event{Fixed: "not-a-version"}), nil,
			[]string{warnBadVersion + " (Alpine)", warnEmptyAffected, warnNoAffected}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, affected, probs := convert(tt.rec)
			if !slices.Equal(reasons(probs), tt.reasons) {
				t.Errorf("problems = %v, want %v", probs, tt.reasons)
			}
			var got []vulndb.Event
			if len(affected) > 0 {
				got = affected[0].Ranges[0].Events
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzDecode feeds arbitrary records to the decoder and converter: they
// must not panic, and every range they keep must have its events sorted.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decode(data)
		if err != nil {
			return
		}
		_, affected, _ := convert(r)
		for _, a := range affected {
			eco, err := ecosystem.SchemeOf(a.Ecosystem)
			if err != nil {
				t.Fatalf("kept an entry of unknown ecosystem %s", a.Ecosystem)
			}
			for _, rg := range a.Ranges {
				scheme := eco
				if rg.Type == vulndb.RangeSemVer {
					scheme = ecosystem.SemVer
				}
				var prev ecosystem.Version
				for _, e := range rg.Events {
					if e.Version == "0" && e.Kind == vulndb.Introduced || e.Version == "*" && e.Kind == vulndb.Limit {
						continue
					}
					v, err := scheme.Parse(e.Version)
					if err != nil {
						t.Fatalf("kept unparseable %q", e.Version)
					}
					if prev != nil && prev.Compare(v) > 0 {
						t.Fatalf("events not sorted: %v", rg.Events)
					}
					prev = v
				}
			}
		}
	})
}
