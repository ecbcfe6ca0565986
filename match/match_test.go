package match_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) { vulndbtest.Main(m) }

var (
	bookworm = &inventory.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}
	bullseye = &inventory.Distro{ID: "debian", VersionID: "11", Codename: "bullseye"}
	jammy    = &inventory.Distro{ID: "ubuntu", VersionID: "22.04", IDLike: []string{"debian"}}
	alpine19 = &inventory.Distro{ID: "alpine", VersionID: "3.19.1"}
)

func deb(name, version, srcName, srcVersion string) inventory.Component {
	c := inventory.Component{Type: "deb", Namespace: "debian", Name: name, Version: version,
		PURL: fmt.Sprintf("pkg:deb/debian/%s@%s?arch=amd64", name, version)}
	if srcName != "" {
		c.Source = &inventory.SourcePackage{Name: srcName, Version: srcVersion}
	}
	return c
}

func apk(name, version, origin string) inventory.Component {
	return inventory.Component{Type: "apk", Namespace: "alpine", Name: name, Version: version,
		Source: &inventory.SourcePackage{Name: origin}, PURL: "pkg:apk/alpine/" + name + "@" + version}
}

func gomod(path, version string) inventory.Component {
	return inventory.Component{Type: "golang", Name: path, Version: version, PURL: "pkg:golang/" + path + "@" + version}
}

func pypi(name, version string) inventory.Component {
	return inventory.Component{Type: "pypi", Name: name, Version: version, PURL: "pkg:pypi/" + name + "@" + version}
}

// matchOne matches a single component and returns its findings by id.
func matchOne(t *testing.T, d *inventory.Distro, c inventory.Component) (map[string]match.Finding, match.Stats) {
	t.Helper()
	c.Ref = "c0"
	inv := &inventory.Inventory{Distro: d, Components: []inventory.Component{c}}
	findings, stats, err := match.Match(context.Background(), vulndbtest.DB(t), inv, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]match.Finding{}
	for _, f := range findings {
		if _, dup := byID[f.ID]; dup {
			t.Errorf("two findings %s for one component", f.ID)
		}
		byID[f.ID] = f
	}
	return byID, stats
}

// The versions and fixes below are those of the records in
// ../shared/vulndata; each case names the record it relies on.
func TestMatchRealData(t *testing.T) {
	tests := []struct {
		name      string
		distro    *inventory.Distro
		comp      inventory.Component
		id        string
		affected  bool
		state     match.FixState
		fixed     string // for a fixed state; cross-checked with dpkg for deb
		installed string // the version compared
	}{
		// CVE-2023-5678: openssl, fixed 3.0.13-1~deb12u1. libssl3 is
		// built from openssl: only the source name is in the data.
		{"openssl before fix", bookworm, deb("libssl3", "3.0.11-1~deb12u2", "openssl", ""), "CVE-2023-5678", true, match.FixStateFixed, "3.0.13-1~deb12u1", "3.0.11-1~deb12u2"},
		{"openssl tilde sorts before release", bookworm, deb("libssl3", "3.0.13-1~deb12u0", "openssl", ""), "CVE-2023-5678", true, match.FixStateFixed, "3.0.13-1~deb12u1", "3.0.13-1~deb12u0"},
		{"openssl at fix", bookworm, deb("libssl3", "3.0.13-1~deb12u1", "openssl", ""), "CVE-2023-5678", false, "", "", ""},
		{"openssl after fix", bookworm, deb("openssl", "3.0.15-1~deb12u1", "", ""), "CVE-2023-5678", false, "", "", ""},
		// CVE-2023-4911 (Looney Tunables): glibc, fixed 2.36-9+deb12u3.
		{"glibc before fix", bookworm, deb("libc6", "2.36-9+deb12u2", "glibc", ""), "CVE-2023-4911", true, match.FixStateFixed, "2.36-9+deb12u3", "2.36-9+deb12u2"},
		{"glibc after fix", bookworm, deb("libc6", "2.36-9+deb12u4", "glibc", ""), "CVE-2023-4911", false, "", "", ""},
		// CVE-2022-37434: zlib, fixed 1:1.2.11.dfsg-4.1; the epoch counts.
		{"zlib epoch before fix", bookworm, deb("zlib1g", "1:1.2.11.dfsg-4", "zlib", ""), "CVE-2022-37434", true, match.FixStateFixed, "1:1.2.11.dfsg-4.1", "1:1.2.11.dfsg-4"},
		{"zlib without epoch is older", bookworm, deb("zlib1g", "1.2.13.dfsg-1", "zlib", ""), "CVE-2022-37434", true, match.FixStateFixed, "1:1.2.11.dfsg-4.1", "1.2.13.dfsg-1"},
		{"zlib bookworm", bookworm, deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", ""), "CVE-2022-37434", false, "", "", ""},
		// CVE-2023-45853: zlib has only {"introduced": "0"}: no fix yet.
		{"zlib open range", bookworm, deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", ""), "CVE-2023-45853", true, match.FixStateNotFixed, "", "1:1.2.13.dfsg-1"},
		// binNMU: ncurses binaries rebuilt as 6.4-2+b1 from source 6.4-2;
		// CVE-2023-29491 is fixed in ncurses 6.4-3.
		{"binNMU through source version", bookworm, deb("libtinfo6", "6.4-2+b1", "ncurses", "6.4-2"), "CVE-2023-29491", true, match.FixStateFixed, "6.4-3", "6.4-2"},
		// Alpine: CVE-2023-5678, Alpine:v3.19 openssl fixed 3.1.4-r1, by origin.
		{"alpine by origin before fix", alpine19, apk("libcrypto3", "3.1.4-r0", "openssl"), "CVE-2023-5678", true, match.FixStateFixed, "3.1.4-r1", "3.1.4-r0"},
		{"alpine by origin at fix", alpine19, apk("libcrypto3", "3.1.4-r1", "openssl"), "CVE-2023-5678", false, "", "", ""},
		// Go: GO-2021-0113 (CVE-2021-38561) fixed in golang.org/x/text 0.3.7;
		// GO-2022-1059 (CVE-2022-32149) in 0.3.8.
		{"go module before fix", nil, gomod("golang.org/x/text", "v0.3.6"), "CVE-2021-38561", true, match.FixStateFixed, "0.3.7", "v0.3.6"},
		{"go module at fix", nil, gomod("golang.org/x/text", "v0.3.7"), "CVE-2021-38561", false, "", "", ""},
		{"go module later record", nil, gomod("golang.org/x/text", "v0.3.7"), "CVE-2022-32149", true, match.FixStateFixed, "0.3.8", "v0.3.7"},
		{"go pseudo-version before fix", nil, gomod("golang.org/x/text", "v0.3.8-0.20211004164637-e7e7a3f8d0d5"), "CVE-2022-32149", true, match.FixStateFixed, "0.3.8", "v0.3.8-0.20211004164637-e7e7a3f8d0d5"},
		// stdlib: GO-2024-2887 (CVE-2024-24790), fixed 1.21.11 and 1.22.4.
		{"stdlib 1.22.3", nil, gomod("stdlib", "1.22.3"), "CVE-2024-24790", true, match.FixStateFixed, "1.22.4", "1.22.3"},
		{"stdlib go1.21.10", nil, gomod("stdlib", "go1.21.10"), "CVE-2024-24790", true, match.FixStateFixed, "1.21.11", "1.21.10"},
		{"stdlib release candidate", nil, gomod("stdlib", "go1.22rc1"), "CVE-2024-24790", true, match.FixStateFixed, "1.22.4", "1.22.0-rc.1"},
		{"stdlib 1.22.4", nil, gomod("stdlib", "1.22.4"), "CVE-2024-24790", false, "", "", ""},
		{"stdlib 1.21.11", nil, gomod("stdlib", "1.21.11"), "CVE-2024-24790", false, "", "", ""},
		// PyPI: PYSEC-2012-1 (CVE-2012-3458) beaker fixed 1.6.5.post1.
		{"pypi post release fixes", nil, pypi("Beaker", "1.6.5.post1"), "CVE-2012-3458", false, "", "", ""},
		{"pypi release before post", nil, pypi("Beaker", "1.6.5"), "CVE-2012-3458", true, match.FixStateFixed, "1.6.5.post1", "1.6.5"},
		// PYSEC-2014-19 (CVE-2014-1418) django: introduced 1.7a0, fixed 1.7b4.
		{"pypi pre-release inside range", nil, pypi("Django", "1.7b3"), "CVE-2014-1418", true, match.FixStateFixed, "1.7b4", "1.7b3"},
		{"pypi pre-release at fix", nil, pypi("django", "1.7b4"), "CVE-2014-1418", false, "", "", ""},
		{"pypi between ranges", nil, pypi("django", "1.6.5"), "CVE-2014-1418", false, "", "", ""},
		{"pypi second range", nil, pypi("django", "1.5.7"), "CVE-2014-1418", true, match.FixStateFixed, "1.5.8", "1.5.7"},
		// PYSEC-2009-10 (CVE-2009-2701) ZODB3: introduced 3.9a0, fixed
		// 3.9.0c2; "c" is PEP 440's spelling of rc, and names normalise.
		{"pypi c is rc", nil, pypi("ZODB3", "3.9.0rc1"), "CVE-2009-2701", true, match.FixStateFixed, "3.9.0c2", "3.9.0rc1"},
		{"pypi normalised name", nil, pypi("Zodb3", "3.9.0c2"), "CVE-2009-2701", false, "", "", ""},
	}
	dpkg, dpkgErr := exec.LookPath("dpkg")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := matchOne(t, tt.distro, tt.comp)
			f, ok := got[tt.id]
			if ok != tt.affected {
				t.Fatalf("affected by %s = %v, want %v (findings: %v)", tt.id, ok, tt.affected, ids(got))
			}
			if tt.comp.Type == "deb" && tt.state == match.FixStateFixed || tt.comp.Type == "deb" && !tt.affected && tt.fixed != "" {
				checkWithDpkg(t, dpkg, dpkgErr, installedOf(tt.comp), tt.fixed, tt.affected)
			}
			if !ok {
				return
			}
			if f.FixState != tt.state || f.FixedVersion != tt.fixed {
				t.Errorf("fix = %s %q, want %s %q", f.FixState, f.FixedVersion, tt.state, tt.fixed)
			}
			if f.InstalledVersion != tt.installed {
				t.Errorf("installed version = %q, want %q", f.InstalledVersion, tt.installed)
			}
			if f.Component.Ref != "c0" || f.Component.Name != tt.comp.Name || f.Component.Version != tt.comp.Version || f.Component.PURL != tt.comp.PURL {
				t.Errorf("component = %+v, want %s %s", f.Component, tt.comp.Name, tt.comp.Version)
			}
			if len(f.DataSources) == 0 {
				t.Error("no data source")
			}
		})
	}
}

func installedOf(c inventory.Component) string {
	if c.Source != nil && c.Source.Version != "" {
		return c.Source.Version
	}
	return c.Version
}

// checkWithDpkg asks dpkg itself whether installed sorts before fixed.
func checkWithDpkg(t *testing.T, dpkg string, lookErr error, installed, fixed string, affected bool) {
	t.Helper()
	if lookErr != nil {
		vulndbtest.Need(t, "dpkg: %v", lookErr)
	}
	err := exec.Command(dpkg, "--compare-versions", installed, "lt", fixed).Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if dpkgLess := err == nil; dpkgLess != affected {
		t.Errorf("dpkg says %s < %s is %v, match says affected %v", installed, fixed, dpkgLess, affected)
	}
}

func ids(m map[string]match.Finding) []string {
	var out []string
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func TestDebianDataOnlyForDebian12(t *testing.T) {
	c := deb("libssl3", "3.0.11-1~deb12u2", "openssl", "")
	tests := []struct {
		name   string
		distro *inventory.Distro
		reason string
	}{
		{"bullseye", bullseye, "no data for Debian:11 in the database"},
		{"ubuntu", jammy, "deb package on ubuntu: no vulnerability data for it"},
		{"unknown distro", nil, "deb package on an unknown distribution"},
		{"testing", &inventory.Distro{ID: "debian"}, "deb package on Debian testing or unstable (no VERSION_ID)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stats := matchOne(t, tt.distro, c)
			if len(got) != 0 {
				t.Errorf("findings %v, want none", ids(got))
			}
			if stats.Unsupported[tt.reason] != 1 {
				t.Errorf("unsupported = %v, want 1 for %q", stats.Unsupported, tt.reason)
			}
		})
	}
	// The same component on bookworm is matched: the cases above fail
	// for the distribution, not the package.
	if got, _ := matchOne(t, bookworm, c); len(got) == 0 {
		t.Error("no finding on bookworm")
	}
}

func TestAlpineReleaseSelectsData(t *testing.T) {
	// CVE-2023-5678 is fixed in 3.0.12-r1 on Alpine 3.17 and in 3.1.4-r1
	// on 3.19: 3.0.12-r1 is fixed on one and affected on the other.
	c := apk("libcrypto3", "3.0.12-r1", "openssl")
	if got, _ := matchOne(t, &inventory.Distro{ID: "alpine", VersionID: "3.17.5"}, c); has(got, "CVE-2023-5678") {
		t.Error("3.0.12-r1 affected on Alpine 3.17")
	}
	if got, _ := matchOne(t, alpine19, c); !has(got, "CVE-2023-5678") {
		t.Error("3.0.12-r1 not affected on Alpine 3.19")
	}
}

func has(m map[string]match.Finding, id string) bool { _, ok := m[id]; return ok }

func TestSeverity(t *testing.T) {
	tests := []struct {
		name     string
		distro   *inventory.Distro
		comp     inventory.Component
		id       string
		severity match.Severity
		vector   string
		source   string
	}{
		// The Debian record carries CVSS:3.1/.../A:L: 5.3, medium.
		{"record's own vector", bookworm, deb("libssl3", "3.0.11-1~deb12u2", "openssl", ""), "CVE-2023-5678", match.SeverityMedium,
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", "osv:CVE-2023-5678"},
		// CVE-2024-2961's record has no vector; cvss.json.gz has CISA ADP's 7.3.
		{"scores source", bookworm, deb("libc6", "2.36-9+deb12u4", "glibc", ""), "CVE-2024-2961", match.SeverityHigh,
			"CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:H", "cvss:adp"},
		// CVE-2012-3458 only has NVD's v2 vector, 4.3.
		{"v2 only", nil, pypi("beaker", "1.6.4"), "CVE-2012-3458", match.SeverityMedium,
			"AV:N/AC:M/Au:N/C:P/I:N/A:N", "cvss:nvd"},
		// CVE-2024-13176 (openssl, no fix yet) has no vector anywhere.
		{"no vector anywhere", bookworm, deb("libssl3", "3.0.15-1~deb12u1", "openssl", ""), "CVE-2024-13176", match.SeverityUnknown, "", ""},
		// The Go record has no vector; cvss.json.gz copies GHSA's 7.5.
		{"go record via its CVE", nil, gomod("golang.org/x/text", "v0.3.6"), "CVE-2021-38561", match.SeverityHigh,
			"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "cvss:osv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := matchOne(t, tt.distro, tt.comp)
			f, ok := got[tt.id]
			if !ok {
				t.Fatalf("no finding %s in %v", tt.id, ids(got))
			}
			if f.Severity != tt.severity {
				t.Errorf("severity = %s, want %s", f.Severity, tt.severity)
			}
			if tt.vector == "" {
				if len(f.CVSS) != 0 {
					t.Errorf("CVSS = %+v, want none", f.CVSS)
				}
				return
			}
			if len(f.CVSS) == 0 || f.CVSS[0].Vector != tt.vector || f.CVSS[0].Source != tt.source {
				t.Errorf("CVSS = %+v, want %s from %s first", f.CVSS, tt.vector, tt.source)
			}
		})
	}
}

func TestOpenRangeIsNotFixed(t *testing.T) {
	got, _ := matchOne(t, bookworm, deb("libssl3", "3.0.15-1~deb12u1", "openssl", ""))
	f, ok := got["CVE-2024-13176"]
	if !ok {
		t.Fatalf("no CVE-2024-13176 in %v", ids(got))
	}
	if f.FixState != match.FixStateNotFixed || f.FixedVersion != "" || len(f.FixedVersions) != 0 {
		t.Errorf("fix = %s %q %v, want not-fixed and no version", f.FixState, f.FixedVersion, f.FixedVersions)
	}
}

func TestKEV(t *testing.T) {
	// CVE-2023-4911 is in the catalog (added 2023-11-21); CVE-2023-5678 is not.
	got, _ := matchOne(t, bookworm, deb("libc6", "2.36-9+deb12u2", "glibc", ""))
	f := got["CVE-2023-4911"]
	if f.KEV == nil || f.KEV.DateAdded.Format("2006-01-02") != "2023-11-21" {
		t.Errorf("KEV = %+v, want added 2023-11-21", f.KEV)
	}
	got, _ = matchOne(t, bookworm, deb("libssl3", "3.0.11-1~deb12u2", "openssl", ""))
	if f := got["CVE-2023-5678"]; f.KEV != nil {
		t.Errorf("CVE-2023-5678 KEV = %+v, want none", f.KEV)
	}
}

func TestAdvisoryFoldedIntoCVE(t *testing.T) {
	// DSA-5514-1 fixes CVE-2023-4911 in glibc 2.36-9+deb12u3; both records
	// match 2.36-9+deb12u2 and must make one finding.
	got, _ := matchOne(t, bookworm, deb("libc6", "2.36-9+deb12u2", "glibc", ""))
	if has(got, "DSA-5514-1") {
		t.Error("DSA-5514-1 reported on its own")
	}
	if f := got["CVE-2023-4911"]; !slices.Contains(f.Related, "DSA-5514-1") {
		t.Errorf("CVE-2023-4911 related = %v, want DSA-5514-1", f.Related)
	}
	// DSA-5460-1 (curl) names no CVE: it stays a finding of its own.
	got, _ = matchOne(t, bookworm, deb("libcurl4", "7.88.1-10", "curl", ""))
	if !has(got, "DSA-5460-1") {
		t.Errorf("DSA-5460-1 missing from %v", ids(got))
	}
}

func TestGoFindingNamedByCVE(t *testing.T) {
	got, _ := matchOne(t, nil, gomod("golang.org/x/text", "v0.3.6"))
	f, ok := got["CVE-2021-38561"]
	if !ok {
		t.Fatalf("no CVE-2021-38561 in %v", ids(got))
	}
	if len(f.Aliases) == 0 || f.Aliases[0] != "GO-2021-0113" || !slices.Contains(f.Aliases, "GHSA-ppp9-7jff-5vj2") {
		t.Errorf("aliases = %v, want GO-2021-0113 first and the GHSA", f.Aliases)
	}
	if len(f.Symbols) != 1 || f.Symbols[0].Path != "golang.org/x/text/language" || !slices.Contains(f.Symbols[0].Symbols, "Parse") {
		t.Errorf("symbols = %+v, want golang.org/x/text/language Parse...", f.Symbols)
	}
	if ds := f.DataSources; len(ds) != 1 || ds[0].ID != "GO-2021-0113" || ds[0].Ecosystem != "Go" {
		t.Errorf("data sources = %+v", ds)
	}
}

func TestUnsupportedAndWarnings(t *testing.T) {
	inv := &inventory.Inventory{Distro: bookworm, Components: []inventory.Component{
		{Ref: "a", Type: "rpm", Name: "bash", Version: "5.1-1"},
		{Ref: "b", Type: "golang", Name: "example.com/app", Version: "(devel)"},
		{Ref: "c", Type: "pypi", Name: "django", Version: "not a version!"},
		{Ref: "d", Type: "deb", Name: "libssl3", Version: "3.0.11-1~deb12u2", Source: &inventory.SourcePackage{Name: "openssl"}},
		{Ref: "e", Type: "deb", Name: "bad", Version: "Ω"},
	}}
	findings, stats, err := match.Match(context.Background(), vulndbtest.DB(t), inv, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Component.Ref != "d" {
			t.Errorf("finding %s for component %s", f.ID, f.Component.Ref)
		}
	}
	if stats.Unsupported[`no matcher for "rpm" packages`] != 1 || stats.Unsupported["Go module built from a work tree, version (devel)"] != 1 {
		t.Errorf("unsupported = %v", stats.Unsupported)
	}
	if stats.Warnings["unparseable installed version (PyPI)"] != 1 || stats.Warnings["unparseable installed version (Debian)"] != 1 {
		t.Errorf("warnings = %v", stats.Warnings)
	}
	if stats.Checked["Debian:12"] != 1 || stats.Vulnerable["Debian:12"] != 1 || stats.Components != 5 {
		t.Errorf("stats = %+v", stats)
	}
}

func TestFindingCopiesLayer(t *testing.T) {
	c := deb("libssl3", "3.0.11-1~deb12u2", "openssl", "")
	c.Layer = &layers.Info{Index: 0, DiffID: "sha256:aaaa", CreatedBy: "debootstrap"}
	inv := &inventory.Inventory{Distro: bookworm, Components: []inventory.Component{c, c}}
	findings, _, err := match.Match(context.Background(), vulndbtest.DB(t), inv, match.Options{})
	if err != nil || len(findings) == 0 {
		t.Fatal(findings, err)
	}
	if findings[0].Layer == nil || findings[0].Layer.DiffID != "sha256:aaaa" {
		t.Fatalf("layer = %+v", findings[0].Layer)
	}
	// Findings of components sharing a query do not share memory.
	findings[0].Layer.DiffID = "changed"
	findings[0].Aliases = append(findings[0].Aliases[:0], "changed")
	half := len(findings) / 2
	if findings[half].Layer.DiffID != "sha256:aaaa" || c.Layer.DiffID != "sha256:aaaa" {
		t.Error("layer shared between findings or with the component")
	}
}

// TestGolden matches a small Debian/Go/PyPI inventory and compares the
// findings with testdata/golden.json (refresh with -update; the cases above
// check the facts it contains).
func TestGolden(t *testing.T) {
	inv := &inventory.Inventory{Distro: bookworm, Components: []inventory.Component{
		deb("libc6", "2.36-9+deb12u7", "glibc", ""),
		deb("libtinfo6", "6.4-4", "ncurses", ""),
		gomod("golang.org/x/text", "v0.3.7"),
		gomod("stdlib", "1.22.3"),
		pypi("Beaker", "1.6.5"),
	}}
	for i := range inv.Components {
		inv.Components[i].Ref = fmt.Sprint("c", i)
	}
	findings, stats, err := match.Match(context.Background(), vulndbtest.DB(t), inv, match.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(struct {
		Findings []match.Finding
		Stats    match.Stats
	}{findings, stats}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("findings differ from %s (rerun with -update if the change is intended)", golden)
	}
}

func TestAttackVector(t *testing.T) {
	tests := []struct{ vector, want string }{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "N"},
		{"CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "L"},
		{"AV:A/AC:L/Au:N/C:P/I:P/A:P", "A"},
		{"CVSS:3.1/AC:L", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := (match.CVSS{Vector: tt.vector}).AttackVector(); got != tt.want {
			t.Errorf("AttackVector(%q) = %q, want %q", tt.vector, got, tt.want)
		}
	}
}
