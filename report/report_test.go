package report

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/report/cyclonedx"
	"github.com/vigilsec/vigil/report/internal/reporttest"
	"github.com/vigilsec/vigil/report/openvex"
	"github.com/vigilsec/vigil/report/sarif"
	"github.com/vigilsec/vigil/report/spdx"
	"github.com/vigilsec/vigil/report/table"
	"github.com/vigilsec/vigil/report/vigiljson"
)

func TestNew(t *testing.T) {
	tests := []struct {
		format string
		opts   Options
		want   Writer
	}{
		{"table", Options{}, table.Writer{}},
		{"table", Options{ShowSuppressed: true}, table.Writer{ShowSuppressed: true}},
		{"json", Options{}, vigiljson.Writer{}},
		{"cyclonedx-json", Options{}, cyclonedx.Writer{}},
		{"spdx-json", Options{}, spdx.Writer{}},
		{"sarif", Options{}, sarif.Writer{}},
		{"openvex", Options{}, openvex.Writer{}},
	}
	formats := map[string]bool{}
	for _, tt := range tests {
		formats[tt.format] = true
		w, err := New(tt.format, tt.opts)
		if err != nil || w != tt.want {
			t.Errorf("New(%q) = %T, %v; want %T", tt.format, w, err, tt.want)
		}
	}
	if got, want := len(Formats()), len(formats); got != want {
		t.Errorf("Formats() has %d formats, the test knows %d", got, want)
	}
}

func TestNewUnknown(t *testing.T) {
	for _, f := range []string{"", "xml", "JSON", "cyclonedx"} {
		_, err := New(f, Options{})
		if err == nil {
			t.Errorf("New(%q): no error", f)
			continue
		}
		for _, known := range Formats() {
			if !strings.Contains(err.Error(), known) {
				t.Errorf("New(%q) error %q does not list %s", f, err, known)
			}
		}
	}
}

func TestFormats(t *testing.T) {
	want := []string{"cyclonedx-json", "json", "openvex", "sarif", "spdx-json", "table"}
	if got := Formats(); !slices.Equal(got, want) {
		t.Errorf("Formats() = %q, want %q", got, want)
	}
}

func TestIncompleteDocuments(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Document) *Document
	}{
		{"nil", func(*Document) *Document { return nil }},
		{"no inventory", func(d *Document) *Document { d.Inventory = nil; return d }},
		{"no tool", func(d *Document) *Document { d.Tool = ToolInfo{}; return d }},
		{"no time", func(d *Document) *Document { d.Created = time.Time{}; return d }},
	}
	for _, f := range Formats() {
		w, _ := New(f, Options{})
		for _, tt := range tests {
			var buf bytes.Buffer
			if err := w.Write(&buf, tt.mutate(reporttest.Document())); err == nil {
				t.Errorf("%s, %s: no error", f, tt.name)
			}
			if buf.Len() != 0 {
				t.Errorf("%s, %s: wrote %d bytes before failing", f, tt.name, buf.Len())
			}
		}
	}
}

// large returns a document with n components spread over ecosystems and
// layers, Go binaries of 50 modules each, and a few licenses in rotation.
func large(n int) *Document {
	doc := reporttest.Document()
	inv := doc.Inventory
	ls := []layers.Info{reporttest.BaseLayer, reporttest.AppLayer}
	licenses := [][]string{{"MIT"}, {"Apache-2.0 OR BSD-3-Clause"}, {"GPL-2+", "Zlib"}, nil}
	comps := make([]inventory.Component, n)
	for i := range comps {
		c := &comps[i]
		c.Ref = fmt.Sprintf("pkg-%016x", i)
		c.Version = fmt.Sprintf("1.%d.0", i%97)
		c.Layer = &ls[i%2]
		c.Licenses = licenses[i%len(licenses)]
		c.Cataloger = "test"
		switch i % 3 {
		case 0:
			c.Type, c.Namespace, c.Name = "deb", "debian", fmt.Sprintf("lib%d", i)
			c.PURL = fmt.Sprintf("pkg:deb/debian/%s@%s?arch=amd64", c.Name, c.Version)
			c.Locations = []string{"/var/lib/dpkg/status"}
			c.Source = &inventory.SourcePackage{Name: fmt.Sprintf("src%d", i/10), Version: c.Version}
		case 1:
			bin := fmt.Sprintf("/usr/local/bin/app%d", i/150)
			c.Type, c.Name = "golang", fmt.Sprintf("example.com/mod%d", i)
			c.PURL = fmt.Sprintf("pkg:golang/%s@v%s", c.Name, c.Version)
			c.Locations = []string{bin}
			c.Metadata = map[string]string{"go.binary": bin}
			if i%150 == 1 {
				c.Metadata["go.main"] = "true"
			}
		default:
			c.Type, c.Name = "pypi", fmt.Sprintf("pkg%d", i)
			c.PURL = fmt.Sprintf("pkg:pypi/%s@%s", c.Name, c.Version)
			c.Locations = []string{fmt.Sprintf("/usr/lib/python3/dist-packages/%s.dist-info/METADATA", c.Name)}
		}
	}
	inv.Components = comps
	return doc
}

// findingsOnly are the formats that name only the components with
// findings.
var findingsOnly = map[string]bool{"sarif": true, "openvex": true}

func TestLargeInventory(t *testing.T) {
	doc := large(10000)
	for _, f := range Formats() {
		w, _ := New(f, Options{})
		var buf bytes.Buffer
		if err := w.Write(&buf, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// Every component is named in every format that lists them; the
		// others are about findings.
		if findingsOnly[f] {
			continue
		}
		for _, i := range []int{0, 4999, 9999} {
			if name := doc.Inventory.Components[i].Name; !bytes.Contains(buf.Bytes(), []byte(name)) {
				t.Errorf("%s: no %s in the output", f, name)
			}
		}
	}
}

// BenchmarkWrite prints time and memory per format for 10,000 components;
// the figures should grow linearly with the count.
func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		doc := large(n)
		for _, f := range Formats() {
			w, _ := New(f, Options{})
			b.Run(fmt.Sprintf("%s/%d", f, n), func(b *testing.B) {
				b.ReportAllocs()
				var buf bytes.Buffer
				for b.Loop() {
					buf.Reset()
					if err := w.Write(&buf, doc); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(buf.Len()), "bytes/doc")
			})
		}
	}
}
