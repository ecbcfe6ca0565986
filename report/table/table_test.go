package table

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/report/internal/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func render(t *testing.T, inv *inventory.Inventory) string {
	t.Helper()
	doc := reporttest.Document()
	if inv != nil {
		doc.Inventory = inv
	}
	var buf bytes.Buffer
	if err := (Writer{}).Write(&buf, doc); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGolden(t *testing.T) {
	reporttest.Golden(t, "testdata/fixture.golden", []byte(render(t, nil)), *update)
}

// rows returns the cells of the component rows, split on the column
// starts of the header line. tabwriter aligns code points, not bytes.
func rows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "NAME ") })
	if h < 0 {
		t.Fatalf("no header row in:\n%s", out)
	}
	header := lines[h]
	var starts []int
	for _, col := range []string{"NAME", "VERSION", "TYPE", "LAYER"} {
		starts = append(starts, strings.Index(header, col))
	}
	var out2 [][]string
	for _, line := range lines[h+1:] {
		if line == "" {
			break
		}
		l := []rune(line)
		var cells []string
		for i, s := range starts {
			end := len(l)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			if s > len(l) || end > len(l) {
				t.Fatalf("row %q is not aligned with header %q", l, header)
			}
			cells = append(cells, strings.TrimRight(string(l[s:end]), " "))
		}
		out2 = append(out2, cells)
	}
	return out2
}

func TestRowsSortedByTypeNameVersion(t *testing.T) {
	doc := reporttest.Document()
	inv := doc.Inventory
	// Shuffle away the fixture's order so the writer has to sort, and add
	// two versions of one package in descending order.
	slices.Reverse(inv.Components)
	inv.Components = append(inv.Components,
		inventory.Component{Type: "pypi", Name: "requests", Version: "2.32.3"},
		inventory.Component{Type: "pypi", Name: "requests", Version: "2.31.0"},
	)
	rs := rows(t, render(t, inv))
	if len(rs) != len(inv.Components) {
		t.Fatalf("%d rows for %d components", len(rs), len(inv.Components))
	}
	sorted := slices.IsSortedFunc(rs, func(a, b []string) int {
		return strings.Compare(a[2]+"\x00"+a[0]+"\x00"+a[1], b[2]+"\x00"+b[0]+"\x00"+b[1])
	})
	if !sorted {
		t.Errorf("rows are not sorted by type, name, version: %q", rs)
	}
}

func TestEqualRowsKeepInventoryOrder(t *testing.T) {
	// The same package found at two places: same type, name and version.
	inv := &inventory.Inventory{Components: []inventory.Component{
		{Type: "npm", Name: "left-pad", Version: "1.3.0", Layer: &layers.Info{Index: 2}},
		{Type: "npm", Name: "left-pad", Version: "1.3.0", Layer: &layers.Info{Index: 1}},
	}}
	rs := rows(t, render(t, inv))
	if len(rs) != 2 || rs[0][3] != "#2" || rs[1][3] != "#1" {
		t.Errorf("rows = %q, want layer #2 then #1", rs)
	}
}

func TestCells(t *testing.T) {
	tests := []struct {
		name string
		c    inventory.Component
		want []string
	}{
		{"npm scope", inventory.Component{Type: "npm", Namespace: "@babel", Name: "core", Version: "7.23.7"}, []string{"@babel/core", "7.23.7", "npm", "-"}},
		{"maven group", inventory.Component{Type: "maven", Namespace: "org.yaml", Name: "snakeyaml", Version: "2.2"}, []string{"org.yaml:snakeyaml", "2.2", "maven", "-"}},
		{"deb namespace is not shown", inventory.Component{Type: "deb", Namespace: "debian", Name: "bash", Version: "5.2.15-2+b7"}, []string{"bash", "5.2.15-2+b7", "deb", "-"}},
		{
			"layer",
			inventory.Component{Type: "golang", Name: "stdlib", Version: "go1.23.4", Layer: &layers.Info{Index: 3, DiffID: "sha256:f3c9a0d4b8e27e51c6a4d9b0e7f21c3d5a6b8e9f0a1c2d3e4f5a6b7c8d9e0f1a"}},
			[]string{"stdlib", "go1.23.4", "golang", "#3 f3c9a0d4b8e2"},
		},
		{"layer without diffID", inventory.Component{Type: "apk", Name: "musl", Version: "1.2.5-r0", Layer: &layers.Info{Index: 0}}, []string{"musl", "1.2.5-r0", "apk", "#0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := rows(t, render(t, &inventory.Inventory{Components: []inventory.Component{tt.c}}))
			if len(rs) != 1 || !slices.Equal(rs[0], tt.want) {
				t.Errorf("row = %q, want %q", rs, tt.want)
			}
		})
	}
}

func TestHostileTextIsEscaped(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"terminal escape", "evil\x1b[2J\x1b[31m", `evil\x1b[2J\x1b[31m`},
		{"tab breaks columns", "a\tb", `a\tb`},
		{"newline forges a row", "pkg\nroot 1.0 deb #0", `pkg\nroot 1.0 deb #0`},
		{"bidi override", "gnp.\u202eexe", `gnp.\u202eexe`},
		{"invalid UTF-8", "caf\xe9", `caf\xe9`},
		{"printable unicode is kept", "naïve-库", "naïve-库"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &inventory.Inventory{
				Distro:     &inventory.Distro{ID: "x", PrettyName: tt.in},
				Components: []inventory.Component{{Type: "deb", Name: tt.in, Version: tt.in}},
				Warnings:   []string{tt.in},
			}
			out := render(t, inv)
			for _, r := range out {
				if r != '\n' && (!unicode.IsPrint(r) || r == unicode.ReplacementChar) {
					t.Fatalf("output holds %U:\n%q", r, out)
				}
			}
			rs := rows(t, out)
			if len(rs) != 1 || rs[0][0] != tt.want || rs[0][1] != tt.want {
				t.Errorf("row = %q, want name and version %q", rs, tt.want)
			}
			if !strings.Contains(out, "Distro:      "+tt.want+"\n") || !strings.Contains(out, "  "+tt.want+"\n") {
				t.Errorf("distro or warning not escaped as %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	out := render(t, &inventory.Inventory{})
	for _, want := range []string{"Image:       unknown\n", "Distro:      unknown\n", "Layers:      0\n", "Components:  0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "NAME") {
		t.Errorf("an empty inventory has a table header:\n%s", out)
	}
}

type failWriter struct{ after int }

var errFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errFull
	}
	f.after--
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	for after := range 4 {
		if err := (Writer{}).Write(&failWriter{after: after}, reporttest.Document()); !errors.Is(err, errFull) {
			t.Errorf("failing after %d writes: err = %v, want %v", after, err, errFull)
		}
	}
}
