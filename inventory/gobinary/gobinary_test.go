package gobinary

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/golden"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/internal/catalogtest"
	"github.com/vigilsec/vigil/layers"
)

var update = flag.Bool("update", false, "rewrite testdata from real binaries and golden files from the current results")

// The test program links real module versions fetched through the module
// proxy: a replace directive swaps golang.org/x/text (pulled up to v0.7.0 by
// x/net) for the github.com/golang/text mirror at v0.3.7, and a second one
// points a module at a local directory.
const appMod = `module example.com/vigiltest/app

go 1.21

require (
	example.com/vigiltest/local v0.0.0-00010101000000-000000000000
	github.com/gorilla/mux v1.8.0
	golang.org/x/net v0.7.0
	golang.org/x/text v0.7.0
)

replace golang.org/x/text => github.com/golang/text v0.3.7

replace example.com/vigiltest/local => ./local
`

var appFiles = map[string]string{
	"main.go": `package main

import (
	"fmt"

	"example.com/vigiltest/local"
	"github.com/gorilla/mux"
	_ "golang.org/x/net/html"
	"golang.org/x/text/language"
)

func main() { fmt.Println(mux.NewRouter() != nil, language.English, local.Name) }
`,
	"local/go.mod":   "module example.com/vigiltest/local\n\ngo 1.21\n",
	"local/local.go": "package local\n\nconst Name = \"local\"\n",
}

const helloMod = "module example.com/vigiltest/hello\n\ngo 1.21\n"

var helloFiles = map[string]string{"main.go": "package main\n\nfunc main() { println(\"hello\") }\n"}

func appBinary(t *testing.T) string {
	t.Helper()
	return testimage.GoBinary(t, "app", appMod, appFiles)
}

func readInfo(t *testing.T, file string) *debug.BuildInfo {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bi, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return bi
}

func head(t *testing.T, file string) []byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, inventory.HeadSize)
	n, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Fatal(err)
	}
	return b[:n]
}

// TestWants checks the head sniffing on real binaries of every shape the
// package documentation claims, and the documented blind spot (a dynamically
// linked binary with an empty build ID).
func TestWants(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want bool
	}{
		{"static", nil, true},
		{"cgo", []string{"CGO_ENABLED=1"}, true},
		{"stripped", []string{"GOFLAGS=-mod=mod '-ldflags=-s -w'"}, true},
		{"stripped cgo", []string{"CGO_ENABLED=1", "GOFLAGS=-mod=mod '-ldflags=-s -w'"}, true},
		{"pie", []string{"GOFLAGS=-mod=mod -buildmode=pie"}, true},
		{"pie cgo", []string{"CGO_ENABLED=1", "GOFLAGS=-mod=mod -buildmode=pie"}, true},
		{"arm64", []string{"GOARCH=arm64"}, true},
		{"s390x big endian", []string{"GOARCH=s390x"}, true},
		{"windows", []string{"GOOS=windows"}, true},
		{"darwin", []string{"GOOS=darwin", "GOARCH=arm64"}, true},
		{"empty build id", []string{"GOFLAGS=-mod=mod -ldflags=-buildid="}, true},
		{"stripped, empty build id", []string{"GOFLAGS=-mod=mod '-ldflags=-s -w -buildid='"}, true},
		{"386, empty build id", []string{"GOARCH=386", "GOFLAGS=-mod=mod -ldflags=-buildid="}, true},
		{"dynamic (external linking), empty build id", []string{"CGO_ENABLED=1", "GOFLAGS=-mod=mod '-ldflags=-buildid= -linkmode=external'"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(strings.Join(tt.env, " "), "CGO_ENABLED=1") {
				testimage.Require(t, "gcc")
			}
			bin := testimage.GoBinary(t, "hello", helloMod, helloFiles, tt.env...)
			if got := (Cataloger{}).Wants("app/hello", 0o755, 0, head(t, bin)); got != tt.want {
				t.Errorf("Wants = %v, want %v", got, tt.want)
			}
			// Whatever Wants says, the build info is there: the
			// blind spot is in the sniffing only.
			if bi := readInfo(t, bin); bi.Main.Path != "example.com/vigiltest/hello" {
				t.Errorf("main module %q", bi.Main.Path)
			}
		})
	}
}

// TestStaticC: a static C program (Debian's busybox-static) is kept by
// Wants, as any static executable is, and Catalog passes over it silently.
func TestStaticC(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	testimage.ExtractDeb(t, testimage.AptDownload(t, "busybox-static")[0], dir)
	bin := filepath.Join(dir, "bin", "busybox")
	if !(Cataloger{}).Wants("bin/busybox", 0o755, 0, head(t, bin)) {
		t.Fatal("Wants = false for a static executable")
	}
	comps, err := catalogtest.Dir(t, Cataloger{}, dir, inventory.Environment{})
	if err != nil || len(comps) != 0 {
		t.Errorf("Catalog = %v, %v; want nothing and no error", comps, err)
	}
}

func TestWantsOther(t *testing.T) {
	hello := filepath.Join(t.TempDir(), "hello")
	deb := testimage.AptDownload(t, "hello")[0]
	testimage.ExtractDeb(t, deb, hello)
	tests := []struct {
		name string
		head []byte
	}{
		{"C program from Debian", head(t, filepath.Join(hello, "usr/bin/hello"))},
		{"empty", nil},
		{"ELF magic only", []byte("\x7fELF")},
		{"Go note name without header", append([]byte("\x7fELF\x02\x01"), "Go\x00\x00"...)},
		{"note of another type", append([]byte("\x7fELF\x02\x01\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x20\x00\x00\x00\x01\x00\x00\x00"), "Go\x00\x00"...)},
		{"build ID string in a text file", []byte("notes: \xff Go build ID: \"x\"")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (Cataloger{}).Wants("x", 0o755, int64(len(tt.head)), tt.head) {
				t.Error("Wants = true for a file that is not a Go binary")
			}
		})
	}
}

// TestCatalog walks a real two-layer image through layers.Walk with Wants:
// the Go binary is found, the Debian C binary is not captured and passes
// silently, and a Go binary whose build information is cut off is reported
// by name without hiding the rest.
func TestCatalog(t *testing.T) {
	app, err := os.ReadFile(appBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	elf, err := os.ReadFile(filepath.Join("testdata", "app.elf"))
	if err != nil {
		t.Fatal(err)
	}
	hello := t.TempDir()
	testimage.ExtractDeb(t, testimage.AptDownload(t, "hello")[0], hello)
	c, err := os.ReadFile(filepath.Join(hello, "usr/bin/hello"))
	if err != nil {
		t.Fatal(err)
	}
	base := testimage.LayerFromFiles(t, []testimage.File{
		{Path: "usr/bin/app", Mode: 0o755, Body: string(app)},
		{Path: "usr/bin/hello", Mode: 0o755, Body: string(c)},
		{Path: "etc/motd", Body: "hi\n"},
	})
	top := testimage.LayerFromFiles(t, []testimage.File{
		{Path: "usr/local/bin/broken", Mode: 0o755, Body: string(elf[:inventory.HeadSize/2])},
	})
	fsys, err := layers.Walk(t.Context(), []layers.Blob{{Open: base.Compressed}, {Open: top.Compressed}},
		layers.Options{Want: Cataloger{}.Wants})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()

	comps, err := Cataloger{}.Catalog(t.Context(), fsys, inventory.Environment{})
	if err == nil || !strings.Contains(err.Error(), "/usr/local/bin/broken") || strings.Contains(err.Error(), "hello") {
		t.Errorf("error %v, want one naming /usr/local/bin/broken", err)
	}
	if len(comps) != 6 {
		t.Errorf("got %d components, want the 6 of the app", len(comps))
	}
	for _, c := range comps {
		if !slices.Equal(c.Locations, []string{"/usr/bin/app"}) {
			t.Errorf("%s at %v", c.PURL, c.Locations)
		}
	}
	comps, err = Cataloger{}.Catalog(t.Context(), fsys.At(0), inventory.Environment{})
	if err != nil || len(comps) != 6 {
		t.Errorf("layer 0: %d components, error %v", len(comps), err)
	}
}

func TestToolchainVersion(t *testing.T) {
	tests := []struct {
		in, version, experiment string
	}{
		{"go1.22.3", "1.22.3", ""},
		{"go1.20", "1.20.0", ""},
		{"go1.21.0", "1.21.0", ""},
		{"go1.22rc1", "1.22.0-rc.1", ""},
		{"go1.18beta2", "1.18.0-beta.2", ""},
		{"go1.9.2rc2", "1.9.2-rc.2", ""},
		{"go1.21.0 X:boringcrypto", "1.21.0", "boringcrypto"},
		{"go1.21.0-X:boringcrypto", "1.21.0", "boringcrypto"},
		{"go1.22.3-custom", "1.22.3", ""},
		{"devel go1.23-a1b2c3d Tue Jan 2 15:04:05 2024 +0000", "", ""},
		{"", "", ""},
		{"1.22.3", "", ""},
	}
	for _, tt := range tests {
		v, x := ToolchainVersion(tt.in)
		if v != tt.version || x != tt.experiment {
			t.Errorf("ToolchainVersion(%q) = %q, %q; want %q, %q", tt.in, v, x, tt.version, tt.experiment)
		}
	}
}

// TestComponents checks what a real binary yields against what its go.mod
// says it links.
func TestComponents(t *testing.T) {
	comps := Components("/usr/local/bin/app", readInfo(t, appBinary(t)))

	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	stdVersion, _ := ToolchainVersion(strings.TrimSpace(string(goVersion)))
	if stdVersion == "" {
		t.Fatalf("toolchain %q has no release version", goVersion)
	}

	type want struct {
		namespace, name, version, purl string
		meta                           map[string]string
	}
	wants := []want{
		{"example.com/vigiltest", "app", "(devel)", "pkg:golang/example.com/vigiltest/app",
			map[string]string{MetaMain: "true", MetaDevel: "true", MetaBuildPrefix + "GOOS": "linux", MetaBuildPrefix + "CGO_ENABLED": "0"}},
		{"example.com/vigiltest", "local", "(devel)", "pkg:golang/example.com/vigiltest/local",
			map[string]string{MetaDevel: "true", MetaReplaceDir: "./local", MetaReplaces: "example.com/vigiltest/local@v0.0.0-00010101000000-000000000000"}},
		{"github.com/gorilla", "mux", "v1.8.0", "pkg:golang/github.com/gorilla/mux@v1.8.0",
			map[string]string{MetaSum: "h1:i40aqfkR1h2SlN9hojwV5ZA91wcXFOvkdNIeFDP5koI="}},
		{"golang.org/x", "net", "v0.7.0", "pkg:golang/golang.org/x/net@v0.7.0", nil},
		{"github.com/golang", "text", "v0.3.7", "pkg:golang/github.com/golang/text@v0.3.7",
			map[string]string{MetaReplaces: "golang.org/x/text@v0.7.0"}},
		{"", "stdlib", stdVersion, "pkg:golang/stdlib@" + stdVersion,
			map[string]string{MetaBuildPrefix + "GOARCH": "amd64", MetaBuildPrefix + "-buildmode": "exe"}},
	}
	if len(comps) != len(wants) {
		t.Errorf("got %d components, want %d: %+v", len(comps), len(wants), comps)
	}
	for _, w := range wants {
		var c *inventory.Component
		for i := range comps {
			if comps[i].Namespace == w.namespace && comps[i].Name == w.name {
				c = &comps[i]
			}
		}
		if c == nil {
			t.Errorf("no component %s/%s", w.namespace, w.name)
			continue
		}
		if c.Version != w.version || c.PURL != w.purl || c.Type != "golang" || c.Cataloger != "go-binary" {
			t.Errorf("%s/%s: got version %q purl %q type %q cataloger %q; want %q %q", w.namespace, w.name, c.Version, c.PURL, c.Type, c.Cataloger, w.version, w.purl)
		}
		if len(c.Locations) != 1 || c.Locations[0] != "/usr/local/bin/app" || c.Metadata[MetaBinary] != "/usr/local/bin/app" {
			t.Errorf("%s/%s: locations %v, go.binary %q", w.namespace, w.name, c.Locations, c.Metadata[MetaBinary])
		}
		if c.Metadata[MetaToolchain] != strings.TrimSpace(string(goVersion)) {
			t.Errorf("%s/%s: go.toolchain %q", w.namespace, w.name, c.Metadata[MetaToolchain])
		}
		for k, v := range w.meta {
			if c.Metadata[k] != v {
				t.Errorf("%s/%s: metadata %s = %q, want %q", w.namespace, w.name, k, c.Metadata[k], v)
			}
		}
		if _, ok := c.Metadata[MetaBuildPrefix+"GOOS"]; ok != (w.name == "app" || w.name == "stdlib") {
			t.Errorf("%s/%s: build settings present = %v", w.namespace, w.name, ok)
		}
	}
}

// TestTestdata reads the build information kept in testdata/app.elf (a real
// binary reduced to its ELF headers, build ID note and .go.buildinfo section
// with objcopy; regenerated with -update) and compares the components with a
// golden file.
func TestTestdata(t *testing.T) {
	elf := filepath.Join("testdata", "app.elf")
	if *update {
		testimage.Require(t, "objcopy")
		out, err := exec.Command("objcopy", "--only-section=.go.buildinfo", "--only-section=.note.go.buildid", appBinary(t), elf).CombinedOutput()
		if err != nil {
			t.Fatalf("objcopy: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(elf)
	if err != nil {
		t.Fatal(err)
	}
	if !(Cataloger{}).Wants("app", 0o755, int64(len(b)), b[:min(len(b), inventory.HeadSize)]) {
		t.Error("Wants = false for testdata/app.elf")
	}
	bi, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, filepath.Join("testdata", "app.golden.json"), Components("/app", bi), *update)
}

func TestReadMalformed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "app.elf"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated after the headers", b[:len(b)/3]},
		{"not an executable", []byte("#!/bin/sh\necho hello\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Read(bytes.NewReader(tt.in)); err == nil {
				t.Error("Read succeeded")
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "app.elf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Add([]byte("MZ"))
	f.Add([]byte("\xcf\xfa\xed\xfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bi, err := Read(bytes.NewReader(b)); err == nil {
			Components("/fuzz", bi)
		}
		isGoBinary(b)
	})
}
