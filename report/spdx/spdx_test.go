package spdx

import (
	"bytes"
	"flag"
	"github.com/vigilsec/vigil/internal/golden"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/package-url/packageurl-go"
	"github.com/santhosh-tekuri/jsonschema/v6"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/report/internal/document"
	"github.com/vigilsec/vigil/report/internal/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func schema(t testing.TB) *jsonschema.Schema {
	return reporttest.Schema(t, "testdata/spdx-schema.json")
}

// write renders doc, checks it against the official schema and reads it
// back with tools-golang.
func write(t testing.TB, sch *jsonschema.Schema, doc *document.Document) ([]byte, *v2_3.Document) {
	t.Helper()
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	reporttest.Validate(t, sch, buf.Bytes())
	var sdoc v2_3.Document
	if err := spdxjson.ReadInto(bytes.NewReader(buf.Bytes()), &sdoc); err != nil {
		t.Fatalf("tools-golang cannot read the output: %v", err)
	}
	checkDocument(t, &sdoc)
	return buf.Bytes(), &sdoc
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)

// checkDocument asserts what the schema does not: ids are well formed and
// unique, relationships point at elements that exist, license expressions
// are valid and every LicenseRef- they use is defined.
func checkDocument(t testing.TB, d *v2_3.Document) {
	t.Helper()
	ids := map[common.ElementID]bool{d.SPDXIdentifier: true}
	for _, p := range d.Packages {
		if !idPattern.MatchString(string(p.PackageSPDXIdentifier)) {
			t.Errorf("package %s: SPDXID SPDXRef-%s does not match SPDXRef-[A-Za-z0-9.-]+", p.PackageName, p.PackageSPDXIdentifier)
		}
		if ids[p.PackageSPDXIdentifier] {
			t.Errorf("SPDXID %s is used twice", p.PackageSPDXIdentifier)
		}
		ids[p.PackageSPDXIdentifier] = true
	}
	for _, r := range d.Relationships {
		for _, e := range []common.DocElementID{r.RefA, r.RefB} {
			if !ids[e.ElementRefID] {
				t.Errorf("relationship %s names unknown element %+v", r.Relationship, e)
			}
		}
	}
	defined := map[string]bool{}
	for _, l := range d.OtherLicenses {
		if !strings.HasPrefix(l.LicenseIdentifier, "LicenseRef-") || !idPattern.MatchString(strings.TrimPrefix(l.LicenseIdentifier, "LicenseRef-")) {
			t.Errorf("bad extracted license id %q", l.LicenseIdentifier)
		}
		if defined[l.LicenseIdentifier] {
			t.Errorf("extracted license %s defined twice", l.LicenseIdentifier)
		}
		defined[l.LicenseIdentifier] = true
	}
	refPattern := regexp.MustCompile(`LicenseRef-[A-Za-z0-9.-]+`)
	for _, p := range d.Packages {
		expr := p.PackageLicenseDeclared
		if expr == "NOASSERTION" {
			continue
		}
		if ok, bad := spdxexp.ValidateLicenses([]string{expr}); !ok {
			t.Errorf("package %s: licenseDeclared %q is not a valid expression: %v", p.PackageName, expr, bad)
		}
		for _, ref := range refPattern.FindAllString(expr, -1) {
			if !defined[ref] {
				t.Errorf("package %s: %s is not defined in hasExtractedLicensingInfos", p.PackageName, ref)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	out, _ := write(t, schema(t), reporttest.Document())
	golden.Bytes(t, "testdata/fixture.golden.json", out, *update)
}

func TestFixture(t *testing.T) {
	doc := reporttest.Document()
	inv := doc.Inventory
	_, d := write(t, schema(t), doc)

	if d.SPDXVersion != "SPDX-2.3" || d.DataLicense != "CC0-1.0" || d.DocumentName != inv.Source.Name {
		t.Errorf("header: %s %s %s", d.SPDXVersion, d.DataLicense, d.DocumentName)
	}
	if c := d.CreationInfo; len(c.Creators) != 1 || c.Creators[0].CreatorType != "Tool" || c.Creators[0].Creator != "vigil-0.1.0" || c.Created != "2026-03-14T09:26:53Z" {
		t.Errorf("creationInfo = %+v", c)
	}
	if len(d.Packages) != len(inv.Components)+2 {
		t.Fatalf("%d packages, want the image, the OS and %d components", len(d.Packages), len(inv.Components))
	}
	img, os := d.Packages[0], d.Packages[1]
	if img.PrimaryPackagePurpose != "CONTAINER" || img.PackageVersion != inv.Source.Digest {
		t.Errorf("image package = %+v", img)
	}
	if os.PrimaryPackagePurpose != "OPERATING_SYSTEM" || os.PackageName != "debian" || os.PackageVersion != "12" {
		t.Errorf("OS package = %+v", os)
	}

	rels := map[string][]common.ElementID{}
	for _, r := range d.Relationships {
		k := string(r.RefA.ElementRefID) + " " + r.Relationship
		rels[k] = append(rels[k], r.RefB.ElementRefID)
	}
	if got := rels["DOCUMENT DESCRIBES"]; !slices.Equal(got, []common.ElementID{img.PackageSPDXIdentifier}) {
		t.Errorf("DOCUMENT DESCRIBES %v, want the image", got)
	}
	contained := rels[string(img.PackageSPDXIdentifier)+" CONTAINS"]
	for i, p := range d.Packages[1:] {
		if !slices.Contains(contained, p.PackageSPDXIdentifier) {
			t.Errorf("image does not contain package %d %s", i+1, p.PackageName)
		}
	}

	for i := range inv.Components {
		c := &inv.Components[i]
		p := d.Packages[i+2]
		if p.PackageSPDXIdentifier != common.ElementID(c.Ref) || p.PackageName != document.FullName(c) || p.PackageVersion != c.Version {
			t.Errorf("package %d = %s %s %s, want %s %s %s", i, p.PackageSPDXIdentifier, p.PackageName, p.PackageVersion, c.Ref, document.FullName(c), c.Version)
		}
		if p.PackageDownloadLocation != "NOASSERTION" || p.PackageSupplier.Supplier != "NOASSERTION" || p.FilesAnalyzed {
			t.Errorf("%s: downloadLocation %q supplier %+v filesAnalyzed %v", c.Name, p.PackageDownloadLocation, p.PackageSupplier, p.FilesAnalyzed)
		}
		if len(p.PackageExternalReferences) != 1 || p.PackageExternalReferences[0].Locator != c.PURL ||
			p.PackageExternalReferences[0].Category != "PACKAGE-MANAGER" || p.PackageExternalReferences[0].RefType != "purl" {
			t.Errorf("%s: externalRefs %+v, want purl %s", c.Name, p.PackageExternalReferences, c.PURL)
		}
		if len(p.Annotations) != 1 || !strings.Contains(p.Annotations[0].AnnotationComment, "vigil:layer="+c.Layer.DiffID+"\n") {
			t.Errorf("%s: annotations %+v do not carry layer %s", c.Name, p.Annotations, c.Layer.DiffID)
		}
	}

	main := common.ElementID(reporttest.Ref(inv, "github.com/acme/payments"))
	var deps []string
	for _, id := range rels[string(main)+" DEPENDS_ON"] {
		for _, p := range d.Packages {
			if p.PackageSPDXIdentifier == id {
				deps = append(deps, p.PackageName)
			}
		}
	}
	slices.Sort(deps)
	if want := []string{"github.com/google/uuid", "golang.org/x/net", "stdlib"}; !slices.Equal(deps, want) {
		t.Errorf("main module DEPENDS_ON %q, want %q", deps, want)
	}
}

func TestPURLsParse(t *testing.T) {
	_, d := write(t, schema(t), reporttest.Document())
	n := 0
	for _, p := range d.Packages {
		for _, r := range p.PackageExternalReferences {
			n++
			if _, err := packageurl.FromString(r.Locator); err != nil {
				t.Errorf("%s: purl %q: %v", p.PackageName, r.Locator, err)
			}
		}
	}
	if n != len(d.Packages)-1 { // all but the OS
		t.Errorf("%d purls for %d packages", n, len(d.Packages))
	}
}

func TestLicenseDeclared(t *testing.T) {
	tests := []struct {
		name      string
		declared  []string
		want      string
		extracted []string // texts of the LicenseRef-s defined
	}{
		{"none", nil, "NOASSERTION", nil},
		{"id", []string{"mit"}, "MIT", nil},
		{"ids", []string{"GPL-2.0-or-later", "LGPL-2.1-or-later"}, "GPL-2.0-or-later AND LGPL-2.1-or-later", nil},
		{"expression and id", []string{"Apache-2.0 OR MIT", "Zlib"}, "(Apache-2.0 OR MIT) AND Zlib", nil},
		{"free text", []string{"Apache License, Version 2.0"}, "LicenseRef-Apache-License-Version-2.0", []string{"Apache License, Version 2.0"}},
		{"free text and id", []string{"GPL-2+", "Zlib"}, "LicenseRef-GPL-2 AND Zlib", []string{"GPL-2+"}},
		{"texts that sanitise alike", []string{"GPL 2", "GPL-2"}, "LicenseRef-GPL-2 AND LicenseRef-GPL-2-2", []string{"GPL 2", "GPL-2"}},
		{"a LicenseRef the document does not define", []string{"LicenseRef-acme"}, "LicenseRef-LicenseRef-acme", []string{"LicenseRef-acme"}},
		{"broken expression", []string{"MIT AND ("}, "LicenseRef-MIT-AND", []string{"MIT AND ("}},
		{"nothing but symbols", []string{"©"}, "LicenseRef-unknown", []string{"©"}},
	}
	sch := schema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := reporttest.Document()
			doc.Inventory.Components = doc.Inventory.Components[:1]
			doc.Inventory.Components[0].Licenses = tt.declared
			_, d := write(t, sch, doc)
			if got := d.Packages[2].PackageLicenseDeclared; got != tt.want {
				t.Errorf("licenseDeclared = %q, want %q", got, tt.want)
			}
			var texts []string
			for _, l := range d.OtherLicenses {
				texts = append(texts, l.ExtractedText)
			}
			if !slices.Equal(texts, tt.extracted) {
				t.Errorf("extracted texts = %q, want %q", texts, tt.extracted)
			}
		})
	}
}

func TestLicenseRefsAreShared(t *testing.T) {
	doc := reporttest.Document()
	comps := doc.Inventory.Components[:2]
	comps[0].Licenses = []string{"public-domain"}
	comps[1].Licenses = []string{"public-domain", "MIT"}
	doc.Inventory.Components = comps
	_, d := write(t, schema(t), doc)
	if len(d.OtherLicenses) != 1 {
		t.Errorf("%d extracted licenses, want one for both packages", len(d.OtherLicenses))
	}
	if a, b := d.Packages[2].PackageLicenseDeclared, d.Packages[3].PackageLicenseDeclared; a != "LicenseRef-public-domain" || b != a+" AND MIT" {
		t.Errorf("licenseDeclared = %q, %q", a, b)
	}
}

func TestSPDXIDs(t *testing.T) {
	doc := reporttest.Document()
	doc.Inventory.Components = []inventory.Component{
		{Ref: "pkg/with:odd@chars"},
		{Ref: "pkg-with-odd-chars"}, // what the first sanitises to
		{Ref: "image"},              // what the image package wants
		{Ref: "DOCUMENT"},
		{Ref: "ünïcode"},
	}
	_, d := write(t, schema(t), doc)
	var got []string
	for _, p := range d.Packages[2:] {
		got = append(got, string(p.PackageSPDXIdentifier))
	}
	want := []string{"pkg-with-odd-chars", "pkg-with-odd-chars-2", "image-2", "DOCUMENT-2", "n-code"}
	if !slices.Equal(got, want) {
		t.Errorf("ids = %q, want %q", got, want)
	}
}

func TestNamespace(t *testing.T) {
	ns := func(doc *document.Document) string {
		_, d := write(t, schema(t), doc)
		return d.DocumentNamespace
	}
	doc := reporttest.Document()
	a := ns(doc)
	if !strings.HasPrefix(a, namespaceBase+"ghcr.io-acme-payments-1.4.2-") {
		t.Errorf("namespace %s", a)
	}
	if b := ns(reporttest.Document()); a != b {
		t.Errorf("the same scan renders two namespaces: %s, %s", a, b)
	}
	doc.Created = doc.Created.Add(time.Second)
	if b := ns(doc); a == b {
		t.Errorf("another scan reuses namespace %s", a)
	}
}

func TestMinimalDocuments(t *testing.T) {
	sch := schema(t)
	for name, inv := range map[string]*inventory.Inventory{
		"empty":                  {},
		"component with nothing": {Components: []inventory.Component{{}}},
	} {
		t.Run(name, func(t *testing.T) {
			doc := reporttest.Document()
			doc.Inventory = inv
			write(t, sch, doc)
		})
	}
}

// TestSchemaCatchesMistakes shows that the schema check can fail.
func TestSchemaCatchesMistakes(t *testing.T) {
	sch := schema(t)
	out, _ := write(t, sch, reporttest.Document())
	reporttest.SchemaRejects(t, sch, out, []reporttest.Mutation{
		{Name: "unknown purpose", Mutate: func(doc map[string]any) { pkg(doc, 0)["primaryPackagePurpose"] = "IMAGE" }},
		{Name: "no download location", Mutate: func(doc map[string]any) { delete(pkg(doc, 2), "downloadLocation") }},
		{Name: "unknown field", Mutate: func(doc map[string]any) { pkg(doc, 2)["layer"] = "sha256:00" }},
	})
}

func pkg(doc map[string]any, i int) map[string]any {
	return doc["packages"].([]any)[i].(map[string]any)
}

// FuzzLicenseDeclared feeds arbitrary license strings, as an image can, and
// checks that the document still holds only valid, defined expressions.
func FuzzLicenseDeclared(f *testing.F) {
	for _, s := range []string{"MIT", "Apache-2.0 OR BSD-3-Clause", "GPL-2+", "Apache License, Version 2.0", "LicenseRef-x", "(MIT", "MIT AND ("} {
		f.Add(s, "Zlib")
	}
	sch := schema(f)
	f.Fuzz(func(t *testing.T, a, b string) {
		doc := reporttest.Document()
		doc.Inventory.Components = doc.Inventory.Components[:2]
		doc.Inventory.Components[0].Licenses = []string{a, b}
		doc.Inventory.Components[1].Licenses = []string{b}
		write(t, sch, doc)
	})
}
