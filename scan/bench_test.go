package scan_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// appImage is the real Debian image with a Go program built against a
// vulnerable golang.org/x/text on top: every triage provider has work.
func appImage(tb testing.TB) string {
	tb.Helper()
	bin := testimage.GoBinary(tb, "app", "module example.com/vigiltest/app\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n", map[string]string{
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() { fmt.Println(language.Make(\"en\")) }\n",
	})
	body, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	layer := testimage.LayerFromFiles(tb, []testimage.File{{Path: "usr/local/bin/app", Body: string(body), Mode: 0o755}})
	img := testimage.Build(tb, testimage.DebianImage(tb), []v1.Layer{layer}, []string{"COPY app /usr/local/bin/app"}, nil)
	return "oci-dir:" + testimage.WriteOCILayout(tb, img)
}

// BenchmarkTriage scans the application image cold with matching and every
// default triage provider, and prints the share of the scan triage takes
// (goal: at most 15%). The share is timed inside the pipeline, so it holds
// on a busy machine where comparing two scans would not.
func BenchmarkTriage(b *testing.B) {
	db := vulndbtest.DB(b)
	ref := appImage(b)
	var total, spent time.Duration
	perProvider := map[string]time.Duration{}
	for b.Loop() {
		start := time.Now()
		res, err := scan.Run(b.Context(), ref, scan.Options{Layers: layers.Options{TempDir: b.TempDir()}, DB: db, Triage: scan.Triage()})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		spent += res.Triage.Elapsed
		for _, p := range res.Triage.Providers {
			perProvider[p.Name] += p.Elapsed
		}
		res.Close()
	}
	n := time.Duration(b.N)
	fmt.Printf("cold scan with matching and triage: %v; triage %v = %.1f%% of the scan (goal <= 15%%)\n", total/n, spent/n, 100*float64(spent)/float64(total))
	for name, d := range perProvider {
		fmt.Printf("  %-14s %v\n", name, d/n)
	}
}
