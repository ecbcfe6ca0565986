package java

import (
	"archive/zip"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/golden"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

// debianJars extracts real Debian Java library packages into a fresh root
// and returns it. Their jars live in usr/share/java; usr/share/maven-repo
// holds symbolic links to them, which must not be counted twice.
func debianJars(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, deb := range testimage.AptDownload(t,
		"libcommons-lang3-java", "libslf4j-java", "libjackson2-databind-java",
		"libjackson2-core-java", "libjackson2-annotations-java",
		"libxz-java", "libhamcrest-java") {
		testimage.ExtractDeb(t, deb, root)
	}
	return root
}

func catalog(t *testing.T, root string) ([]inventory.Component, error) {
	t.Helper()
	fsys, err := layers.FromDir(root, layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return Cataloger{}.Catalog(t.Context(), fsys, inventory.Environment{})
}

// TestCatalogDebian checks the coordinates of real Debian jars: most carry
// pom.properties; xz and hamcrest only a manifest and a versioned file name.
// The expected coordinates are those of the upstream Maven artifacts.
func TestCatalogDebian(t *testing.T) {
	root := debianJars(t)
	comps, err := catalog(t, root)
	if err != nil {
		t.Errorf("Catalog: %v", err)
	}
	want := []struct{ location, purl, source string }{
		{"/usr/share/java/commons-lang3.jar", "pkg:maven/org.apache.commons/commons-lang3@3.12.0", "pom.properties"},
		{"/usr/share/java/slf4j-api.jar", "pkg:maven/org.slf4j/slf4j-api@1.7.32", "pom.properties"},
		{"/usr/share/java/slf4j-simple.jar", "pkg:maven/org.slf4j/slf4j-simple@1.7.32", "pom.properties"},
		{"/usr/share/java/jackson-databind.jar", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.14.0", "pom.properties"},
		{"/usr/share/java/jackson-core.jar", "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.14.1", "pom.properties"},
		{"/usr/share/java/jackson-annotations.jar", "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.14.0", "pom.properties"},
		{"/usr/share/java/xz-1.9.jar", "pkg:maven/org.tukaani/xz@1.9", "manifest"},
		{"/usr/share/java/hamcrest-2.2.jar", "pkg:maven/org.hamcrest/hamcrest@2.2", "manifest"},
	}
	for _, w := range want {
		i := slices.IndexFunc(comps, func(c inventory.Component) bool { return c.Locations[0] == w.location })
		if i < 0 {
			t.Errorf("nothing found at %s", w.location)
			continue
		}
		c := comps[i]
		if c.PURL != w.purl || c.Metadata[MetaSource] != w.source || c.Type != "maven" || c.Cataloger != "java" {
			t.Errorf("%s: got %s (%s), want %s (%s)", w.location, c.PURL, c.Metadata[MetaSource], w.purl, w.source)
		}
	}
	// Every regular jar yields a component; the maven-repo symbolic links
	// yield none.
	jars, _ := filepath.Glob(filepath.Join(root, "usr/share/java/*.jar"))
	var regular int
	for _, j := range jars {
		if fi, err := os.Lstat(j); err == nil && fi.Mode().IsRegular() {
			regular++
		}
	}
	for _, c := range comps {
		if !strings.HasPrefix(c.Locations[0], "/usr/share/java/") || c.Version == "" {
			t.Errorf("unexpected %s at %v", c.PURL, c.Locations)
		}
	}
	if len(comps) < regular {
		t.Errorf("%d components for %d jars", len(comps), regular)
	}
}

type entry struct {
	name   string
	body   []byte
	stored bool // zip.Store, as Spring Boot stores nested jars
}

func zipOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		method := zip.Deflate
		if e.stored {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readJar(t *testing.T, root, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "usr/share/java", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNested builds an EAR holding a WAR with real jars in WEB-INF/lib, and
// a Spring Boot style fat jar with a stored jar in BOOT-INF/lib.
func TestNested(t *testing.T) {
	root := debianJars(t)
	war := zipOf(t,
		entry{name: "META-INF/MANIFEST.MF", body: []byte("Manifest-Version: 1.0\r\n\r\n")},
		entry{name: "WEB-INF/classes/com/example/App.class", body: []byte{0xca, 0xfe, 0xba, 0xbe}},
		entry{name: "WEB-INF/lib/commons-lang3-3.12.0.jar", body: readJar(t, root, "commons-lang3.jar")},
		entry{name: "WEB-INF/lib/xz-1.9.jar", body: readJar(t, root, "xz-1.9.jar")},
	)
	ear := zipOf(t,
		entry{name: "META-INF/application.xml", body: []byte("<application/>")},
		entry{name: "shop-web-2.0.war", body: war},
	)
	fat := zipOf(t,
		entry{name: "META-INF/MANIFEST.MF", body: []byte("Manifest-Version: 1.0\nImplementation-Title: orders\nImplementation-Version: 3.1.0\nImplementation-Vendor-Id: com.example\n\n")},
		entry{name: "META-INF/maven/com.example/orders/pom.properties", body: []byte("groupId=com.example\nartifactId=orders\nversion=3.1.0\n")},
		entry{name: "BOOT-INF/lib/jackson-databind-2.14.0.jar", body: readJar(t, root, "jackson-databind.jar"), stored: true},
	)
	dir := t.TempDir()
	for name, b := range map[string][]byte{"srv/shop.ear": ear, "app/orders.jar": fat} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	comps, err := catalog(t, dir)
	if err != nil {
		t.Errorf("Catalog: %v", err)
	}
	var got []string
	for _, c := range comps {
		got = append(got, c.Locations[0]+" "+c.PURL)
	}
	slices.Sort(got)
	want := []string{
		"/app/orders.jar pkg:maven/com.example/orders@3.1.0",
		"/app/orders.jar:BOOT-INF/lib/jackson-databind-2.14.0.jar pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.14.0",
		"/srv/shop.ear:shop-web-2.0.war pkg:maven/shop-web@2.0",
		"/srv/shop.ear:shop-web-2.0.war:WEB-INF/lib/commons-lang3-3.12.0.jar pkg:maven/org.apache.commons/commons-lang3@3.12.0",
		"/srv/shop.ear:shop-web-2.0.war:WEB-INF/lib/xz-1.9.jar pkg:maven/org.tukaani/xz@1.9",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHostile checks the bounds: nesting depth, an entry whose header lies
// about its size, the total inflation budget, and bytes that are no zip.
func TestHostile(t *testing.T) {
	pom := entry{name: "META-INF/maven/g/a/pom.properties", body: []byte("groupId=g\nartifactId=a\nversion=1\n")}

	deep := zipOf(t, pom)
	for range MaxDepth + 1 {
		deep = zipOf(t, pom, entry{name: "lib/inner.jar", body: deep})
	}
	comps, err := Read(t.Context(), "/deep.jar", bytes.NewReader(deep), int64(len(deep)))
	if len(comps) != MaxDepth+1 || err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("deep nesting: %d components, error %v; want %d and a depth error", len(comps), err, MaxDepth+1)
	}

	// A deflated entry whose header claims 10 bytes but that inflates to
	// a megabyte of zeros.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "lib/bomb.jar", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(make([]byte, 1<<20))
	zw.Close()
	liar := bytes.Replace(buf.Bytes(), le32(1<<20), le32(10), -1)
	w := &walker{ctx: t.Context(), budget: MaxInflate}
	w.archive("/liar.jar", bytes.NewReader(liar), int64(len(liar)), 0)
	if len(w.errs) != 1 || !strings.Contains(w.errs[0].Error(), "/liar.jar:lib/bomb.jar") {
		t.Errorf("lying header: errors %v", w.errs)
	}
	if spent := MaxInflate - w.budget; spent > 64<<10 {
		t.Errorf("lying header: inflated %d bytes", spent)
	}

	// Two nested jars of 600 KiB against a budget of 1 MiB: the second
	// is refused.
	big := zipOf(t, pom, entry{name: "pad", body: bytes.Repeat([]byte{1}, 600<<10), stored: true})
	two := zipOf(t, entry{name: "a.jar", body: big}, entry{name: "b.jar", body: big})
	w = &walker{ctx: t.Context(), budget: 1 << 20}
	w.archive("/two.jar", bytes.NewReader(two), int64(len(two)), 0)
	if len(w.comps) != 1 || len(w.errs) != 1 || !strings.Contains(w.errs[0].Error(), "uncompressed bytes in one archive") {
		t.Errorf("budget: %d components, errors %v", len(w.comps), w.errs)
	}

	comps, err = Read(t.Context(), "/junk.jar", strings.NewReader("not a zip"), 9)
	if len(comps) != 0 || err == nil || !strings.Contains(err.Error(), "/junk.jar") {
		t.Errorf("junk: %v, %v", comps, err)
	}
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func TestWants(t *testing.T) {
	for name, want := range map[string]bool{
		"usr/share/java/commons-lang3.jar": true,
		"srv/app.WAR":                      true,
		"srv/app.ear":                      true,
		"var/jenkins_home/plugins/git.jpi": true,
		"var/jenkins_home/plugins/old.hpi": true,
		"usr/share/java/readme.txt":        false,
		"srv/app.jar.sha1":                 false,
		"srv/jar":                          false,
	} {
		if got := (Cataloger{}).Wants(name, 0o644, 1, nil); got != want {
			t.Errorf("Wants(%s) = %v, want %v", name, got, want)
		}
	}
	if (Cataloger{}).Wants("a.jar", os.ModeSymlink, 1, nil) {
		t.Error("Wants a symbolic link")
	}
}

func TestFromManifest(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		location string
		purl     string // "" when no component
	}{
		{"file name has the version", "", "/x/guava-31.1-jre.jar", "pkg:maven/guava@31.1-jre"},
		{"manifest version wins", "Implementation-Version: 2.0.1\n", "/x/foo-2.0.jar", "pkg:maven/foo@2.0.1"},
		{"bundle version", "Bundle-Version: 4.2\nBundle-SymbolicName: org.example.widgets;singleton:=true\n", "/x/widgets.jar", "pkg:maven/org.example/widgets@4.2"},
		{"one-word title", "Implementation-Title: engine\nImplementation-Version: 7\nImplementation-Vendor-Id: io.example\n", "/x/app.jar", "pkg:maven/io.example/engine@7"},
		{"title with spaces", "Implementation-Title: XZ data compression\nImplementation-Version: 1.9\n", "/x/xz.jar", "pkg:maven/xz@1.9"},
		{"nested location", "", "/a.war:WEB-INF/lib/b-1.0.jar", "pkg:maven/b@1.0"},
		{"no version anywhere", "Implementation-Title: lonely\n", "/x/lonely.jar", ""},
		{"license", "Implementation-Version: 1\nBundle-License: Apache-2.0;link=\"https://x\", MIT\n", "/x/l.jar", "pkg:maven/l@1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := fromManifest(ParseManifest([]byte(tt.manifest)), tt.location)
			if !ok {
				if tt.purl != "" {
					t.Errorf("no component, want %s", tt.purl)
				}
				return
			}
			w := &walker{}
			w.add(c, tt.location)
			if got := w.comps[0].PURL; got != tt.purl {
				t.Errorf("got %s, want %s", got, tt.purl)
			}
		})
	}
	c, _ := fromManifest(ParseManifest([]byte("Implementation-Version: 1\nBundle-License: Apache-2.0;link=\"https://x\", MIT\n")), "/l.jar")
	if !slices.Equal(c.Licenses, []string{"Apache-2.0", "MIT"}) {
		t.Errorf("licenses %q", c.Licenses)
	}
}

// TestParse compares ParseManifest and ParseProperties on real files from
// Debian jars and edge cases with golden files.
func TestParse(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		var parse func([]byte) map[string]string
		switch {
		case strings.HasSuffix(in, ".MF"):
			parse = ParseManifest
		case strings.HasSuffix(in, ".properties"):
			parse = ParseProperties
		default:
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			golden.JSON(t, in+".golden.json", parse(b), *update)
		})
	}
}

func FuzzParse(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, in := range inputs {
		if b, err := os.ReadFile(in); err == nil && !strings.HasSuffix(in, ".json") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseManifest(b)
		ParseProperties(b)
	})
}

// FuzzRead feeds arbitrary bytes to the archive walk, seeded with archives
// built from the testdata metadata files, nested once.
func FuzzRead(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil || strings.HasSuffix(in, ".json") {
			continue
		}
		name := "META-INF/MANIFEST.MF"
		if strings.HasSuffix(in, ".properties") {
			name = "META-INF/maven/g/a/pom.properties"
		}
		jar := zipOf(f, entry{name: name, body: b})
		f.Add(jar)
		f.Add(zipOf(f, entry{name: "WEB-INF/lib/x-1.0.jar", body: jar, stored: true}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		comps, _ := Read(t.Context(), "/fuzz.jar", bytes.NewReader(b), int64(len(b)))
		for _, c := range comps {
			if c.Name == "" || c.Version == "" || !strings.HasPrefix(c.Locations[0], "/fuzz.jar") {
				t.Errorf("bad component %+v", c)
			}
		}
	})
}
