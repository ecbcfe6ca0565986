package cyclonedx

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/vigilsec/vigil/internal/golden"
	"slices"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/package-url/packageurl-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/reporttest"
	"github.com/vigilsec/vigil/report/internal/sbom"
	"github.com/vigilsec/vigil/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func schema(t *testing.T) *jsonschema.Schema {
	return reporttest.Schema(t, "testdata/bom-1.6.schema.json", "testdata/spdx.schema.json", "testdata/jsf-0.82.schema.json")
}

// write renders doc, checks it against the official schema and decodes it
// back with cyclonedx-go.
func write(t *testing.T, sch *jsonschema.Schema, doc *document.Document) ([]byte, *cdx.BOM) {
	t.Helper()
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	reporttest.Validate(t, sch, buf.Bytes())
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(buf.Bytes()), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("cyclonedx-go cannot decode the output: %v", err)
	}
	return buf.Bytes(), &bom
}

func TestGolden(t *testing.T) {
	out, _ := write(t, schema(t), reporttest.Document())
	golden.Bytes(t, "testdata/fixture.golden.json", out, *update)
}

func TestFixture(t *testing.T) {
	doc := reporttest.Document()
	inv := doc.Inventory
	_, bom := write(t, schema(t), doc)

	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.BOMFormat != "CycloneDX" || !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Errorf("header: spec %v, format %q, serial %q", bom.SpecVersion, bom.BOMFormat, bom.SerialNumber)
	}
	subject := bom.Metadata.Component
	if subject.Type != cdx.ComponentTypeContainer || subject.Name != inv.Source.Name || subject.Version != inv.Source.Digest {
		t.Errorf("metadata.component = %+v", subject)
	}
	if tools := *bom.Metadata.Tools.Components; len(tools) != 1 || tools[0].Name != "vigil" || tools[0].Version != "0.1.0" {
		t.Errorf("metadata.tools = %+v", tools)
	}
	if bom.Metadata.Timestamp != "2026-03-14T09:26:53Z" {
		t.Errorf("timestamp = %s", bom.Metadata.Timestamp)
	}

	comps := *bom.Components
	if len(comps) != len(inv.Components)+1+len(inv.Removed) {
		t.Fatalf("%d components, want the inventory's %d, the OS and the %d removed ones findings name", len(comps), len(inv.Components), len(inv.Removed))
	}
	if gone := comps[len(comps)-1]; gone.BOMRef != inv.Removed[0].Ref || gone.Scope != cdx.ScopeExcluded || gone.Properties == nil ||
		!slices.ContainsFunc(*gone.Properties, func(p cdx.Property) bool {
			return p.Name == "vigil:removed" && strings.Contains(p.Value, "replaced 3.0.11-1~deb12u2 by 3.0.14-1~deb12u2 in layer 1")
		}) {
		t.Errorf("removed component = %+v", gone)
	}
	if os := comps[0]; os.Type != cdx.ComponentTypeOS || os.Name != "debian" || os.Version != "12" {
		t.Errorf("OS component = %+v", os)
	}
	byRef := map[string]cdx.Component{}
	for _, c := range comps {
		byRef[c.BOMRef] = c
	}
	for i := range inv.Components {
		ic := &inv.Components[i]
		c, ok := byRef[ic.Ref]
		if !ok {
			t.Errorf("no component with bom-ref %s (%s)", ic.Ref, ic.Name)
			continue
		}
		wantType := cdx.ComponentTypeLibrary
		if ic.Name == "payments" {
			wantType = cdx.ComponentTypeApplication
		}
		if c.Version != ic.Version || c.PackageURL != ic.PURL || c.Type != wantType {
			t.Errorf("component %s = %s %s %s, want %s %s %s", ic.Ref, c.Version, c.PackageURL, c.Type, ic.Version, ic.PURL, wantType)
		}
		props := map[string][]string{}
		for _, p := range *c.Properties {
			props[p.Name] = append(props[p.Name], p.Value)
		}
		if got := props["vigil:layer"]; len(got) != 1 || got[0] != ic.Layer.DiffID {
			t.Errorf("%s vigil:layer = %q, want %s", ic.Name, got, ic.Layer.DiffID)
		}
		if got := props["vigil:location"]; !slices.Equal(got, ic.Locations) {
			t.Errorf("%s vigil:location = %q, want %q", ic.Name, got, ic.Locations)
		}
		if ic.Source != nil && (len(props["vigil:source:name"]) != 1 || props["vigil:source:name"][0] != ic.Source.Name) {
			t.Errorf("%s vigil:source:name = %q, want %s", ic.Name, props["vigil:source:name"], ic.Source.Name)
		}
	}
	for _, tt := range []struct{ fullName, group, name string }{
		{"@babel/core", "@babel", "core"},
		{"org.apache.logging.log4j:log4j-core", "org.apache.logging.log4j", "log4j-core"},
		{"github.com/acme/payments", "", "github.com/acme/payments"},
		{"stdlib", "", "stdlib"},
		{"libc6", "", "libc6"}, // its namespace is the distribution
		{"cryptography", "", "cryptography"},
	} {
		if c := byRef[reporttest.Ref(inv, tt.fullName)]; c.Group != tt.group || c.Name != tt.name {
			t.Errorf("%s: group %q name %q, want %q %q", tt.fullName, c.Group, c.Name, tt.group, tt.name)
		}
	}
}

func TestDependencies(t *testing.T) {
	doc := reporttest.Document()
	inv := doc.Inventory
	_, bom := write(t, schema(t), doc)

	refs := map[string]bool{bom.Metadata.Component.BOMRef: true}
	for _, c := range *bom.Components {
		refs[c.BOMRef] = true
	}
	deps := map[string][]string{}
	for _, d := range *bom.Dependencies {
		if !refs[d.Ref] {
			t.Errorf("dependency of unknown ref %s", d.Ref)
		}
		for _, r := range *d.Dependencies {
			if !refs[r] {
				t.Errorf("%s depends on unknown ref %s", d.Ref, r)
			}
		}
		deps[d.Ref] = *d.Dependencies
	}
	names := func(refs []string) []string {
		var out []string
		for _, r := range refs {
			for _, c := range *bom.Components {
				if c.BOMRef == r {
					out = append(out, c.Name)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	osRef := (*bom.Components)[0].BOMRef
	for _, tt := range []struct {
		ref  string
		want []string
	}{
		{bom.Metadata.Component.BOMRef, []string{"core", "cryptography", "debian", "github.com/acme/payments", "log4j-core"}},
		{osRef, []string{"ca-certificates", "libc6", "libssl3", "tzdata", "zlib1g"}},
		{reporttest.Ref(inv, "github.com/acme/payments"), []string{"github.com/google/uuid", "golang.org/x/net", "stdlib"}},
	} {
		if got := names(deps[tt.ref]); !slices.Equal(got, tt.want) {
			t.Errorf("%s depends on %q, want %q", tt.ref, got, tt.want)
		}
	}
	if len(deps) != 3 {
		t.Errorf("%d dependency entries, want 3 (image, OS, Go binary)", len(deps))
	}
}

func TestPURLsParse(t *testing.T) {
	_, bom := write(t, schema(t), reporttest.Document())
	all := append([]cdx.Component{*bom.Metadata.Component}, *bom.Components...)
	n := 0
	for _, c := range all {
		if c.PackageURL == "" {
			continue
		}
		n++
		if _, err := packageurl.FromString(c.PackageURL); err != nil {
			t.Errorf("%s: purl %q: %v", c.Name, c.PackageURL, err)
		}
	}
	if n != len(all)-1 { // all but the OS
		t.Errorf("%d purls for %d components", n, len(all))
	}
}

func TestLicenses(t *testing.T) {
	tests := []struct {
		name     string
		declared []string
		want     string // the licenses array as JSON
	}{
		{"none", nil, ``},
		{"ids", []string{"GPL-2.0-or-later", "mit"}, `[{"license":{"id":"GPL-2.0-or-later","acknowledgement":"declared"}},{"license":{"id":"MIT","acknowledgement":"declared"}}]`},
		{"expression", []string{"Apache-2.0 OR BSD-3-Clause"}, `[{"expression":"Apache-2.0 OR BSD-3-Clause","acknowledgement":"declared"}]`},
		{"expression and id", []string{"Apache-2.0 OR MIT", "Zlib"}, `[{"expression":"(Apache-2.0 OR MIT) AND Zlib","acknowledgement":"declared"}]`},
		// On the SPDX list but newer than CycloneDX 1.6's copy of it: the
		// schema would reject it as an id, not as an expression.
		{"id newer than CycloneDX 1.6", []string{"MIT-Click"}, `[{"expression":"MIT-Click","acknowledgement":"declared"}]`},
		{"free text", []string{"Apache License, Version 2.0"}, `[{"license":{"name":"Apache License, Version 2.0","acknowledgement":"declared"}}]`},
		{"free text and id", []string{"GPL-2+", "Zlib"}, `[{"license":{"name":"GPL-2+","acknowledgement":"declared"}},{"license":{"id":"Zlib","acknowledgement":"declared"}}]`},
		{"free text and expression", []string{"public-domain", "MIT OR Zlib"}, `[{"license":{"name":"public-domain","acknowledgement":"declared"}},{"license":{"name":"MIT OR Zlib","acknowledgement":"declared"}}]`},
	}
	sch := schema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := reporttest.Document()
			doc.Inventory.Components = doc.Inventory.Components[:1]
			doc.Inventory.Components[0].Licenses = tt.declared
			out, _ := write(t, sch, doc)
			var raw struct {
				Components []struct {
					Licenses json.RawMessage `json:"licenses"`
				} `json:"components"`
			}
			if err := json.Unmarshal(out, &raw); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if l := raw.Components[1].Licenses; l != nil {
				if err := json.Compact(&got, l); err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != tt.want {
				t.Errorf("licenses = %s, want %s", got.String(), tt.want)
			}
		})
	}
}

func TestKnownIDsAreTheSchemaEnum(t *testing.T) {
	// The check that makes "id newer than CycloneDX 1.6" above meaningful:
	// go-spdx knows MIT-Click, CycloneDX 1.6 does not.
	if got := make(sbom.Licenses).Classify([]string{"MIT-Click"}); got[0].ID != "MIT-Click" {
		t.Fatalf("go-spdx no longer knows MIT-Click: %+v", got)
	}
	if knownID("MIT-Click") || !knownID("MIT") || !knownID("GPL-2.0+") {
		t.Error("knownID does not follow the CycloneDX 1.6 license list")
	}
}

func TestMinimalDocuments(t *testing.T) {
	sch := schema(t)
	tests := []struct {
		name string
		inv  *inventory.Inventory
	}{
		{"empty", &inventory.Inventory{}},
		{"dir scan without distro", &inventory.Inventory{
			Source:     image.Info{Ref: "dir:/srv/rootfs", Scheme: "dir", Name: "/srv/rootfs"},
			Components: []inventory.Component{{Ref: "pkg-1", Type: "apk", Name: "musl", Version: "1.2.5-r0", PURL: "pkg:apk/alpine/musl@1.2.5-r0"}},
		}},
		{"component with nothing but a ref", &inventory.Inventory{Components: []inventory.Component{{Ref: "pkg-1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := reporttest.Document()
			doc.Inventory = tt.inv
			_, bom := write(t, sch, doc)
			if bom.Metadata.Component.PackageURL != "" {
				t.Errorf("a non-registry image has purl %s", bom.Metadata.Component.PackageURL)
			}
		})
	}
}

func TestRefsMustBeUsable(t *testing.T) {
	for name, comps := range map[string][]inventory.Component{
		"empty ref":     {{Name: "a"}},
		"duplicate ref": {{Ref: "pkg-1", Name: "a"}, {Ref: "pkg-1", Name: "b"}},
	} {
		doc := reporttest.Document()
		doc.Inventory.Components = comps
		if err := (Writer{}).Write(&bytes.Buffer{}, doc); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReservedRefsStayUnique(t *testing.T) {
	doc := reporttest.Document()
	doc.Inventory.Components = []inventory.Component{{Ref: "image"}, {Ref: "os:debian@12"}}
	_, bom := write(t, schema(t), doc)
	seen := map[string]bool{bom.Metadata.Component.BOMRef: true}
	for _, c := range *bom.Components {
		if seen[c.BOMRef] {
			t.Errorf("bom-ref %s used twice", c.BOMRef)
		}
		seen[c.BOMRef] = true
	}
}

// TestSchemaCatchesMistakes shows that the schema check above can fail: the
// same output with one value broken is rejected.
func TestSchemaCatchesMistakes(t *testing.T) {
	sch := schema(t)
	out, _ := write(t, sch, reporttest.Document())
	reporttest.SchemaRejects(t, sch, out, []reporttest.Mutation{
		{Name: "license id not on the list", Mutate: func(bom map[string]any) {
			lic := comp(bom, 1)["licenses"].([]any)[0].(map[string]any)["license"].(map[string]any)
			lic["id"] = "GPL-2+"
		}},
		{Name: "unknown component type", Mutate: func(bom map[string]any) { comp(bom, 1)["type"] = "package" }},
		{Name: "OpenVEX justification in an analysis", Mutate: func(bom map[string]any) {
			vuln(bom, 2)["analysis"].(map[string]any)["justification"] = string(vex.VulnerableCodeNotPresent)
		}},
		{Name: "OpenVEX status as analysis state", Mutate: func(bom map[string]any) {
			vuln(bom, 2)["analysis"].(map[string]any)["state"] = string(vex.Fixed)
		}},
		{Name: "unknown scoring method", Mutate: func(bom map[string]any) {
			vuln(bom, 0)["ratings"].([]any)[0].(map[string]any)["method"] = "CVSSv3.1"
		}},
		{Name: "license list mixed with an expression", Mutate: func(bom map[string]any) {
			c := comp(bom, 1)
			c["licenses"] = append(c["licenses"].([]any), map[string]any{"expression": "MIT"})
		}},
	})
}

func vuln(bom map[string]any, i int) map[string]any {
	return bom["vulnerabilities"].([]any)[i].(map[string]any)
}

func comp(bom map[string]any, i int) map[string]any {
	return bom["components"].([]any)[i].(map[string]any)
}

func TestVulnerabilities(t *testing.T) {
	doc := reporttest.Document()
	_, bom := write(t, schema(t), doc)
	if bom.Vulnerabilities == nil || len(*bom.Vulnerabilities) != len(doc.Findings) {
		t.Fatalf("vulnerabilities = %v, want one per finding (%d)", bom.Vulnerabilities, len(doc.Findings))
	}
	refs := map[string]bool{}
	for _, c := range *bom.Components {
		refs[c.BOMRef] = true
	}
	byID := map[string]cdx.Vulnerability{}
	for i, v := range *bom.Vulnerabilities {
		f := &doc.Findings[i]
		byID[v.ID] = v
		if v.ID != f.ID || v.BOMRef == "" || refs[v.BOMRef] {
			t.Errorf("vulnerability %d: id %s bom-ref %q, want %s and a bom-ref of its own", i, v.ID, v.BOMRef, f.ID)
		}
		refs[v.BOMRef] = true
		if a := *v.Affects; len(a) != 1 || a[0].Ref != f.Component.Ref || !refs[a[0].Ref] {
			t.Errorf("%s affects %+v, want its component %s", v.ID, a, f.Component.Ref)
		}
	}
	props := func(v cdx.Vulnerability) map[string]string {
		m := map[string]string{}
		for _, p := range *v.Properties {
			m[p.Name] = p.Value
		}
		return m
	}

	fixed := byID["CVE-2024-9143"]
	if r := *fixed.Ratings; len(r) != 1 || r[0].Method != cdx.ScoringMethodCVSSv31 || *r[0].Score != 4.3 || r[0].Severity != cdx.SeverityMedium ||
		r[0].Vector != "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:L/A:N" {
		t.Errorf("CVE-2024-9143 ratings = %+v", r)
	}
	if v := *(*fixed.Affects)[0].Range; len(v) != 2 || v[0] != (cdx.AffectedVersions{Version: "3.0.14-1~deb12u2", Status: cdx.VulnerabilityStatusAffected}) ||
		v[1] != (cdx.AffectedVersions{Version: "3.0.15-1~deb12u1", Status: cdx.VulnerabilityStatusNotAffected}) {
		t.Errorf("CVE-2024-9143 versions = %+v", v)
	}
	if fixed.Recommendation != "Upgrade libssl3 (source package openssl) to 3.0.15-1~deb12u1 or later." || fixed.Analysis != nil {
		t.Errorf("CVE-2024-9143 recommendation %q, analysis %+v", fixed.Recommendation, fixed.Analysis)
	}
	if p := props(fixed); p["vigil:kev"] != "false" || p["vigil:fix-state"] != "fixed" || p["vigil:layer"] != reporttest.AppLayer.DiffID || p["vigil:layer:base"] != "false" {
		t.Errorf("CVE-2024-9143 properties = %v", p)
	}

	if r := *byID["CVE-2024-13176"].Ratings; len(r) != 1 || r[0] != (cdx.VulnerabilityRating{Severity: cdx.SeverityUnknown}) {
		t.Errorf("unknown severity: ratings = %+v, want one rating saying unknown and nothing more", r)
	}

	kev := byID["CVE-2025-22871"]
	if p := props(kev); p["vigil:kev"] != "true" || p["vigil:kev:dateAdded"] != "2025-06-02" || p["vigil:layer:base"] != "false" {
		t.Errorf("KEV properties = %v", p)
	}
	if r := *kev.References; len(r) != 1 || r[0].ID != "GO-2025-3563" {
		t.Errorf("aliases as references = %+v", r)
	}

	suppressed := byID["CVE-2025-0395"]
	want := &cdx.VulnerabilityAnalysis{
		State:  cdx.IASResolved,
		Detail: "The installed glibc 2.36-9+deb12u10 carries the fix, backported by Debian.\nchangelog /usr/share/doc/libc6/changelog.Debian.gz: glibc (2.36-9+deb12u10): Fix a buffer overflow in assert() (CVE-2025-0395).",
	}
	if a := suppressed.Analysis; a == nil || *a != *want {
		t.Errorf("suppressed analysis = %+v, want %+v", a, want)
	}
	if v := *(*suppressed.Affects)[0].Range; v[0].Status != cdx.VulnerabilityStatusNotAffected {
		t.Errorf("a suppressed finding's installed version is %s", v[0].Status)
	}
}

// TestAnalysisMapping renders every OpenVEX status and justification and
// checks the BOM still validates with the CycloneDX value it maps to.
func TestAnalysisMapping(t *testing.T) {
	tests := []struct {
		status        vex.Status
		justification vex.Justification
		state         cdx.ImpactAnalysisState
		want          cdx.ImpactAnalysisJustification
	}{
		{vex.NotAffected, vex.ComponentNotPresent, cdx.IASNotAffected, cdx.IAJCodeNotPresent},
		{vex.NotAffected, vex.VulnerableCodeNotPresent, cdx.IASNotAffected, cdx.IAJCodeNotPresent},
		{vex.NotAffected, vex.VulnerableCodeNotInExecutePath, cdx.IASNotAffected, cdx.IAJCodeNotReachable},
		{vex.NotAffected, vex.VulnerableCodeCannotBeControlledByAdversary, cdx.IASNotAffected, cdx.IAJRequiresEnvironment},
		{vex.NotAffected, vex.InlineMitigationsAlreadyExist, cdx.IASNotAffected, cdx.IAJProtectedByMitigatingControl},
		{vex.Fixed, "", cdx.IASResolved, ""},
		{vex.Affected, "", cdx.IASExploitable, ""},
		{vex.UnderInvestigation, "", cdx.IASInTriage, ""},
	}
	sch := schema(t)
	for _, tt := range tests {
		t.Run(string(tt.status)+"/"+string(tt.justification), func(t *testing.T) {
			doc := reporttest.Document()
			doc.Findings = doc.Findings[:1]
			doc.Findings[0].Verdict = &vex.Verdict{Status: tt.status, Justification: tt.justification, Impact: "because", By: "test"}
			_, bom := write(t, sch, doc)
			a := (*bom.Vulnerabilities)[0].Analysis
			if a.State != tt.state || a.Justification != tt.want || a.Detail != "because" {
				t.Errorf("analysis = %+v, want state %s justification %s", a, tt.state, tt.want)
			}
		})
	}
}

func TestRatingMethods(t *testing.T) {
	doc := reporttest.Document()
	doc.Findings = doc.Findings[:1]
	doc.Findings[0].CVSS = []match.CVSS{
		{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Source: "cvss:nvd"},
		{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", Score: 9.3, Source: "cvss:cna"},
		{Version: "3.0", Vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Source: "osv:DSA-1"},
		{Version: "2.0", Vector: "AV:N/AC:L/Au:N/C:P/I:P/A:P", Score: 7.5, Source: "cvss:nvd"},
	}
	doc.Findings[0].Severity = match.SeverityCritical
	_, bom := write(t, schema(t), doc)
	r := *(*bom.Vulnerabilities)[0].Ratings
	want := []struct {
		method cdx.ScoringMethod
		source string
	}{{cdx.ScoringMethodCVSSv31, "NVD"}, {cdx.ScoringMethodCVSSv4, "CNA"}, {cdx.ScoringMethodCVSSv3, "OSV"}, {cdx.ScoringMethodCVSSv2, "NVD"}}
	if len(r) != len(want) {
		t.Fatalf("%d ratings, want %d", len(r), len(want))
	}
	for i, w := range want {
		if r[i].Method != w.method || r[i].Source == nil || r[i].Source.Name != w.source || r[i].Vector != doc.Findings[0].CVSS[i].Vector {
			t.Errorf("rating %d = %+v, want method %s source %s", i, r[i], w.method, w.source)
		}
	}
	if r[0].Severity != cdx.SeverityCritical {
		t.Errorf("first rating severity %s, want the finding's", r[0].Severity)
	}
}
