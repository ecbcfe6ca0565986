package all_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/all"
	"github.com/vigilsec/vigil/hygiene/base"
	"github.com/vigilsec/vigil/hygiene/email"
	"github.com/vigilsec/vigil/hygiene/internal/hygienetest"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/scan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the results")

// golden is the part of an issue that does not change from run to run (the
// secrets, and so the layer digests, are new every time).
type golden struct {
	Rule      string           `json:"rule"`
	Severity  hygiene.Severity `json:"severity"`
	Title     string           `json:"title"`
	Path      string           `json:"path,omitempty"`
	Field     string           `json:"field,omitempty"`
	Layer     *int             `json:"layer,omitempty"`
	DeletedIn *int             `json:"deletedIn,omitempty"`
}

// TestDefault runs every check through one walk of the dirty image: each
// finds its own problems, so the fan-out gave every Observer every file it
// asked for. The issues are compared with testdata/dirty.golden.json.
func TestDefault(t *testing.T) {
	checks, err := all.Default(all.Options{Base: base.Options{Now: func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }}})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := hygienetest.Dirty(t)
	_, issues := hygienetest.Scan(t, img, checks...)
	rules := map[string]int{}
	var got []golden
	for _, c := range checks {
		for _, is := range issues[c.Name()] {
			rules[is.Rule]++
			g := golden{Rule: is.Rule, Severity: is.Severity, Title: is.Title, Path: is.Path, Field: is.Field}
			if is.Layer != nil {
				g.Layer = &is.Layer.Index
			}
			if is.DeletedIn != nil {
				g.DeletedIn = &is.DeletedIn.Index
			}
			got = append(got, g)
		}
	}
	for _, r := range []string{"vigil/secret", "vigil/personal-email", "vigil/modified-file", "vigil/eol-base", "vigil/outdated-base"} {
		if rules[r] == 0 {
			t.Errorf("no %s issue; got %v", r, rules)
		}
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	const file = "testdata/dirty.golden.json"
	if *update {
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("issues differ from %s (run with -update after checking the change):\n%s", file, b)
	}
}

func TestDefaultBadAllowList(t *testing.T) {
	if _, err := all.Default(all.Options{Email: email.Options{AllowList: "testdata/absent"}}); err == nil {
		t.Error("missing allow-list accepted")
	}
}

// BenchmarkObserve scans the real Debian image (gzip layer, as pulled) cold
// (open, walk, inventory, hygiene) and prints the share of the scan each
// check takes: the time spent in its Observer methods during the walk and
// in its Run after it. Timing the checks' own code rather than comparing
// scans with and without them keeps the figure steady on a busy machine.
func BenchmarkObserve(b *testing.B) {
	ref := "oci-dir:" + testimage.WriteOCILayout(b, testimage.DebianImage(b))
	var total time.Duration
	var spent []time.Duration
	var names []string
	for b.Loop() {
		checks, err := all.Default(all.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if spent == nil {
			spent = make([]time.Duration, len(checks))
			for _, c := range checks {
				names = append(names, c.Name())
			}
		}
		wrapped := make([]hygiene.Check, len(checks))
		for i, c := range checks {
			wrapped[i] = &timed{Check: c, spent: &spent[i]}
		}
		start := time.Now()
		res, err := scan.Run(b.Context(), ref, scan.Options{Layers: layers.Options{TempDir: b.TempDir()}, Checks: wrapped})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		res.Close()
	}
	var sum time.Duration
	fmt.Printf("cold scan of the Debian image with every hygiene check: %v\n", total/time.Duration(b.N))
	for i, name := range names {
		sum += spent[i]
		share := float64(spent[i]) / float64(total) * 100
		b.ReportMetric(share, name+"-%")
		fmt.Printf("  %-9s %8v  %5.1f%% of the scan\n", name, spent[i]/time.Duration(b.N), share)
	}
	b.ReportMetric(float64(sum)/float64(total)*100, "hygiene-%")
	fmt.Printf("  %-9s %8v  %5.1f%% of the scan\n", "all", sum/time.Duration(b.N), float64(sum)/float64(total)*100)
}

// timed passes a check's calls on, adding the time they take.
type timed struct {
	hygiene.Check
	spent *time.Duration
	w     timedWriter
}

func (t *timed) Run(ctx context.Context, in *hygiene.Input) ([]hygiene.Issue, error) {
	start := time.Now()
	issues, err := t.Check.Run(ctx, in)
	*t.spent += time.Since(start)
	return issues, err
}

func (t *timed) Begin(layer int, name string, hdr *tar.Header) io.WriteCloser {
	o, ok := t.Check.(hygiene.Observer)
	if !ok {
		return nil
	}
	start := time.Now()
	w := o.Begin(layer, name, hdr)
	*t.spent += time.Since(start)
	if w == nil {
		return nil
	}
	t.w = timedWriter{w: w, spent: t.spent}
	return &t.w
}

type timedWriter struct {
	w     io.WriteCloser
	spent *time.Duration
}

func (t *timedWriter) Write(p []byte) (int, error) {
	start := time.Now()
	n, err := t.w.Write(p)
	*t.spent += time.Since(start)
	return n, err
}

func (t *timedWriter) Close() error {
	start := time.Now()
	err := t.w.Close()
	*t.spent += time.Since(start)
	return err
}
