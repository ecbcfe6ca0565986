package sbom

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/package-url/packageurl-go"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/gobinary"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/report/internal/document"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in, id, expr string
	}{
		{in: "MIT", id: "MIT", expr: "MIT"},
		{in: "  mit ", id: "MIT", expr: "MIT"},
		{in: "apache-2.0", id: "Apache-2.0", expr: "Apache-2.0"},
		{in: "GPL-2.0+", id: "GPL-2.0+", expr: "GPL-2.0+"}, // deprecated, still on the list
		{in: "Apache-2.0+", expr: "Apache-2.0+"},
		{in: "Apache-2.0 OR BSD-3-Clause", expr: "Apache-2.0 OR BSD-3-Clause"},
		{in: "(mit OR apache-2.0) AND zlib", expr: "(MIT OR Apache-2.0) AND Zlib"},
		{in: "GPL-2.0-or-later WITH classpath-exception-2.0", expr: "GPL-2.0-or-later WITH Classpath-exception-2.0"},
		// Lower-case operators are not operators in SPDX.
		{in: "MIT or Apache-2.0"},
		// go-spdx normalises these; they are not on the list.
		{in: "Apache-2.0-only"},
		{in: "MIT-or-later"},
		// A LicenseRef- would need a definition the document does not have.
		{in: "LicenseRef-acme"},
		{in: "MIT AND LicenseRef-acme"},
		{in: "MIT WITH MIT"},
		{in: "Classpath-exception-2.0"},
		{in: "GPL-2+"}, // Debian's short name
		{in: "Apache License, Version 2.0"},
		{in: "MIT AND"},
		{in: "(MIT"},
		{in: strings.Repeat("MIT AND ", 100) + "MIT"}, // longer than any real expression
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := make(Licenses).Classify([]string{tt.in})
			if len(got) != 1 {
				t.Fatalf("Classify(%q) = %d licenses, want 1", tt.in, len(got))
			}
			l := got[0]
			if l.Declared != strings.TrimSpace(tt.in) || l.ID != tt.id || l.Expression != tt.expr {
				t.Errorf("Classify(%q) = %+v, want ID %q Expression %q", tt.in, l, tt.id, tt.expr)
			}
			if l.Expression != "" {
				if ok, bad := spdxexp.ValidateLicenses([]string{l.Expression}); !ok {
					t.Errorf("expression %q is invalid: %v", l.Expression, bad)
				}
			}
		})
	}
}

func TestClassifyDropsEmptyAndDuplicates(t *testing.T) {
	c := make(Licenses)
	got := c.Classify([]string{"MIT", "", " ", "MIT", "Zlib", " MIT"})
	var decl []string
	for _, l := range got {
		decl = append(decl, l.Declared)
	}
	if want := []string{"MIT", "Zlib"}; !slices.Equal(decl, want) {
		t.Errorf("Classify = %q, want %q", decl, want)
	}
}

func TestAnd(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"MIT"}, "MIT"},
		{[]string{"Apache-2.0 OR MIT"}, "Apache-2.0 OR MIT"},
		{[]string{"MIT", "Zlib"}, "MIT AND Zlib"},
		{[]string{"Apache-2.0 OR MIT", "Zlib", "LicenseRef-x"}, "(Apache-2.0 OR MIT) AND Zlib AND LicenseRef-x"},
	}
	for _, tt := range tests {
		if got := And(tt.in); got != tt.want {
			t.Errorf("And(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"MIT", "Apache-2.0 OR BSD-3-Clause", "(MIT OR Apache-2.0) AND Zlib", "GPL-2.0+", "GPL-2+", "GPL-2.0-or-later WITH Classpath-exception-2.0", "LicenseRef-x", "MIT or X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := make(Licenses).Classify([]string{s})
		if len(got) == 0 {
			return
		}
		l := got[0]
		if l.Expression == "" {
			return
		}
		if ok, _ := spdxexp.ValidateLicenses([]string{l.Expression}); !ok {
			t.Fatalf("Classify(%q) gave invalid expression %q", s, l.Expression)
		}
		// The rewritten form must itself be accepted as is.
		if again := classify(l.Expression); again.Expression != l.Expression {
			t.Fatalf("Classify(%q) = %q, which classifies as %q", s, l.Expression, again.Expression)
		}
	})
}

func TestProperties(t *testing.T) {
	layer := layers.Info{Index: 1, DiffID: "sha256:abc"}
	tests := []struct {
		name string
		c    inventory.Component
		want []Property
	}{
		{"nothing known", inventory.Component{}, []Property{}},
		{
			"everything",
			inventory.Component{
				Layer: &layer, Locations: []string{"/a", "/b"}, Cataloger: "dpkg",
				Source: &inventory.SourcePackage{Name: "glibc", Version: "2.36"},
			},
			[]Property{
				{PropLayer, "sha256:abc"}, {PropLayerIndex, "1"},
				{PropLocation, "/a"}, {PropLocation, "/b"},
				{PropCataloger, "dpkg"},
				{PropSourceName, "glibc"}, {PropSourceVersion, "2.36"},
			},
		},
		{
			"base layer without diffID, source without version",
			inventory.Component{Layer: &layers.Info{}, Source: &inventory.SourcePackage{Name: "zlib"}},
			[]Property{{PropLayerIndex, "0"}, {PropSourceName, "zlib"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Properties(&tt.c); !slices.Equal(got, tt.want) {
				t.Errorf("Properties = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewGraph(t *testing.T) {
	gomod := func(bin string, main bool) inventory.Component {
		c := inventory.Component{Type: "golang", Metadata: map[string]string{}}
		if bin != "" {
			c.Metadata[gobinary.MetaBinary] = bin
		}
		if main {
			c.Metadata[gobinary.MetaMain] = "true"
		}
		return c
	}
	comps := []inventory.Component{
		0:  {Type: "deb"},
		1:  gomod("/bin/a", false), // before its main module: order must not matter
		2:  gomod("/bin/a", true),
		3:  gomod("/bin/a", false),
		4:  {Type: "pypi"},
		5:  gomod("/bin/b", true), // two main modules: cannot tell whose deps are whose
		6:  gomod("/bin/b", true),
		7:  gomod("/bin/b", false),
		8:  gomod("/bin/c", false), // no main module
		9:  gomod("", false),       // no binary recorded
		10: {Type: "apk"},
		11: {Type: "rpm"},
		12: gomod("/bin/d", true), // main module alone
	}
	g := NewGraph(comps)
	if want := []int{0, 10, 11}; !slices.Equal(g.OSPackages, want) {
		t.Errorf("OSPackages = %v, want %v", g.OSPackages, want)
	}
	if len(g.Binaries) != 1 || g.Binaries[0].Main != 2 || !slices.Equal(g.Binaries[0].Deps, []int{1, 3}) {
		t.Errorf("Binaries = %+v, want main 2 with deps [1 3]", g.Binaries)
	}
	if want := []int{2, 4, 5, 6, 7, 8, 9, 12}; !slices.Equal(g.Top, want) {
		t.Errorf("Top = %v, want %v", g.Top, want)
	}
}

func TestImagePURL(t *testing.T) {
	const digest = "sha256:9a8c0e4bb1b3f6c8d2e7f10a4c5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c"
	tests := []struct {
		name string
		info image.Info
		want string
	}{
		{
			"registry with tag",
			image.Info{Scheme: "registry", Name: "ghcr.io/acme/payments:1.4.2", Digest: digest, Arch: "amd64"},
			"pkg:oci/payments@sha256:9a8c0e4bb1b3f6c8d2e7f10a4c5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c?arch=amd64&repository_url=ghcr.io%2Facme%2Fpayments&tag=1.4.2",
		},
		{
			"docker hub by digest",
			image.Info{Scheme: "registry", Name: "debian@" + digest, Digest: digest},
			"pkg:oci/debian@sha256:9a8c0e4bb1b3f6c8d2e7f10a4c5b6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c?repository_url=index.docker.io%2Flibrary%2Fdebian",
		},
		{"archive", image.Info{Scheme: "docker-archive", Name: "/tmp/x.tar", Digest: digest}, ""},
		{"no digest", image.Info{Scheme: "registry", Name: "debian:12"}, ""},
		{"bad name", image.Info{Scheme: "registry", Name: "Not A Reference", Digest: digest}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ImagePURL(tt.info)
			if got != tt.want {
				t.Errorf("ImagePURL = %q, want %q", got, tt.want)
			}
			if got == "" {
				return
			}
			p, err := packageurl.FromString(got)
			if err != nil {
				t.Fatalf("ImagePURL gave unparsable %q: %v", got, err)
			}
			if p.Type != "oci" || p.Version != tt.info.Digest {
				t.Errorf("parsed %+v: want type oci, version %s", p, tt.info.Digest)
			}
		})
	}
}

func TestDocumentID(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	doc := func(digest string, created time.Time) *document.Document {
		return &document.Document{
			Inventory: &inventory.Inventory{Source: image.Info{Scheme: "registry", Name: "debian:12", Digest: digest}},
			Created:   created,
		}
	}
	a := DocumentID(doc("sha256:aa", at), "spdx")
	if b := DocumentID(doc("sha256:aa", at.In(time.FixedZone("CET", 3600))), "spdx"); a != b {
		t.Errorf("the same instant in another zone names another document: %s, %s", a, b)
	}
	for name, other := range map[string]string{
		"another time":   DocumentID(doc("sha256:aa", at.Add(time.Nanosecond)), "spdx").String(),
		"another image":  DocumentID(doc("sha256:bb", at), "spdx").String(),
		"another format": DocumentID(doc("sha256:aa", at), "cyclonedx").String(),
	} {
		if other == a.String() {
			t.Errorf("%s gives the same id %s", name, a)
		}
	}
}

func TestUnique(t *testing.T) {
	used := map[string]bool{"a": true, "a-2": true}
	var got []string
	for _, want := range []string{"a", "a", "b", "b"} {
		got = append(got, Unique(used, want))
	}
	if want := []string{"a-3", "a-4", "b", "b-2"}; !slices.Equal(got, want) {
		t.Errorf("Unique gave %q, want %q", got, want)
	}
}
