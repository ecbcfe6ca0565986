package dpkg

import (
	"bufio"
	"bytes"
	"flag"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/golden"

	"github.com/vigilsec/vigil/inventory/internal/catalogtest"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

var bookworm = inventory.Environment{Distro: &inventory.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}}

// root copies the tree testdata/<name> into a temporary directory, decoding
// "%3A" in file names to ":". Module zips cannot hold ':' in file names, but
// dpkg names the info files of Multi-Arch: same packages "<pkg>:<arch>.list".
func root(t testing.TB, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel, err = url.PathUnescape(rel); err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeRoot makes a root filesystem holding files.
func writeRoot(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func catalogDir(t testing.TB, dir string, env inventory.Environment) ([]inventory.Component, error) {
	return catalogtest.Dir(t, Cataloger{}, dir, env)
}

func byName(comps []inventory.Component) map[string]inventory.Component {
	m := map[string]inventory.Component{}
	for _, c := range comps {
		m[c.Name] = c
	}
	return m
}

// TestCatalogGolden catalogs real dpkg databases (see testdata/README.md).
func TestCatalogGolden(t *testing.T) {
	for _, name := range []string{"debian", "distroless"} {
		t.Run(name, func(t *testing.T) {
			comps, err := catalogDir(t, root(t, name), bookworm)
			if err != nil {
				t.Fatal(err)
			}
			golden.JSON(t, filepath.Join("testdata", name+".golden.json"), comps, *update)
		})
	}
}

// TestCatalogDebian checks the facts the golden file encodes against their
// sources: the status stanzas and info files in testdata/debian.
func TestCatalogDebian(t *testing.T) {
	comps, err := catalogDir(t, root(t, "debian"), bookworm)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := byName(comps)
	if len(pkgs) != 6 {
		t.Fatalf("got %d packages, want the 6 of testdata/debian", len(pkgs))
	}
	tests := []struct {
		name    string
		version string
		source  inventory.SourcePackage
		purl    string
	}{
		// Source field without version: the binary's version.
		{"libssl3", "3.0.19-1~deb12u2", inventory.SourcePackage{Name: "openssl", Version: "3.0.19-1~deb12u2"},
			"pkg:deb/debian/libssl3@3.0.19-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"},
		// binNMU: the Source field carries the source version.
		{"bash", "5.2.15-2+b8", inventory.SourcePackage{Name: "bash", Version: "5.2.15-2"},
			"pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2"},
		// Epoch on the binary only.
		{"bsdutils", "1:2.38.1-5+deb12u3", inventory.SourcePackage{Name: "util-linux", Version: "2.38.1-5+deb12u3"},
			"pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5%2Bdeb12u3"},
		// Epoch on both; the source keeps it.
		{"zlib1g", "1:1.2.13.dfsg-1", inventory.SourcePackage{Name: "zlib", Version: "1:1.2.13.dfsg-1"},
			"pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"},
		// No Source field: the package is its own source; no upstream.
		{"base-files", "12.4+deb12u11", inventory.SourcePackage{Name: "base-files", Version: "12.4+deb12u11"},
			"pkg:deb/debian/base-files@12.4%2Bdeb12u11?arch=amd64&distro=debian-12"},
	}
	for _, tt := range tests {
		c, ok := pkgs[tt.name]
		if !ok {
			t.Errorf("%s not found", tt.name)
			continue
		}
		if c.Version != tt.version || *c.Source != tt.source || c.PURL != tt.purl {
			t.Errorf("%s: version %q source %+v purl %q;\nwant %q %+v %q", tt.name, c.Version, *c.Source, c.PURL, tt.version, tt.source, tt.purl)
		}
		if c.Type != "deb" || c.Namespace != "debian" || c.Arch != "amd64" || c.Cataloger != "dpkg" ||
			!slices.Equal(c.Locations, []string{"/var/lib/dpkg/status"}) || c.Metadata[metaStatus] != "install ok installed" {
			t.Errorf("%s: %+v", tt.name, c)
		}
	}

	// Files: every md5sums line is there with its digest, and nothing the
	// .list shows to be a directory is.
	for _, tt := range []struct{ pkg, info string }{{"libc6", "libc6%3Aamd64"}, {"bash", "bash"}} {
		files := map[string]string{}
		for _, f := range pkgs[tt.pkg].Files {
			files[f.Path] = f.Digest
		}
		sums := readLines(t, "testdata/debian/var/lib/dpkg/info/"+tt.info+".md5sums")
		for _, l := range sums {
			sum, p, _ := strings.Cut(l, "  ")
			if got := files["/"+p]; got != "md5:"+sum {
				t.Errorf("%s: /%s digest %q, want md5:%s", tt.pkg, p, got, sum)
			}
		}
		list := readLines(t, "testdata/debian/var/lib/dpkg/info/"+tt.info+".list")
		dirs := map[string]bool{}
		for _, p := range list {
			dirs[path.Dir(p)] = true
		}
		for _, p := range list {
			_, in := files[p]
			if in == dirs[p] && p != "/." {
				t.Errorf("%s: %s in Files = %v, but it is a directory = %v", tt.pkg, p, in, dirs[p])
			}
		}
		if len(files) < len(sums) {
			t.Errorf("%s: %d files, fewer than the %d md5sums", tt.pkg, len(files), len(sums))
		}
	}

	// Conffiles: listed in metadata, in Files with the md5 dpkg recorded.
	bash := pkgs["bash"]
	if got, want := bash.Metadata[metaConffiles], "/etc/bash.bashrc\n/etc/skel/.bash_logout\n/etc/skel/.bashrc\n/etc/skel/.profile"; got != want {
		t.Errorf("bash conffiles = %q, want %q", got, want)
	}
	i := slices.IndexFunc(bash.Files, func(f inventory.File) bool { return f.Path == "/etc/bash.bashrc" })
	if i < 0 || !strings.HasPrefix(bash.Files[i].Digest, "md5:") {
		t.Errorf("bash: /etc/bash.bashrc not in Files with a digest: %+v", bash.Files)
	}
	if _, ok := pkgs["libssl3"].Metadata[metaConffiles]; ok {
		t.Error("libssl3 has no conffiles, but metadata lists some")
	}
}

func readLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestCatalogDistroless(t *testing.T) {
	comps, err := catalogDir(t, root(t, "distroless"), bookworm)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := byName(comps)
	want := []string{"base-files", "libc6", "libssl3", "netbase", "zlib1g"}
	if got := slices.Sorted(func(yield func(string) bool) {
		for n := range pkgs {
			if !yield(n) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Fatalf("packages = %q, want %q", got, want)
	}
	libc := pkgs["libc6"]
	if libc.Locations[0] != "/var/lib/dpkg/status.d/libc6" || libc.Source.Name != "glibc" || libc.Metadata[metaStatus] != "" {
		t.Errorf("libc6 = %+v", libc)
	}
	sums := readLines(t, "testdata/distroless/var/lib/dpkg/status.d/libc6.md5sums")
	if len(libc.Files) != len(sums) {
		t.Errorf("libc6: %d files, want the %d of its md5sums", len(libc.Files), len(sums))
	}
	for _, f := range libc.Files {
		if !strings.HasPrefix(f.Digest, "md5:") || !strings.HasPrefix(f.Path, "/") {
			t.Errorf("libc6 file %+v", f)
		}
	}
}

func TestCatalogWithoutDistro(t *testing.T) {
	dir := writeRoot(t, map[string]string{statusFile: "Package: a\nStatus: install ok installed\nVersion: 1.0-1+b2\nArchitecture: all\n"})
	comps, err := catalogDir(t, dir, inventory.Environment{})
	if err != nil {
		t.Fatal(err)
	}
	if len(comps) != 1 {
		t.Fatalf("got %d components", len(comps))
	}
	c := comps[0]
	// The source version drops the binNMU suffix; the purl says so.
	if c.Namespace != "debian" || c.Source.Version != "1.0-1" || c.PURL != "pkg:deb/debian/a@1.0-1%2Bb2?arch=all&upstream=a%401.0-1" {
		t.Errorf("component = %+v", c)
	}
	if c.Files != nil {
		t.Errorf("files without info files: %+v", c.Files)
	}
}

func TestCatalogUbuntu(t *testing.T) {
	dir := writeRoot(t, map[string]string{statusFile: "Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: arm64\n"})
	comps, err := catalogDir(t, dir, inventory.Environment{Distro: &inventory.Distro{ID: "ubuntu", VersionID: "22.04", IDLike: []string{"debian"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(comps) != 1 || comps[0].PURL != "pkg:deb/ubuntu/a@1?arch=arm64&distro=ubuntu-22.04" {
		t.Errorf("components = %+v", comps)
	}
}

func TestCatalogMissing(t *testing.T) {
	comps, err := catalogDir(t, writeRoot(t, map[string]string{"etc/hostname": "x\n"}), bookworm)
	if comps != nil || err != nil {
		t.Errorf("Catalog of an image without dpkg = %v, %v", comps, err)
	}
}

func TestCatalogErrors(t *testing.T) {
	good := "Package: good\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n"
	tests := []struct {
		name  string
		files map[string]string
		good  []string // packages still reported
		want  []string // error fragments
	}{
		{
			name:  "bad stanza",
			files: map[string]string{statusFile: "Package: bad\nStatus: install ok installed\n\n" + good},
			good:  []string{"good"},
			want:  []string{"read var/lib/dpkg/status: stanza at line 1 (bad): no Version field"},
		},
		{
			name: "bad md5sums",
			files: map[string]string{
				statusFile:                   good,
				infoDir + "/good.md5sums":    "d41d8cd98f00b204e9800998ecf8427e  usr/a\nnot-a-sum usr/b\n",
				infoDir + "/good:amd64.list": "/.\n/usr\n/usr/a\n",
			},
			good: []string{"good"},
			want: []string{"package good: read var/lib/dpkg/info/good.md5sums: line 2: \"not-a-sum usr/b\" is not \"<md5>  <path>\""},
		},
		{
			name:  "relative path in list",
			files: map[string]string{statusFile: good, infoDir + "/good.list": "/usr\nusr/a\n"},
			good:  []string{"good"},
			want:  []string{"read var/lib/dpkg/info/good.list: line 2"},
		},
		{
			name: "bad status.d file next to a good one",
			files: map[string]string{
				statusDir + "/good": good,
				statusDir + "/bad":  "Package: bad\n junk\n",
			},
			good: []string{"good"},
			want: []string{"read var/lib/dpkg/status.d/bad: line 2: continuation line in a single-line field"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comps, err := catalogDir(t, writeRoot(t, tt.files), bookworm)
			var names []string
			for _, c := range comps {
				names = append(names, c.Name)
			}
			if !slices.Equal(names, tt.good) {
				t.Errorf("packages = %q, want %q", names, tt.good)
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestCatalogStatusIsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, statusFile), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := catalogDir(t, dir, bookworm)
	if err == nil || !strings.Contains(err.Error(), "var/lib/dpkg/status") {
		t.Errorf("error = %v", err)
	}
}

func TestWants(t *testing.T) {
	c := Cataloger{}
	tests := []struct {
		name string
		want bool
	}{
		{"var/lib/dpkg/status", true},
		{"var/lib/dpkg/status.d/libc6", true},
		{"var/lib/dpkg/status.d/libc6.md5sums", true},
		{"var/lib/dpkg/info/bash.list", true},
		{"var/lib/dpkg/info/libc6:amd64.md5sums", true},
		{"var/lib/dpkg/info/bash.postinst", false},
		{"var/lib/dpkg/info/bash.conffiles", false},
		{"var/lib/dpkg/status-old", false},
		{"var/lib/dpkg/available", false},
		{"var/lib/dpkg/status.d/sub/x", false},
		{"usr/var/lib/dpkg/status", false},
	}
	for _, tt := range tests {
		if got := c.Wants(tt.name, 0o644, 10, nil); got != tt.want {
			t.Errorf("Wants(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCatalogThroughWalk catalogs testdata/debian streamed as an image layer,
// keeping only what Wants asks for: it fails if Wants misses a file Catalog
// reads, since reading an uncaptured file is an error.
func TestCatalogThroughWalk(t *testing.T) {
	catalogtest.ThroughWalk(t, Cataloger{}, root(t, "debian"), bookworm)
}

// TestCatalogDebootstrap catalogs a real Debian 12 root filesystem and checks
// the result against dpkg-query and the filesystem itself.
func TestCatalogDebootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian root filesystem")
	}
	testimage.Require(t, "dpkg-query")
	rootfs := testimage.Debootstrap(t, "bookworm", "minbase")
	comps, err := catalogDir(t, rootfs, bookworm)
	if err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command("dpkg-query", "--admindir="+filepath.Join(rootfs, "var/lib/dpkg"), "-W",
		"-f", "${db:Status-Status} ${Package} ${Version} ${Architecture} ${source:Package} ${source:Version}\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		state, rest, _ := strings.Cut(sc.Text(), " ")
		if state != "config-files" {
			want = append(want, rest)
		}
	}
	var got []string
	for _, c := range comps {
		got = append(got, strings.Join([]string{c.Name, c.Version, c.Arch, c.Source.Name, c.Source.Version}, " "))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Catalog and dpkg-query disagree (name version arch source source-version):\ngot  %q\nwant %q", got, want)
	}

	// No directory in Files, and every regular file the package's .list
	// names is there.
	for _, c := range comps {
		files := map[string]bool{}
		for _, f := range c.Files {
			files[f.Path] = true
			if fi, err := os.Lstat(filepath.Join(rootfs, f.Path)); err == nil && fi.IsDir() {
				t.Errorf("%s: directory %s in Files", c.Name, f.Path)
			}
		}
		list, err := os.ReadFile(filepath.Join(rootfs, infoDir, c.Name+":"+c.Arch+".list"))
		if os.IsNotExist(err) {
			list, err = os.ReadFile(filepath.Join(rootfs, infoDir, c.Name+".list"))
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		for _, p := range strings.Split(strings.TrimSpace(string(list)), "\n") {
			if fi, err := os.Lstat(filepath.Join(rootfs, p)); err == nil && fi.Mode().IsRegular() && !files[p] {
				t.Errorf("%s: regular file %s missing from Files", c.Name, p)
			}
		}
	}
	t.Logf("%d packages agree with dpkg-query", len(comps))
}
