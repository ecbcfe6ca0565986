// Package reporttest gives the report format tests one realistic document,
// golden-file comparison and offline JSON schema validation.
package reporttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
)

// Created is the fixed creation time of Document, so that golden files do
// not change from run to run.
var Created = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// The layers of the fixture image: a Debian bookworm base and one
// application layer. The digests are the shape real ones have.
var (
	BaseLayer = layers.Info{
		Index:     0,
		Digest:    "sha256:2d429b9e73a6cf90a5bb85105c8118b30a1b2deedeae3ea9587055ffcb80eb45",
		DiffID:    "sha256:8d853c8add5d1e7b0aafc4b68a3d9fb8e7a0da27970c2acf831fe63be4a0cd2c",
		MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		Size:      29126484,
		CreatedBy: "# debian.sh --arch 'amd64' out/ 'bookworm' '@1733097600'",
		Created:   time.Date(2024, 12, 2, 0, 0, 0, 0, time.UTC),
		Base:      true,
	}
	AppLayer = layers.Info{
		Index:     1,
		Digest:    "sha256:5c5fb1a7d1e0a8c6f1d2b3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718",
		DiffID:    "sha256:f3c9a0d4b8e27e51c6a4d9b0e7f21c3d5a6b8e9f0a1c2d3e4f5a6b7c8d9e0f1a",
		MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		Size:      18342211,
		CreatedBy: "COPY /out/ / # buildkit",
		Created:   time.Date(2026, 3, 13, 17, 4, 11, 0, time.UTC),
	}
	// CleanupLayer deletes a file AppLayer added; its bytes still ship in
	// AppLayer's blob.
	CleanupLayer = layers.Info{
		Index:     2,
		Digest:    "sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
		DiffID:    "sha256:7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f",
		MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		Size:      93,
		CreatedBy: "RUN /bin/sh -c rm /root/.npmrc # buildkit",
		Created:   time.Date(2026, 3, 13, 17, 4, 12, 0, time.UTC),
	}
)

// Document returns a document over a realistic inventory: a Debian 12 image
// with dpkg packages (and their source packages), a Go binary with its
// modules and standard library, a Python, an npm scoped and a Maven package,
// with vulnerability findings and hygiene issues.
// Licenses mix SPDX ids, a compound expression and free text, as package
// metadata does. Each call returns a new document the caller may change.
func Document() *document.Document {
	base, app, cleanup := BaseLayer, AppLayer, CleanupLayer
	deb := func(name, version, arch, srcName, srcVersion string, licenses ...string) inventory.Component {
		purl := "pkg:deb/debian/" + name + "@" + escapeVersion(version) + "?arch=" + arch + "&distro=debian-12"
		if srcName != name {
			purl += "&upstream=" + srcName
		}
		c := inventory.Component{
			Type: "deb", Namespace: "debian", Name: name, Version: version, Arch: arch,
			PURL: purl, Licenses: licenses,
			Locations: []string{"/var/lib/dpkg/status"},
			Cataloger: "dpkg", Layer: &base,
			History:  []inventory.LayerEvent{{Layer: 0, Op: layers.Added, Version: version}},
			Metadata: map[string]string{"dpkg.status": "install ok installed"},
		}
		if srcName != "" {
			c.Source = &inventory.SourcePackage{Name: srcName, Version: srcVersion}
		}
		return c
	}
	// As the go-binary cataloger reports modules: the purl's namespace and
	// name, every component carrying the binary's path.
	gomod := func(ns, name, version, purl string, meta map[string]string) inventory.Component {
		m := map[string]string{"go.binary": "/usr/local/bin/payments", "go.toolchain": "go1.23.4"}
		for k, v := range meta {
			m[k] = v
		}
		return inventory.Component{
			Type: "golang", Namespace: ns, Name: name, Version: version, PURL: purl,
			Locations: []string{"/usr/local/bin/payments"}, Cataloger: "go-binary", Layer: &app,
			History:  []inventory.LayerEvent{{Layer: 1, Op: layers.Added, Version: version}},
			Metadata: m,
		}
	}
	comps := []inventory.Component{
		deb("ca-certificates", "20230311", "all", "ca-certificates", "20230311", "GPL-2.0-or-later", "MPL-2.0"),
		deb("libc6", "2.36-9+deb12u10", "amd64", "glibc", "2.36-9+deb12u10", "LGPL-2.1-or-later", "GPL-2.0-or-later"),
		deb("libssl3", "3.0.14-1~deb12u2", "amd64", "openssl", "3.0.14-1~deb12u2", "Apache-2.0"),
		deb("tzdata", "2024b-0+deb12u1", "all", "tzdata", "2024b-0+deb12u1", "public-domain"),
		deb("zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib", "1:1.2.13.dfsg-1", "Zlib"),
		gomod("github.com/acme", "payments", "v1.4.2", "pkg:golang/github.com/acme/payments@v1.4.2", map[string]string{"go.main": "true"}),
		gomod("github.com/google", "uuid", "v1.6.0", "pkg:golang/github.com/google/uuid@v1.6.0", map[string]string{"go.sum": "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0="}),
		gomod("golang.org/x", "net", "v0.33.0", "pkg:golang/golang.org/x/net@v0.33.0", nil),
		gomod("", "stdlib", "go1.23.4", "pkg:golang/stdlib@go1.23.4", nil),
		{
			Type: "maven", Namespace: "org.apache.logging.log4j", Name: "log4j-core", Version: "2.17.1",
			PURL:      "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1",
			Licenses:  []string{"Apache License, Version 2.0"},
			Locations: []string{"/opt/payments/lib/log4j-core-2.17.1.jar"}, Cataloger: "java-archive", Layer: &app,
			Metadata: map[string]string{"maven.groupId": "org.apache.logging.log4j"},
		},
		{
			Type: "npm", Namespace: "@babel", Name: "core", Version: "7.23.7",
			PURL:      "pkg:npm/%40babel/core@7.23.7",
			Licenses:  []string{"MIT"},
			Locations: []string{"/opt/payments/ui/node_modules/@babel/core/package.json"}, Cataloger: "npm", Layer: &app,
		},
		{
			Type: "pypi", Name: "cryptography", Version: "41.0.7",
			PURL:      "pkg:pypi/cryptography@41.0.7",
			Licenses:  []string{"Apache-2.0 OR BSD-3-Clause"},
			Locations: []string{"/usr/lib/python3/dist-packages/cryptography-41.0.7.dist-info/METADATA"}, Cataloger: "python", Layer: &app,
		},
	}
	// The application layer upgraded libssl3: the base's version is
	// removed, and its findings are kept as not present.
	for i := range comps {
		if comps[i].Name == "libssl3" {
			comps[i].Layer = &app
			comps[i].History = []inventory.LayerEvent{{Layer: 0, Op: layers.Added, Version: "3.0.11-1~deb12u2"}, {Layer: 1, Op: layers.Modified, Version: "3.0.14-1~deb12u2"}}
		}
	}
	removed := []inventory.Component{deb("libssl3", "3.0.11-1~deb12u2", "amd64", "openssl", "3.0.11-1~deb12u2", "Apache-2.0")}
	removed[0].History = []inventory.LayerEvent{{Layer: 0, Op: layers.Added, Version: "3.0.11-1~deb12u2"}, {Layer: 1, Op: layers.Modified, Version: "3.0.14-1~deb12u2"}}
	for i := range comps {
		comps[i].Ref = ref(&comps[i])
	}
	removed[0].Ref = ref(&removed[0])
	return &document.Document{
		Inventory: &inventory.Inventory{
			Source: image.Info{
				Ref:    "ghcr.io/acme/payments:1.4.2",
				Scheme: "registry",
				Name:   "ghcr.io/acme/payments:1.4.2",
				Digest: "sha256:9a8c0e4bb1b3f6c8d2e7f10a4c5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c",
				Config: "sha256:1f2e3d4c5b6a79880716f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a",
				OS:     "linux",
				Arch:   "amd64",
			},
			Distro: &inventory.Distro{
				ID: "debian", VersionID: "12", Codename: "bookworm",
				PrettyName: "Debian GNU/Linux 12 (bookworm)",
			},
			Layers:     []layers.Info{base, app, cleanup},
			Components: comps,
			Removed:    removed,
			Warnings:   []string{"cataloger python (layer 1): read /usr/lib/python3/dist-packages/broken.dist-info/METADATA: unexpected EOF"},
		},
		Tool:     document.ToolInfo{Name: "vigil", Version: "0.1.0"},
		Created:  Created,
		Findings: findings(append(comps, removed...)),
		MatchStats: &match.Stats{
			Components:  len(comps),
			Checked:     map[string]int{"Debian:12": 5, "Go": 4, "PyPI": 1},
			Vulnerable:  map[string]int{"Debian:12": 2, "Go": 1},
			Unsupported: map[string]int{"no matcher for maven": 1, "no matcher for npm": 1},
			Warnings:    map[string]int{},
		},
		Database: &document.DatabaseInfo{
			Built: time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC),
			Sources: []document.DatabaseSource{
				{Name: "osv/Debian", Snapshot: time.Date(2025, 2, 12, 23, 1, 7, 0, time.UTC)},
				{Name: "osv/Go"},
				{Name: "kev", Snapshot: time.Date(2025, 8, 25, 0, 0, 0, 0, time.UTC)},
				{Name: "cvss"},
			},
		},
		Issues: issues(comps, &app, &cleanup),
	}
}

// findings are what matching the fixture's inventory against the records
// in /work/shared/vulndata finds, one of each kind a writer must render:
// a fixed Debian CVE, a Go standard library one in the KEV catalog, one with
// no CVSS vector anywhere (and no fix), one the data lists as open that
// triage found fixed by a backport, with its evidence, and one of a package
// version a later layer replaced. Ids, versions,
// vectors and texts are the records'.
func findings(comps []inventory.Component) []match.Finding {
	byName := func(name string) (match.ComponentRef, *layers.Info) {
		for i := range comps {
			if c := &comps[i]; c.Name == name {
				return match.ComponentRef{Ref: c.Ref, Type: c.Type, Name: c.Name, Version: c.Version, PURL: c.PURL, Source: c.Source}, c.Layer
			}
		}
		panic("reporttest: no component " + name)
	}
	libssl, libsslLayer := byName("libssl3")
	var oldSSL match.ComponentRef
	for i := range comps {
		if c := &comps[i]; c.Name == "libssl3" && c.Version == "3.0.11-1~deb12u2" {
			oldSSL = match.ComponentRef{Ref: c.Ref, Type: c.Type, Name: c.Name, Version: c.Version, PURL: c.PURL, Source: c.Source}
		}
	}
	base := BaseLayer
	libc, libcLayer := byName("libc6")
	stdlib, stdlibLayer := byName("stdlib")
	debian := func(id string) []match.DataSource {
		return []match.DataSource{{Ecosystem: "Debian:12", Package: "openssl", ID: id}}
	}
	return []match.Finding{
		{
			ID:               "CVE-2024-9143",
			Summary:          "Use of the low-level GF(2^m) elliptic curve APIs with untrusted explicit values for the field polynomial can lead to out-of-bounds memory reads or writes.",
			Component:        libssl,
			RootCause:        "deb/openssl@3.0.14-1~deb12u2",
			InstalledVersion: "3.0.14-1~deb12u2",
			FixedVersion:     "3.0.15-1~deb12u1",
			FixedVersions:    []string{"3.0.15-1~deb12u1"},
			FixState:         match.FixStateFixed,
			Severity:         match.SeverityMedium,
			CVSS:             []match.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:L/A:N", Score: 4.3, Source: "cvss:adp"}},
			Layer:            libsslLayer,
			References:       []vulndb.Reference{{Type: "ADVISORY", URL: "https://security-tracker.debian.org/tracker/CVE-2024-9143"}},
			DataSources:      debian("CVE-2024-9143"),
		},
		{
			ID:               "CVE-2024-13176",
			Summary:          "A timing side-channel which could potentially allow recovering the private key exists in the ECDSA signature computation.",
			Component:        libssl,
			RootCause:        "deb/openssl@3.0.14-1~deb12u2",
			InstalledVersion: "3.0.14-1~deb12u2",
			FixState:         match.FixStateNotFixed,
			Severity:         match.SeverityUnknown,
			Layer:            libsslLayer,
			References:       []vulndb.Reference{{Type: "ADVISORY", URL: "https://security-tracker.debian.org/tracker/CVE-2024-13176"}},
			DataSources:      debian("CVE-2024-13176"),
		},
		{
			// The Debian snapshot lists CVE-2025-0395 as open; 2.36-9+deb12u10
			// fixed it, as its changelog says.
			ID:               "CVE-2025-0395",
			Related:          []string{"USN-7259-1"},
			Summary:          "When the assert() function in the GNU C Library versions 2.13 to 2.40 fails, it does not allocate enough space for the assertion failure message string and size information, which may lead to a buffer overflow if the message string size aligns to page size.",
			Component:        libc,
			RootCause:        "deb/glibc@2.36-9+deb12u10",
			InstalledVersion: "2.36-9+deb12u10",
			FixState:         match.FixStateNotFixed,
			Severity:         match.SeverityUnknown,
			Layer:            libcLayer,
			DataSources:      []match.DataSource{{Ecosystem: "Debian:12", Package: "glibc", ID: "CVE-2025-0395"}},
			Verdict: &vex.Verdict{
				Status: vex.Fixed,
				Impact: "The installed glibc 2.36-9+deb12u10 carries the fix, backported by Debian.",
				Evidence: []vex.Evidence{{
					Kind:     "changelog",
					Location: "/usr/share/doc/libc6/changelog.Debian.gz",
					Detail:   "glibc (2.36-9+deb12u10): Fix a buffer overflow in assert() (CVE-2025-0395).",
				}},
				By: "triage/backport",
			},
		},
		{
			// The record's severity is NVD's; the KEV entry is the fixture's
			// own: no standard library CVE go1.23.4 has is in the catalog,
			// and the writers must show one.
			ID:               "CVE-2025-22871",
			Aliases:          []string{"GO-2025-3563"},
			Summary:          "Request smuggling due to acceptance of invalid chunked data in net/http",
			Component:        stdlib,
			RootCause:        "golang/stdlib@go1.23.4",
			InstalledVersion: "go1.23.4",
			Priority:         &match.Priority{Score: 90, Factors: []string{"kev", "fix available", "severity critical"}},
			FixedVersion:     "1.23.8",
			FixedVersions:    []string{"1.23.8"},
			FixState:         match.FixStateFixed,
			Severity:         match.SeverityCritical,
			CVSS:             []match.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", Score: 9.1, Source: "cvss:nvd"}},
			KEV:              &vulndb.KEV{DateAdded: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)},
			Layer:            stdlibLayer,
			Symbols:          []vulndb.Import{{Path: "net/http/internal", Symbols: []string{"chunkedReader.Read", "readChunkLine"}}},
			References:       []vulndb.Reference{{Type: "FIX", URL: "https://go.dev/cl/652998"}, {Type: "REPORT", URL: "https://go.dev/issue/71988"}},
			DataSources:      []match.DataSource{{Ecosystem: "Go", Package: "stdlib", ID: "GO-2025-3563"}},
		},
		{
			ID:               "CVE-2023-5678",
			Summary:          "Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow.",
			Component:        oldSSL,
			RootCause:        "deb/openssl@3.0.11-1~deb12u2",
			InstalledVersion: "3.0.11-1~deb12u2",
			FixedVersion:     "3.0.13-1~deb12u1",
			FixedVersions:    []string{"3.0.13-1~deb12u1"},
			FixState:         match.FixStateFixed,
			Severity:         match.SeverityMedium,
			CVSS:             []match.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", Score: 5.3, Source: "osv:CVE-2023-5678"}},
			Layer:            &base,
			DataSources:      debian("CVE-2023-5678"),
			Verdict: &vex.Verdict{
				Status:        vex.NotAffected,
				Justification: vex.ComponentNotPresent,
				Impact:        "libssl3 3.0.11-1~deb12u2 is not in the final image: added 3.0.11-1~deb12u2 in layer 0, replaced 3.0.11-1~deb12u2 by 3.0.14-1~deb12u2 in layer 1 by `COPY /out/ / # buildkit`.",
				Evidence:      []vex.Evidence{{Kind: "layer", Location: base.DiffID, Detail: "added 3.0.11-1~deb12u2 in layer 0, replaced 3.0.11-1~deb12u2 by 3.0.14-1~deb12u2 in layer 1 by `COPY /out/ / # buildkit`"}},
				By:            "triage/supersede",
			},
		},
	}
}

// issues are one hygiene issue of each kind the formats render
// differently: a secret a later layer deleted, an address in the image
// config, and a package file changed after installation.
func issues(comps []inventory.Component, app, cleanup *layers.Info) []hygiene.Issue {
	return []hygiene.Issue{
		{
			Rule:        "vigil/secret",
			Severity:    hygiene.Critical,
			Title:       "npm access token in a deleted file",
			Message:     "/root/.npmrc holds an npm access token; layer 2 deletes the file, but layer 1 still ships it.",
			Path:        "/root/.npmrc",
			Layer:       app,
			DeletedIn:   cleanup,
			Evidence:    "//registry.npmjs.org/:_authToken=npm_Xr7…",
			Remediation: "Revoke the token, and pass it to the build as a secret mount instead of copying it into a layer.",
		},
		{
			Rule:        "vigil/personal-email",
			Severity:    hygiene.Low,
			Title:       "personal e-mail address in the image config",
			Message:     "The maintainer label names a personal address.",
			Field:       "config.Labels.maintainer",
			Evidence:    "j…@gmail.com",
			Remediation: "Name a team address or the organisation instead.",
		},
		{
			Rule:        "vigil/modified-file",
			Severity:    hygiene.High,
			Title:       "package file changed after installation",
			Message:     "/usr/lib/x86_64-linux-gnu/libssl.so.3 does not match the digest dpkg recorded for libssl3; layer 1 replaced it.",
			Path:        "/usr/lib/x86_64-linux-gnu/libssl.so.3",
			Layer:       app,
			Remediation: "Install changed libraries as packages, or rebuild from a clean base.",
			Component:   Ref(&inventory.Inventory{Components: comps}, "libssl3"),
		},
	}
}

// ref mimics the inventory's references: stable, unique, opaque.
func ref(c *inventory.Component) string {
	sum := sha256.Sum256([]byte(c.Type + "\x00" + c.Namespace + "\x00" + c.Name + "\x00" + c.Version))
	return "pkg-" + hex.EncodeToString(sum[:8])
}

// escapeVersion percent-encodes what package URLs must in a Debian version.
func escapeVersion(v string) string {
	var b bytes.Buffer
	for _, r := range v {
		switch r {
		case '+':
			b.WriteString("%2B")
		case ':':
			b.WriteString("%3A")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Schema compiles the JSON schema in file main, resolving references to the
// other files by their $id, from disk only: tests must not need the network.
func Schema(t testing.TB, main string, others ...string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	var mainID string
	for i, file := range append([]string{main}, others...) {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		// Draft-04 schemas (SARIF's) name themselves with "id".
		m, _ := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			id, _ = m["id"].(string)
		}
		if id == "" {
			t.Fatalf("%s has no $id", file)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("add %s: %v", file, err)
		}
		if i == 0 {
			mainID = id
		}
	}
	sch, err := c.Compile(mainID)
	if err != nil {
		t.Fatalf("compile %s: %v", main, err)
	}
	return sch
}

// Validate checks a JSON document against sch.
func Validate(t testing.TB, sch *jsonschema.Schema, data []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("output does not match the schema: %v", err)
	}
}

// Mutation is one way of breaking a valid JSON document.
type Mutation struct {
	Name   string
	Mutate func(doc map[string]any)
}

// SchemaRejects checks that sch rejects valid, a document sch accepts, once
// each mutation is applied to it: proof that validation can fail.
func SchemaRejects(t *testing.T, sch *jsonschema.Schema, valid []byte, mutations []Mutation) {
	t.Helper()
	for _, m := range mutations {
		t.Run(m.Name, func(t *testing.T) {
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(valid))
			if err != nil {
				t.Fatal(err)
			}
			m.Mutate(inst.(map[string]any))
			if err := sch.Validate(inst); err == nil {
				t.Error("the schema accepts it")
			}
		})
	}
}

// Ref returns the ref of the first component of inv whose full name is name.
func Ref(inv *inventory.Inventory, name string) string {
	for i := range inv.Components {
		if c := &inv.Components[i]; document.FullName(c) == name {
			return c.Ref
		}
	}
	return ""
}
