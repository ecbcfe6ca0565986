package vexin

import (
	"context"
	"encoding/json"
	"flag"
	"github.com/vigilsec/vigil/internal/golden"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// want maps a finding of fixtureFindings, by index, to the verdict it must
// get: "status" or "status/justification". Findings not listed must keep
// no verdict.
type want map[int]string

// apply loads files and runs them as the only triage provider on fresh
// fixture findings.
func apply(t *testing.T, files ...string) []match.Finding {
	t.Helper()
	p, err := Load(files...)
	if err != nil {
		t.Fatal(err)
	}
	inv := fixtureInventory()
	findings := fixtureFindings(inv)
	st, err := triage.Run(t.Context(), &triage.Input{Inventory: inv}, findings, []triage.Provider{p})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Warnings) > 0 {
		t.Errorf("warnings: %v", st.Warnings)
	}
	return findings
}

func verdictString(v *vex.Verdict) string {
	if v == nil {
		return ""
	}
	if v.Justification != "" {
		return string(v.Status) + "/" + string(v.Justification)
	}
	return string(v.Status)
}

// TestApply applies hand-written documents to the fixture. Each case's
// expectations follow from the statements' own words (see their impact
// statements and notes); the golden file holds the whole verdicts for
// review.
func TestApply(t *testing.T) {
	const (
		na          = "not_affected/"
		notPresent  = na + "vulnerable_code_not_present"
		notInPath   = na + "vulnerable_code_not_in_execute_path"
		mitigated   = na + "inline_mitigations_already_exist"
		noControl   = na + "vulnerable_code_cannot_be_controlled_by_adversary"
		compMissing = na + "component_not_present"
	)
	tests := []struct {
		name  string
		files []string
		want  want
	}{
		{"openvex aliases in any case", []string{"openvex/alias.json"},
			want{1: notInPath, 2: notInPath, 3: "fixed", 4: "fixed"}},
		{"openvex versioned and versionless purls", []string{"openvex/purls.json"},
			want{1: notPresent, 2: notPresent, 6: "under_investigation"}},
		{"openvex image-level statements", []string{"openvex/image.json"},
			want{0: "affected", 3: mitigated, 4: mitigated, 5: "fixed"}},
		{"openvex latest statement wins", []string{"openvex/latest-a.json", "openvex/latest-b.json"},
			want{0: "fixed", 1: "affected", 2: "affected", 3: "under_investigation", 4: "under_investigation", 6: "under_investigation"}},
		{"openvex refs and a component's subcomponents", []string{"openvex/refs.json"},
			want{2: notInPath, 3: notInPath, 5: compMissing}},
		{"cyclonedx states, refs, BOM-Links and the image", []string{"cyclonedx/vex.json"},
			want{0: "fixed", 1: notInPath, 2: notInPath, 3: "affected", 4: "affected", 5: compMissing, 6: noControl}},
		{"cyclonedx latest analysis wins", []string{"cyclonedx/latest.json"},
			want{0: "under_investigation", 6: "fixed"}},
		{"cyclonedx with an empty vulnerabilities list", []string{"cyclonedx/empty.json"}, want{}},
	}
	results := map[string][]applied{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := make([]string, len(tt.files))
			for i, f := range tt.files {
				files[i] = filepath.Join("testdata", f)
			}
			findings := apply(t, files...)
			got := []applied{}
			for i := range findings {
				f := &findings[i]
				if s := verdictString(f.Verdict); s != tt.want[i] {
					t.Errorf("finding %d (%s on %s): verdict %q, want %q", i, f.ID, f.Component.Ref, s, tt.want[i])
				}
				v := f.Verdict
				if v == nil {
					continue
				}
				file := strings.TrimPrefix(v.By, "vex:")
				if !strings.HasPrefix(v.By, "vex:") || !slices.Contains(files, file) {
					t.Errorf("finding %d: By %q, want vex: and one of %v", i, v.By, files)
				}
				if len(v.Evidence) != 1 || v.Evidence[0].Kind != "vex" || !strings.HasPrefix(v.Evidence[0].Location, file+"#/") || v.Evidence[0].Detail == "" {
					t.Errorf("finding %d: evidence %+v", i, v.Evidence)
				}
				got = append(got, applied{Finding: f.ID + " " + f.Component.Ref, Verdict: v})
			}
			results[tt.name] = got
		})
	}
	out, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Bytes(t, "testdata/applied.golden.json", append(out, '\n'), *update)
}

// applied is one verdict in the golden file.
type applied struct {
	Finding string       `json:"finding"`
	Verdict *vex.Verdict `json:"verdict"`
}

// TestFinal checks that a finding whose verdict is already final is left
// alone, and that the verdict the VEX provider gives is final for the
// providers after it.
func TestFinal(t *testing.T) {
	p, err := Load("testdata/openvex/image.json")
	if err != nil {
		t.Fatal(err)
	}
	inv := fixtureInventory()
	findings := fixtureFindings(inv)
	earlier := &vex.Verdict{Status: vex.Fixed, By: "triage/backport"}
	findings[5].Verdict = earlier
	later := laterProvider{vex.Verdict{Status: vex.NotAffected, Justification: vex.VulnerableCodeNotPresent}}
	if _, err := triage.Run(t.Context(), &triage.Input{Inventory: inv}, findings, []triage.Provider{p, later}); err != nil {
		t.Fatal(err)
	}
	if findings[5].Verdict != earlier {
		t.Errorf("a final verdict was replaced by %+v", findings[5].Verdict)
	}
	if v := findings[0].Verdict; v == nil || v.Status != vex.Affected || v.By != "vex:testdata/openvex/image.json" {
		t.Errorf("the VEX statement's affected verdict gave way to a later provider: %+v", v)
	}
	if v := findings[1].Verdict; v == nil || v.By != "triage/later" {
		t.Errorf("a finding no statement names was not left to the later provider: %+v", v)
	}
}

// laterProvider suppresses every finding, as an inferring provider would.
type laterProvider struct{ v vex.Verdict }

func (laterProvider) Name() string { return "later" }

func (l laterProvider) Judge(_ context.Context, _ *triage.Input, findings []match.Finding) ([]triage.Judgement, error) {
	js := make([]triage.Judgement, len(findings))
	for i := range findings {
		js[i] = triage.Judgement{Finding: i, Verdict: l.v}
	}
	return js, nil
}

func TestLoadErrors(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge.json")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Sparse: the size is refused before a byte is read.
	if err := os.Truncate(huge, MaxSize+1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, want string
	}{
		{"testdata/bad/truncated.json", "invalid JSON at byte 300"},
		{"testdata/bad/unrelated.json", "not a VEX document: neither OpenVEX"},
		{"testdata/bad/array.json", "not a VEX document: a JSON array, not an object"},
		{"testdata/bad/sbom.json", "not a VEX document: a CycloneDX BOM without vulnerabilities"},
		{"testdata/bad/cyclonedx.xml", "XML (CycloneDX is read as JSON)"},
		{"testdata/bad/openvex-status.json", `OpenVEX statement 0: CVE-2024-9143: invalid status value "unaffected"`},
		{"testdata/bad/openvex-notaffected.json", "OpenVEX statement 0: CVE-2024-9143: either justification or impact statement must be defined"},
		{"testdata/bad/openvex-noproduct.json", "OpenVEX statement 0: CVE-2024-9143: names no product"},
		{"testdata/bad/openvex-emptyproduct.json", "OpenVEX statement 0: CVE-2024-9143: product 0: no @id, identifiers or hashes"},
		{"testdata/bad/openvex-badpurl.json", `OpenVEX statement 0: CVE-2024-9143: product 0 subcomponent 0: @id: package URL "pkg:/libssl3"`},
		{"testdata/bad/openvex-novuln.json", "OpenVEX statement 0: names no vulnerability"},
		{"testdata/bad/openvex-v001.json", `OpenVEX @context "https://openvex.dev/ns": Vigil reads OpenVEX v0.2`},
		{"testdata/bad/openvex-badtime.json", `OpenVEX: parsing time "yesterday"`},
		{"testdata/bad/cdx-state.json", `CycloneDX vulnerability 0: CVE-2024-9143: unknown analysis state "fixed"`},
		{"testdata/bad/cdx-justification.json", `CycloneDX vulnerability 0: CVE-2024-9143: unknown analysis justification "not_reachable"`},
		{"testdata/bad/cdx-noaffects.json", "CycloneDX vulnerability 0: CVE-2024-9143: affects names no component"},
		{"testdata/bad/cdx-bomlink.json", "affects 0: BOM-Link \"urn:cdx:3e671687-395b-41d5-8d8e-0b2c1f5d3d7f/1\" names a whole BOM"},
		{"testdata/bad/cdx-property.json", `property vigil:verdict:justification: "not_needed" is no OpenVEX justification`},
		{"testdata/bad/cdx-badtime.json", "CycloneDX vulnerability 0: CVE-2024-9143: analysis.lastUpdated: parsing time"},
		{"testdata/bad/cdx-spec.json", "CycloneDX: invalid specification version"},
		{"testdata/bad/missing.json", "no such file or directory"},
		{"testdata/bad", "is a directory"},
		{huge, "larger than the 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			// A good file first: the error must name the bad one.
			_, err := Load("testdata/openvex/alias.json", tt.file)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "vex "+tt.file+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with %q and hold %q", err, "vex "+tt.file+": ", tt.want)
			}
		})
	}
}
