package reachability_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/triage/reachability"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// Both programs link golang.org/x/text v0.3.7 and its package language.
// GO-2022-1059 (fixed in v0.3.8) is in language.ParseAcceptLanguage and
// MatchStrings: "accept" calls the first, "parse" calls only language.Parse,
// whose own advisory (GO-2021-0113) v0.3.7 fixed. Likewise for the
// standard library, both link net/url and os: "accept" calls url.Parse
// (GO-2025-4010) and os.ReadDir (GO-2026-4602), "parse" only
// url.PathEscape and what fmt uses of os. They are built by Go 1.25.0,
// fetched through the module proxy as the golang.org/toolchain module:
// the data knows no vulnerability of the local toolchain's release.
const (
	textMod   = "module example.com/vigiltest/reach\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n"
	toolchain = "GOTOOLCHAIN=go1.25.0"
)

// advisories are the advisories whose verdicts the programs decide, with
// a vulnerable function "accept" calls.
var advisories = []struct{ id, module, function string }{
	{"GO-2022-1059", "golang.org/x/text", "golang.org/x/text/language.ParseAcceptLanguage"},
	{"GO-2025-4010", "stdlib", "net/url.Parse"},
	{"GO-2026-4602", "stdlib", "os.ReadDir"},
}

var programs = map[string]string{
	"accept": `package main

import (
	"fmt"
	"net/url"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tags, q, err := language.ParseAcceptLanguage(os.Getenv("HTTP_ACCEPT_LANGUAGE"))
	u, uerr := url.Parse(os.Getenv("URL"))
	entries, derr := os.ReadDir(".")
	fmt.Println(tags, q, err, u, uerr, len(entries), derr)
}
`,
	"parse": `package main

import (
	"fmt"
	"net/url"
	"os"

	"golang.org/x/text/language"
)

func main() {
	fmt.Println(language.Parse(os.Getenv("LANG")))
	fmt.Println(url.PathEscape(os.Getenv("PATH_PART")))
}
`,
}

// build returns the programs' binaries by name.
func build(t *testing.T) map[string]string {
	t.Helper()
	bins := map[string]string{}
	for name, src := range programs {
		bins[name] = testimage.GoBinary(t, name, textMod, map[string]string{"main.go": src}, toolchain)
	}
	return bins
}

// scanImage puts the binaries in /app of an image and scans it with the
// provider.
func scanImage(t *testing.T, bins map[string]string) *scan.Result {
	t.Helper()
	db := vulndbtest.DB(t)
	files := []testimage.File{{Path: "app", Type: testimage.Dir}}
	for _, name := range slices.Sorted(maps.Keys(bins)) {
		b, err := os.ReadFile(bins[name])
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, testimage.File{Path: "app/" + name, Body: string(b), Mode: 0o755})
	}
	img := testimage.Build(t, nil, []v1.Layer{testimage.LayerFromFiles(t, files)}, []string{"COPY build/ /app/"}, nil)
	res, err := scan.Run(t.Context(), "oci-dir:"+testimage.WriteOCILayout(t, img), scan.Options{
		Layers: layers.Options{TempDir: t.TempDir()},
		DB:     db,
		Triage: []triage.Provider{reachability.Provider{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	if len(res.Triage.Warnings) > 0 {
		t.Errorf("triage warnings: %v", res.Triage.Warnings)
	}
	return res
}

// binaryOf returns the binary a finding's component was found in.
func binaryOf(res *scan.Result, f *match.Finding) string {
	for i := range res.Inventory.Components {
		if c := &res.Inventory.Components[i]; c.Ref == f.Component.Ref {
			return c.Locations[0]
		}
	}
	return ""
}

func module(res *scan.Result, f *match.Finding) string {
	for i := range res.Inventory.Components {
		if c := &res.Inventory.Components[i]; c.Ref == f.Component.Ref {
			return modulePath(c)
		}
	}
	return ""
}

func modulePath(c *inventory.Component) string {
	if c.Namespace == "" {
		return c.Name
	}
	return c.Namespace + "/" + c.Name
}

func TestTwoPrograms(t *testing.T) {
	bins := build(t)
	res := scanImage(t, bins)

	// verdicts[advisory][binary]
	verdicts := map[string]map[string]*vex.Verdict{}
	var std, stdAffected int
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.Component.Type != "golang" {
			continue
		}
		bin := binaryOf(res, f)
		for _, d := range f.DataSources {
			if verdicts[d.ID] == nil {
				verdicts[d.ID] = map[string]*vex.Verdict{}
			}
			verdicts[d.ID][bin] = f.Verdict
		}
		v := f.Verdict
		if len(f.Symbols) > 0 {
			// Every table here is complete, so every finding that names
			// its code is decided, by this provider.
			if v == nil || v.By != "triage/reachability" {
				t.Errorf("%s %s in %s: verdict %+v, want one by triage/reachability", f.ID, f.Component.Name, bin, v)
				continue
			}
			checkVerdict(t, f, bin)
		}
		if f.Component.Name == "stdlib" {
			std++
			if v != nil && v.Status == vex.Affected {
				stdAffected++
			}
		}
	}
	t.Logf("%d standard library findings, %d of them with a vulnerable function linked", std, stdAffected)

	for _, a := range advisories {
		acc, par := verdicts[a.id]["/app/accept"], verdicts[a.id]["/app/parse"]
		if acc == nil || par == nil {
			t.Errorf("%s in %s: verdicts for accept %+v, parse %+v", a.id, a.module, acc, par)
			continue
		}
		if acc.Status != vex.Affected || !strings.Contains(acc.Evidence[0].Detail, a.function) || acc.Evidence[0].Location != "/app/accept" {
			t.Errorf("%s, accept: %+v, want affected with %s linked in /app/accept", a.id, acc, a.function)
		}
		if par.Status != vex.NotAffected || par.Justification != vex.VulnerableCodeNotInExecutePath || par.Evidence[0].Location != "/app/parse" ||
			!strings.Contains(par.Evidence[0].Detail, a.function) {
			t.Errorf("%s, parse: %+v, want not_affected / vulnerable_code_not_in_execute_path, having looked for %s in /app/parse", a.id, par, a.function)
		}
	}
}

// checkVerdict checks a verdict against the finding's own data: the
// functions an affected verdict names are vulnerable ones, and a
// suppression names every one it looked for.
func checkVerdict(t *testing.T, f *match.Finding, bin string) {
	t.Helper()
	v := f.Verdict
	if len(v.Evidence) != 1 || v.Evidence[0].Kind != reachability.EvidenceKind || v.Evidence[0].Location != bin {
		t.Errorf("%s in %s: evidence %+v", f.ID, bin, v.Evidence)
		return
	}
	detail := v.Evidence[0].Detail
	var all []string
	for _, im := range f.Symbols {
		for _, s := range im.Symbols {
			all = append(all, im.Path+"."+s)
		}
		if len(im.Symbols) == 0 {
			all = append(all, im.Path+" (")
		}
	}
	switch v.Status {
	case vex.Affected:
		if !slices.ContainsFunc(all, func(s string) bool { return strings.Contains(detail, s) }) {
			t.Errorf("%s in %s: affected by %q, none of %v", f.ID, bin, detail, all)
		}
	case vex.NotAffected:
		if v.Justification != vex.VulnerableCodeNotInExecutePath && v.Justification != vex.VulnerableCodeNotPresent {
			t.Errorf("%s in %s: justification %q", f.ID, bin, v.Justification)
		}
	default:
		t.Errorf("%s in %s: status %q", f.ID, bin, v.Status)
	}
}

// govulncheckVersion is the golang.org/x/vuln release the results are
// checked against.
const govulncheckVersion = "v1.9.0"

// govulncheck builds govulncheck at govulncheckVersion with the module
// proxy, cached like every test build. It is built through
// testimage.GoBinary, which caches under testimage.CacheDir with a lock,
// rather than with `go install`, from a copy of cmd/govulncheck's main
// (which only adds telemetry): golang.org/x/vuln/scan is the command.
func govulncheck(t *testing.T) string {
	t.Helper()
	mod := "module example.com/vigiltest/govulncheck\n\ngo 1.26\n\nrequire golang.org/x/vuln " + govulncheckVersion + "\n"
	main := `package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/vuln/scan"
)

func main() {
	cmd := scan.Command(context.Background(), os.Args[1:]...)
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		var e interface{ ExitCode() int }
		if errors.As(err, &e) {
			os.Exit(e.ExitCode())
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`
	return testimage.GoBinary(t, "govulncheck", mod, map[string]string{"main.go": main})
}

// govulncheckDB lays the shared Go advisories out as govulncheck reads a
// file:// database (golang.org/x/vuln/internal/client, schema v1):
// ID/<id>.json per record, index/db.json with the latest modification
// time, and index/modules.json listing, per module, the records that
// affect it. The index leaves out each record's "fixed" version, which
// only lets the client skip fetching records for versions past the fix;
// the client then checks every record's ranges itself.
func govulncheckDB(t *testing.T) string {
	t.Helper()
	data := vulndbtest.Data(t)
	zr, err := zip.OpenReader(filepath.Join(data, "osv", "Go", "all.zip"))
	if err != nil {
		vulndbtest.Need(t, "Go advisories: %v", err)
	}
	defer zr.Close()
	dir := t.TempDir()
	for _, d := range []string{"ID", "index"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	type vuln struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
	}
	type moduleMeta struct {
		Path  string `json:"path"`
		Vulns []vuln `json:"vulns"`
	}
	modules := map[string]*moduleMeta{}
	var latest time.Time
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			vuln
			Affected []struct {
				Package struct{ Name string } `json:"package"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("%s: %v", zf.Name, err)
		}
		if zf.Name != rec.ID+".json" {
			t.Fatalf("record %s in %s", rec.ID, zf.Name)
		}
		if err := os.WriteFile(filepath.Join(dir, "ID", zf.Name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if rec.Modified.After(latest) {
			latest = rec.Modified
		}
		for _, a := range rec.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, rec.vuln)
		}
	}
	var index []*moduleMeta
	for _, p := range slices.Sorted(maps.Keys(modules)) {
		index = append(index, modules[p])
	}
	writeJSON(t, filepath.Join(dir, "index", "modules.json"), index)
	writeJSON(t, filepath.Join(dir, "index", "db.json"), map[string]time.Time{"modified": latest})
	return dir
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// key is one vulnerability of one module.
type key struct{ id, module string }

// calledByGovulncheck returns what govulncheck -mode binary finds at
// symbol level in bin: the findings whose first frame names a function.
func calledByGovulncheck(t *testing.T, tool, db, bin string) map[key]bool {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tool, "-mode", "binary", "-db", "file://"+db, "-format", "json", bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("govulncheck %s: %v\n%s", bin, err, stderr.String())
	}
	type frame struct {
		Module   string `json:"module"`
		Package  string `json:"package"`
		Function string `json:"function"`
	}
	called := map[key]bool{}
	var modules int
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var msg struct {
			Finding *struct {
				OSV   string   `json:"osv"`
				Trace []*frame `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("govulncheck output: %v", err)
		}
		if f := msg.Finding; f != nil && len(f.Trace) > 0 {
			modules++
			if f.Trace[0].Function != "" {
				called[key{f.OSV, f.Trace[0].Module}] = true
			}
		}
	}
	if modules == 0 {
		t.Fatalf("govulncheck reported no finding at all on %s: the database was not read\n%s", bin, stderr.String())
	}
	return called
}

// TestAgainstGovulncheck checks, for each program, that the vulnerabilities
// Vigil leaves standing — every (advisory, module) of every Go module of
// the binary, the standard library included — are those govulncheck
// finds called.
func TestAgainstGovulncheck(t *testing.T) {
	bins := build(t)
	tool := govulncheck(t)
	db := govulncheckDB(t)
	res := scanImage(t, bins)

	for name, path := range bins {
		t.Run(name, func(t *testing.T) {
			want := calledByGovulncheck(t, tool, db, path)
			got := map[key]bool{}
			for i := range res.Findings {
				f := &res.Findings[i]
				if f.Component.Type != "golang" || binaryOf(res, f) != "/app/"+name || f.Verdict.Suppressed() {
					continue
				}
				for _, d := range f.DataSources {
					got[key{d.ID, module(res, f)}] = true
				}
			}
			for k := range want {
				if !got[k] {
					t.Errorf("govulncheck finds %s in %s called; Vigil suppressed it or has no finding", k.id, k.module)
				}
			}
			for k := range got {
				if !want[k] {
					t.Errorf("Vigil leaves %s in %s standing; govulncheck does not find it called", k.id, k.module)
				}
			}
			t.Logf("govulncheck finds %d vulnerabilities called", len(want))
			for _, a := range advisories {
				if want[key{a.id, a.module}] != (name == "accept") {
					t.Errorf("govulncheck disagrees with the fixture on %s in %s", a.id, name)
				}
			}
		})
	}
}

// TestJudgeInputs runs Judge on a directory image holding a real binary, a
// copy of it with its pclntab header destroyed, and a component whose
// binary is gone: which findings are judged, and what is an error.
func TestJudgeInputs(t *testing.T) {
	real, err := os.ReadFile(build(t)["parse"])
	if err != nil {
		t.Fatal(err)
	}
	hostile := bytes.Clone(real)
	i := bytes.Index(hostile, []byte{0xf1, 0xff, 0xff, 0xff, 0, 0})
	if i < 0 {
		t.Fatal("no pclntab magic in the binary")
	}
	copy(hostile[i:], "\x00\x00\x00\x00")

	root := t.TempDir()
	for name, b := range map[string][]byte{"parse": real, "hostile": hostile} {
		if err := os.WriteFile(filepath.Join(root, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := layers.FromDir(root, layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()

	comp := func(ref, loc string) inventory.Component {
		return inventory.Component{Ref: ref, Type: "golang", Namespace: "golang.org/x", Name: "text", Version: "v0.3.7", Locations: []string{loc}}
	}
	inv := &inventory.Inventory{Components: []inventory.Component{
		comp("real", "/parse"), comp("hostile", "/hostile"), comp("gone", "/gone"),
		{Ref: "deb", Type: "deb", Name: "libc6", Locations: []string{"/var/lib/dpkg/status"}},
	}}
	vulnerable := []vulndb.Import{{Path: "golang.org/x/text/language", Symbols: []string{"ParseAcceptLanguage"}}}
	finding := func(ref string, records ...string) match.Finding {
		f := match.Finding{ID: "CVE-2022-32149", Component: match.ComponentRef{Ref: ref, Type: "golang"}, Symbols: vulnerable}
		for _, r := range records {
			f.DataSources = append(f.DataSources, match.DataSource{Ecosystem: "Go", ID: r})
		}
		return f
	}
	final := finding("real", "GO-2022-1059")
	final.Verdict = &vex.Verdict{Status: vex.NotAffected, Justification: vex.ComponentNotPresent, By: "triage/supersede"}
	noSymbols := finding("real", "GO-2022-1059")
	noSymbols.Symbols = nil
	deb := finding("deb", "DSA-1")
	deb.Component.Type = "deb"
	findings := []match.Finding{
		finding("real", "GO-2022-1059", "GO-2022-1059"), // 0: judged
		finding("real", "GO-2022-1059"),                 // 1: judged, from the same read
		finding("hostile", "GO-2022-1059"),              // 2: no table: not judged, not an error
		finding("gone", "GO-2022-1059"),                 // 3: cannot be opened: an error
		finding("real", "GO-2022-1059", "GHSA-x"),       // 4: merged records: judged on the union of their imports (match's)
		final,                              // 5: already final
		noSymbols,                          // 6: nothing to look for
		deb,                                // 7: not Go
		finding("nowhere", "GO-2022-1059"), // 8: no such component
	}
	js, err := reachability.Provider{}.Judge(t.Context(), &triage.Input{FS: fsys, Inventory: inv}, findings)
	if err == nil || !strings.Contains(err.Error(), "/gone") || strings.Contains(err.Error(), "hostile") {
		t.Errorf("error %v, want one naming /gone only", err)
	}
	var judged []int
	for _, j := range js {
		judged = append(judged, j.Finding)
		if v := j.Verdict; v.Status != vex.NotAffected || v.Justification != vex.VulnerableCodeNotInExecutePath || v.Evidence[0].Location != "/parse" {
			t.Errorf("finding %d: %+v", j.Finding, v)
		}
	}
	if !slices.Equal(judged, []int{0, 1, 4}) {
		t.Errorf("judged findings %v, want [0 1 4]", judged)
	}
}
