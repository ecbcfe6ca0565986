package match_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/vulndb/ecosystem"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

// benchInventory makes n components from packages the shared data knows,
// 70% Debian source packages, 15% Go modules, 15% PyPI projects, so that
// every lookup finds records and evaluates real ranges. Each is at the
// newest version its records say fixes something, which is what an image
// kept up to date looks like (only unfixed issues match), or, when old is
// set, at the oldest, which matches nearly every record of the package.
func benchInventory(b *testing.B, n int, old bool) *inventory.Inventory {
	data := vulndbtest.Data(b)
	pick := func(eco string, want int) [][2]string {
		scheme, err := ecosystem.SchemeOf(eco)
		if err != nil {
			b.Fatal(err)
		}
		zr, err := zip.OpenReader(filepath.Join(data, "osv", eco, "all.zip"))
		if err != nil {
			b.Fatal(err)
		}
		defer zr.Close()
		fixes := map[string][]ecosystem.Version{}
		var names []string
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				b.Fatal(err)
			}
			var r struct {
				Affected []struct {
					Package struct{ Name string }
					Ranges  []struct {
						Events []map[string]string
					}
				}
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || json.Unmarshal(data, &r) != nil {
				b.Fatal(f.Name, err)
			}
			for _, a := range r.Affected {
				for _, rg := range a.Ranges {
					for _, e := range rg.Events {
						v, err := scheme.Parse(e["fixed"])
						if err != nil {
							continue
						}
						if fixes[a.Package.Name] == nil {
							names = append(names, a.Package.Name)
						}
						fixes[a.Package.Name] = append(fixes[a.Package.Name], v)
					}
				}
			}
		}
		var out [][2]string
		for _, name := range names[:min(want, len(names))] {
			vs := fixes[name]
			slices.SortFunc(vs, func(a, b ecosystem.Version) int { return a.Compare(b) })
			v := vs[len(vs)-1]
			if old {
				v = vs[0]
			}
			out = append(out, [2]string{name, v.String()})
		}
		return out
	}
	inv := &inventory.Inventory{Distro: bookworm}
	for _, p := range pick("Debian", n*70/100) {
		inv.Components = append(inv.Components, deb(p[0], p[1], p[0], ""))
	}
	for _, p := range pick("Go", n*15/100) {
		inv.Components = append(inv.Components, gomod(p[0], "v"+p[1]))
	}
	for _, p := range pick("PyPI", n-len(inv.Components)) {
		inv.Components = append(inv.Components, pypi(p[0], p[1]))
	}
	for i := range inv.Components {
		inv.Components[i].Ref = fmt.Sprint("c", i)
	}
	return inv
}

func benchMatch(b *testing.B, old bool) {
	db := vulndbtest.DB(b)
	inv := benchInventory(b, 1000, old)
	var findings []match.Finding
	for b.Loop() {
		var err error
		if findings, _, err = match.Match(context.Background(), db, inv, match.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(inv.Components)), "components")
	b.ReportMetric(float64(len(findings)), "findings")
	if !slices.ContainsFunc(findings, func(f match.Finding) bool { return f.Component.Type == "deb" }) {
		b.Fatal("the benchmark inventory matched no Debian package")
	}
}

// BenchmarkMatch1000 matches 1,000 up-to-date components; the goal is
// under 100 ms per op on a two-core machine.
func BenchmarkMatch1000(b *testing.B) { benchMatch(b, false) }

// BenchmarkMatch1000Old matches 1,000 components at their oldest fixed
// versions: the worst case, about 13 findings per component.
func BenchmarkMatch1000Old(b *testing.B) { benchMatch(b, true) }
