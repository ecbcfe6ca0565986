package match_test

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/osv"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

// fixtureDB imports records given as JSON into a new database, for the
// ecosystems and cases the shared data lacks: npm and Maven, and one
// vulnerability published twice in an ecosystem, as the osv.dev Go export
// carries both GO-… and GHSA-… records.
func fixtureDB(t *testing.T, records map[string]map[string]string) *vulndb.DB {
	t.Helper()
	fsys := fstest.MapFS{}
	for eco, recs := range records {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range recs {
			w, err := zw.Create(name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(data))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		fsys["osv/"+eco+"/all.zip"] = &fstest.MapFile{Data: buf.Bytes()}
	}
	meta, db, err := vulndbtest.Build(t, fsys, osv.Importer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range meta.Sources {
		if len(s.Warnings) > 0 {
			t.Fatalf("fixture %s: %+v", s.Name, s.Warnings)
		}
	}
	return db
}

// The npm and Maven records follow the advisories' published ranges
// (lodash CVE-2021-23337, Log4Shell CVE-2021-44228), reduced to what
// matching reads.
var fixtures = map[string]map[string]string{
	"npm": {"GHSA-35jh-r3h4-6jhm": `{"id": "GHSA-35jh-r3h4-6jhm", "aliases": ["CVE-2021-23337"],
		"summary": "Command Injection in lodash",
		"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
		"affected": [{"package": {"ecosystem": "npm", "name": "lodash"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]},
		             {"package": {"ecosystem": "npm", "name": "@example/lodash-fork"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0-beta.2"}, {"fixed": "1.0.0"}]}]}]}`},
	"Maven": {"GHSA-jfh8-c2jp-5v3q": `{"id": "GHSA-jfh8-c2jp-5v3q", "aliases": ["CVE-2021-44228"],
		"summary": "Remote code injection in Log4j",
		"affected": [{"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}, {"introduced": "2.0-beta9"}, {"fixed": "2.12.2"}]}]}]}`},
}

func TestNpmAndMaven(t *testing.T) {
	db := fixtureDB(t, fixtures)
	tests := []struct {
		comp  inventory.Component
		id    string
		fixed string // "" when not affected
	}{
		{inventory.Component{Type: "npm", Name: "lodash", Version: "4.17.20"}, "CVE-2021-23337", "4.17.21"},
		{inventory.Component{Type: "npm", Name: "lodash", Version: "4.17.21"}, "CVE-2021-23337", ""},
		{inventory.Component{Type: "npm", Namespace: "@example", Name: "lodash-fork", Version: "1.0.0-beta.11"}, "CVE-2021-23337", "1.0.0"},
		{inventory.Component{Type: "npm", Namespace: "example", Name: "lodash-fork", Version: "1.0.0-beta.1"}, "CVE-2021-23337", ""},
		{inventory.Component{Type: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core", Version: "2.14.1"}, "CVE-2021-44228", "2.15.0"},
		{inventory.Component{Type: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core", Version: "2.12.1"}, "CVE-2021-44228", "2.12.2"},
		{inventory.Component{Type: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core", Version: "2.12.2"}, "CVE-2021-44228", ""},
		{inventory.Component{Type: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core", Version: "2.15.0-rc1"}, "CVE-2021-44228", "2.15.0"},
		{inventory.Component{Type: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core", Version: "2.0-beta8"}, "CVE-2021-44228", ""},
	}
	for _, tt := range tests {
		t.Run(tt.comp.Name+"@"+tt.comp.Version, func(t *testing.T) {
			inv := &inventory.Inventory{Components: []inventory.Component{tt.comp}}
			findings, _, err := match.Match(context.Background(), db, inv, match.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.fixed == "" {
				if len(findings) != 0 {
					t.Errorf("findings %+v, want none", findings)
				}
				return
			}
			if len(findings) != 1 || findings[0].ID != tt.id || findings[0].FixedVersion != tt.fixed {
				t.Errorf("findings %+v, want %s fixed in %s", findings, tt.id, tt.fixed)
			}
		})
	}
}

func TestAliasedRecordsMakeOneFinding(t *testing.T) {
	goRecord, err := os.ReadFile("../vulndb/osv/testdata/GO-2021-0113.json")
	if err != nil {
		t.Fatal(err)
	}
	// The GHSA twin of GO-2021-0113, as GitHub publishes it: its own id,
	// the CVE as alias, the fix in its own range.
	ghsa := `{"id": "GHSA-ppp9-7jff-5vj2", "aliases": ["CVE-2021-38561"], "modified": "2024-05-20T16:03:47Z",
		"summary": "golang.org/x/text/language Out-of-bounds Read vulnerability",
		"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
		"affected": [{"package": {"ecosystem": "Go", "name": "golang.org/x/text"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.7"}]}]}]}`
	db := fixtureDB(t, map[string]map[string]string{"Go": {"GO-2021-0113": string(goRecord), "GHSA-ppp9-7jff-5vj2": ghsa}})
	inv := &inventory.Inventory{Components: []inventory.Component{
		{Ref: "a", Type: "golang", Name: "golang.org/x/text", Version: "v0.3.6"},
		{Ref: "b", Type: "golang", Name: "golang.org/x/text", Version: "v0.3.5"},
	}}
	findings, _, err := match.Match(context.Background(), db, inv, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 2 {
		t.Fatalf("%d findings, want one per component: %+v", len(findings), findings)
	}
	for _, f := range findings {
		if f.ID != "CVE-2021-38561" || !slices.Equal(f.Aliases, []string{"GHSA-ppp9-7jff-5vj2", "GO-2021-0113"}) || len(f.DataSources) != 2 {
			t.Errorf("finding %s aliases %v sources %+v", f.ID, f.Aliases, f.DataSources)
		}
		// The GO record has the symbols, the GHSA the vector.
		if len(f.Symbols) != 1 || f.Severity != match.SeverityHigh || !strings.HasPrefix(f.CVSS[0].Source, "osv:GHSA") {
			t.Errorf("finding lost what one record had: symbols %v, severity %s %+v", f.Symbols, f.Severity, f.CVSS)
		}
	}
}

// TestMergedSymbols: a finding merged from records that alias each other
// carries the imports of every record that names them; a GitHub twin naming
// none adds nothing, and a Go team record naming none (all of the module)
// leaves no list to judge reachability by.
func TestMergedSymbols(t *testing.T) {
	record := func(id, imports string) string {
		eco := ""
		if imports != "" {
			eco = `, "ecosystem_specific": {"imports": [` + imports + `]}`
		}
		return `{"id": "` + id + `", "aliases": ["CVE-2099-0001"], "modified": "2024-01-01T00:00:00Z",
			"affected": [{"package": {"ecosystem": "Go", "name": "example.com/m"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}]` + eco + `}]}`
	}
	a := `{"path": "example.com/m/a", "symbols": ["F"]}`
	b := `{"path": "example.com/m/b", "symbols": ["G"]}`
	tests := []struct {
		name    string
		records map[string]string
		want    []string // import paths
	}{
		{"Go record and GitHub twin", map[string]string{"GO-2099-0001": record("GO-2099-0001", a), "GHSA-aaaa-bbbb-cccc": record("GHSA-aaaa-bbbb-cccc", "")}, []string{"example.com/m/a"}},
		{"two Go records", map[string]string{"GO-2099-0001": record("GO-2099-0001", a), "GO-2099-0002": record("GO-2099-0002", b)}, []string{"example.com/m/a", "example.com/m/b"}},
		{"a Go record for the whole module", map[string]string{"GO-2099-0001": record("GO-2099-0001", a), "GO-2099-0002": record("GO-2099-0002", "")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := fixtureDB(t, map[string]map[string]string{"Go": tt.records})
			inv := &inventory.Inventory{Components: []inventory.Component{{Ref: "a", Type: "golang", Name: "example.com/m", Version: "v1.0.0"}}}
			findings, _, err := match.Match(context.Background(), db, inv, match.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(findings) != 1 {
				t.Fatalf("%d findings, want one: %+v", len(findings), findings)
			}
			var got []string
			for _, imp := range findings[0].Symbols {
				got = append(got, imp.Path)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("symbols of %v, want %v", got, tt.want)
			}
		})
	}
}
