package rpm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/golden"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/internal/catalogtest"
	"github.com/vigilsec/vigil/layers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

var rhel9 = inventory.Environment{Distro: &inventory.Distro{ID: "rhel", VersionID: "9.3", IDLike: []string{"fedora"}}}

func catalogDir(t testing.TB, dir string, env inventory.Environment) ([]inventory.Component, error) {
	return catalogtest.Dir(t, Cataloger{}, dir, env)
}

// writeFile puts data at name under a new root directory and returns the root.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func byName(comps []inventory.Component) map[string]inventory.Component {
	m := map[string]inventory.Component{}
	for _, c := range comps {
		m[c.Name] = c
	}
	return m
}

const specs = `
-- vigil-hello.spec --
Name: vigil-hello
Epoch: 2
Version: 1.2.3
Release: 4.el9
Summary: Vigil test package
License: MIT AND Apache-2.0
BuildArch: noarch
%description
A package built by Vigil's tests.
%package libs
Summary: Vigil test subpackage
License: MIT
%description libs
A subpackage: same source RPM, another name.
%install
mkdir -p %{buildroot}/usr/share/vigil-hello %{buildroot}/etc %{buildroot}/usr/lib/vigil-hello
printf 'hello\n' > %{buildroot}/usr/share/vigil-hello/hello.txt
printf 'conf\n' > %{buildroot}/etc/vigil-hello.conf
printf 'lib\n' > %{buildroot}/usr/lib/vigil-hello/libhello.txt
ln -s hello.txt %{buildroot}/usr/share/vigil-hello/link
%files
%dir /usr/share/vigil-hello
/usr/share/vigil-hello/hello.txt
/usr/share/vigil-hello/link
%config(noreplace) /etc/vigil-hello.conf
%ghost /var/log/vigil-hello.log
%files libs
/usr/lib/vigil-hello/libhello.txt
-- vigil-plain.spec --
Name: vigil-plain
Version: 0.1
Release: 1
Summary: Vigil test package without epoch
License: GPL-2.0-only
BuildArch: noarch
%description
No epoch, no files.
%files
`

// builtDB caches the database buildRPMDB makes, for the test binary's life.
var builtDB struct {
	sync.Mutex
	data []byte
}

// buildRPMDB builds the packages of specs with rpmbuild and records them
// with rpm (Debian's rpm 4.18, which writes SQLite) in a database, once per
// test binary. It returns a new root holding it at var/lib/rpm/rpmdb.sqlite.
func buildRPMDB(t *testing.T) string {
	t.Helper()
	testimage.Require(t, "rpm", "rpmbuild")
	builtDB.Lock()
	defer builtDB.Unlock()
	if builtDB.data == nil {
		builtDB.data = rpmbuildDB(t)
	}
	return writeFile(t, "var/lib/rpm/rpmdb.sqlite", builtDB.data)
}

func rpmbuildDB(t *testing.T) []byte {
	t.Helper()
	work := t.TempDir()
	for _, part := range strings.Split(specs, "-- ")[1:] {
		name, body, _ := strings.Cut(part, " --\n")
		spec := filepath.Join(work, name)
		if err := os.WriteFile(spec, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "rpmbuild", "-bb", "--define", "_topdir "+filepath.Join(work, "top"), spec)
	}
	rpms, err := filepath.Glob(filepath.Join(work, "top/RPMS/noarch/*.rpm"))
	if err != nil || len(rpms) != 3 {
		t.Fatalf("built %q, want 3 packages (%v)", rpms, err)
	}
	db := filepath.Join(work, "db")
	run(t, "rpm", "--dbpath", db, "--initdb")
	// --justdb records the packages without writing their files anywhere.
	run(t, append([]string{"rpm", "--dbpath", db, "--justdb", "--nodeps", "--noscripts", "--ignoreos", "--ignorearch", "-i"}, rpms...)...)
	// rpm checkpoints its write-ahead log when it closes the database, so
	// the main file holds everything, as in an image.
	data, err := os.ReadFile(filepath.Join(db, "rpmdb.sqlite"))
	if err != nil {
		t.Fatalf("rpm did not write an SQLite database: %v", err)
	}
	return data
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%q: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestCatalogSQLite catalogs a real rpm database and checks it against
// rpm -qa and against the packages' known contents.
func TestCatalogSQLite(t *testing.T) {
	root := buildRPMDB(t)
	comps, err := catalogDir(t, root, rhel9)
	if err != nil {
		t.Fatal(err)
	}

	q := run(t, "rpm", "--dbpath", filepath.Join(root, "var/lib/rpm"), "-qa", "--qf",
		"%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM} %{LICENSE}\n")
	want := strings.Split(strings.TrimSpace(q), "\n")
	var got []string
	for _, c := range comps {
		got = append(got, strings.Join([]string{c.Name, c.Version, c.Arch, c.Metadata[metaSourceRPM], strings.Join(c.Licenses, "")}, " "))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Catalog and rpm -qa disagree:\ngot  %q\nwant %q", got, want)
	}

	pkgs := byName(comps)
	hello, libs, plain := pkgs["vigil-hello"], pkgs["vigil-hello-libs"], pkgs["vigil-plain"]
	tests := []struct {
		c      inventory.Component
		source inventory.SourcePackage
		purl   string
	}{
		{hello, inventory.SourcePackage{Name: "vigil-hello", Version: "2:1.2.3-4.el9"},
			"pkg:rpm/rhel/vigil-hello@1.2.3-4.el9?arch=noarch&distro=rhel-9.3&epoch=2"},
		{libs, inventory.SourcePackage{Name: "vigil-hello", Version: "2:1.2.3-4.el9"},
			"pkg:rpm/rhel/vigil-hello-libs@1.2.3-4.el9?arch=noarch&distro=rhel-9.3&epoch=2"},
		{plain, inventory.SourcePackage{Name: "vigil-plain", Version: "0.1-1"},
			"pkg:rpm/rhel/vigil-plain@0.1-1?arch=noarch&distro=rhel-9.3"},
	}
	for _, tt := range tests {
		c := tt.c
		if c.Source == nil || *c.Source != tt.source || c.PURL != tt.purl || c.Type != "rpm" || c.Namespace != "rhel" ||
			c.Cataloger != "rpm" || !slices.Equal(c.Locations, []string{"/var/lib/rpm/rpmdb.sqlite"}) {
			t.Errorf("%s = %+v\nwant source %+v purl %q", c.Name, c, tt.source, tt.purl)
		}
	}

	// Files: regular files and links with rpm's SHA-256 digests; no
	// directory, no %ghost.
	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "sha256:" + hex.EncodeToString(h[:])
	}
	wantFiles := []inventory.File{
		{Path: "/etc/vigil-hello.conf", Digest: sum("conf\n")},
		{Path: "/usr/share/vigil-hello/hello.txt", Digest: sum("hello\n")},
		{Path: "/usr/share/vigil-hello/link"},
	}
	if !slices.Equal(hello.Files, wantFiles) {
		t.Errorf("vigil-hello files = %+v\nwant %+v", hello.Files, wantFiles)
	}
	if want := []inventory.File{{Path: "/usr/lib/vigil-hello/libhello.txt", Digest: sum("lib\n")}}; !slices.Equal(libs.Files, want) {
		t.Errorf("vigil-hello-libs files = %+v, want %+v", libs.Files, want)
	}
	if plain.Files != nil {
		t.Errorf("vigil-plain files = %+v, want none", plain.Files)
	}
}

func TestCatalogWithoutDistro(t *testing.T) {
	comps, err := catalogDir(t, buildRPMDB(t), inventory.Environment{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		if c.Namespace != "" || strings.Contains(c.PURL, "distro=") || !strings.HasPrefix(c.PURL, "pkg:rpm/"+c.Name+"@") {
			t.Errorf("%s: namespace %q purl %q", c.Name, c.Namespace, c.PURL)
		}
	}
}

// TestCatalogNDB reads a real SUSE NDB database (go-rpmdb's test data) from
// usr/lib/sysimage/rpm, where SUSE keeps it.
func TestCatalogNDB(t *testing.T) {
	f, err := os.Open("testdata/sle15-bci.Packages.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	db := testimage.Gunzip(t, f)
	sles := inventory.Environment{Distro: &inventory.Distro{ID: "sles", VersionID: "15.3"}}
	comps, err := catalogDir(t, writeFile(t, "usr/lib/sysimage/rpm/Packages.db", db), sles)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := byName(comps)
	// Expected values from go-rpmdb's own test cases for this file
	// (SLE15WithNDB in pkg/rpmdb_testcase_test.go).
	for _, tt := range []struct{ name, version, source, srcVersion, license string }{
		{"glibc", "2.31-9.3.2", "glibc", "2.31-9.3.2", "LGPL-2.1-or-later AND LGPL-2.1-or-later WITH GCC-exception-2.0 AND GPL-2.0-or-later"},
		{"libpcre1", "8.45-20.10.1", "pcre", "8.45-20.10.1", "BSD-3-Clause"},
		{"libstdc++6", "11.2.1+git610-1.3.9", "gcc11", "11.2.1+git610-1.3.9", "GPL-3.0-or-later WITH GCC-exception-3.1"},
	} {
		c, ok := pkgs[tt.name]
		if !ok {
			t.Errorf("%s not found among %d packages", tt.name, len(comps))
			continue
		}
		if c.Version != tt.version || c.Source.Name != tt.source || c.Source.Version != tt.srcVersion ||
			!slices.Equal(c.Licenses, []string{tt.license}) || c.Locations[0] != "/usr/lib/sysimage/rpm/Packages.db" {
			t.Errorf("%s = %+v", tt.name, c)
		}
	}
	if _, ok := pkgs[gpgPubkeyPseudo]; ok {
		t.Error("gpg-pubkey reported as a package")
	}
	if glibc := pkgs["glibc"]; !strings.HasPrefix(glibc.PURL, "pkg:rpm/sles/glibc@2.31-9.3.2?arch=x86_64&distro=sles-15.3") {
		t.Errorf("glibc purl = %q", glibc.PURL)
	}
}

// TestCatalogBDB reads a real RHEL 8 Berkeley DB database (go-rpmdb's test
// data) and compares it with a golden file.
func TestCatalogBDB(t *testing.T) {
	comps, err := catalogDir(t, "testdata/libuuid", inventory.Environment{Distro: &inventory.Distro{ID: "rhel", VersionID: "8.8"}})
	if err != nil {
		t.Fatal(err)
	}
	// From go-rpmdb's own test case for this file.
	c := byName(comps)["libuuid"]
	if c.Version != "2.32.1-42.el8_8" || c.Arch != "x86_64" || c.Source.Name != "util-linux" || c.Source.Version != "2.32.1-42.el8_8" ||
		c.Metadata[metaVendor] != "Red Hat, Inc." || !slices.Equal(c.Licenses, []string{"BSD"}) {
		t.Errorf("libuuid = %+v", c)
	}
	// Regular files keep their SHA-256 (values from go-rpmdb's
	// LibuuidInstalledFiles), links have none, directories are left out.
	wantFiles := []inventory.File{
		{Path: "/usr/lib/.build-id/df/ef6a880adac817216ab9866779a0725e017647"},
		{Path: "/usr/lib64/libuuid.so.1"},
		{Path: "/usr/lib64/libuuid.so.1.3.0", Digest: "sha256:3c8f59a0e39cce53501045859f5c9a86b82fedd558a2f4110ab1823047b43745"},
		{Path: "/usr/share/licenses/libuuid/COPYING", Digest: "sha256:f051c5b2e7ed25acac4b79d22b9e5df80447c16f9ec543d6ed21c213c576f6aa"},
		{Path: "/usr/share/licenses/libuuid/COPYING.BSD-3", Digest: "sha256:9b718a9460fed5952466421235bc79eb49d4e9eacc920d7a9dd6285ab8fd6c6d"},
	}
	if !slices.Equal(c.Files, wantFiles) {
		t.Errorf("libuuid files = %+v\nwant %+v", c.Files, wantFiles)
	}

	golden.JSON(t, "testdata/libuuid.golden.json", comps, *update)
}

// TestCatalogPrefersSysimage checks the order of dbPaths with both present.
func TestCatalogPrefersSysimage(t *testing.T) {
	root := buildRPMDB(t)
	db, err := os.ReadFile(filepath.Join(root, "var/lib/rpm/rpmdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "usr/lib/sysimage/rpm/rpmdb.sqlite")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, db, 0o644); err != nil {
		t.Fatal(err)
	}
	comps, err := catalogDir(t, root, rhel9)
	if err != nil {
		t.Fatal(err)
	}
	if len(comps) != 3 {
		t.Fatalf("got %d components, want the 3 of one database", len(comps))
	}
	for _, c := range comps {
		if c.Locations[0] != "/usr/lib/sysimage/rpm/rpmdb.sqlite" {
			t.Errorf("%s found in %s", c.Name, c.Locations[0])
		}
	}
}

// TestCatalogThroughWalk streams testdata/libuuid as an image layer keeping
// only what Wants asks for: the database must reach the reader through
// LocalPath and give what it gives from the directory.
func TestCatalogThroughWalk(t *testing.T) {
	want, err := catalogDir(t, "testdata/libuuid", rhel9)
	if err != nil {
		t.Fatal(err)
	}
	l := testimage.LayerFromDir(t, "testdata/libuuid")
	fsys, err := layers.Walk(t.Context(), []layers.Blob{{Open: l.Compressed}}, layers.Options{Want: Cataloger{}.Wants})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	got, err := Cataloger{}.Catalog(t.Context(), fsys, rhel9)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !slices.EqualFunc(got, want, func(a, b inventory.Component) bool { return a.PURL == b.PURL && slices.Equal(a.Files, b.Files) }) {
		t.Errorf("Catalog through Walk = %+v, want %+v", got, want)
	}
}

func TestCatalogMissing(t *testing.T) {
	comps, err := catalogDir(t, writeFile(t, "etc/hostname", []byte("x\n")), rhel9)
	if comps != nil || err != nil {
		t.Errorf("Catalog of an image without rpm = %v, %v", comps, err)
	}
}

// TestCatalogHostile feeds databases that crash, hang or exhaust go-rpmdb
// when it runs in-process: Catalog must answer with an error, and this test
// process must survive.
func TestCatalogHostile(t *testing.T) {
	defer func(d time.Duration) { childTimeout = d }(childTimeout)
	childTimeout = 3 * time.Second
	tests := []struct {
		file, db, want string
	}{
		{"bdb-index-out-of-range", "var/lib/rpm/Packages", "index out of range"},
		{"bdb-endless-chain", "var/lib/rpm/Packages", "gave up after 3s"},
		{"ndb-4gib-blob", "var/lib/rpm/Packages.db", "rpm database reader failed"},
		{"not-a-database", "var/lib/rpm/Packages", "unexpected encryption algorithm"},
		{"empty", "var/lib/rpm/rpmdb.sqlite", "open: binary read error: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata/hostile", tt.file))
			switch tt.file {
			case "not-a-database":
				data, err = []byte(strings.Repeat("garbage ", 200)), nil
			case "empty":
				data, err = nil, nil
			}
			if err != nil {
				t.Fatal(err)
			}
			comps, err := catalogDir(t, writeFile(t, tt.db, data), rhel9)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "read "+tt.db) {
				t.Errorf("Catalog = %v, %v; want an error naming %s and containing %q", comps, err, tt.db, tt.want)
			}
			t.Log(err)
		})
	}
}

func TestCatalogCancelled(t *testing.T) {
	fsys, err := layers.FromDir("testdata/libuuid", layers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := (Cataloger{}).Catalog(ctx, fsys, rhel9); err == nil {
		t.Error("Catalog with a cancelled context succeeded")
	}
}

func TestParseSourceRPM(t *testing.T) {
	tests := []struct {
		in, epoch string
		want      *inventory.SourcePackage
	}{
		{"openssl-3.0.7-27.el9.src.rpm", "", &inventory.SourcePackage{Name: "openssl", Version: "3.0.7-27.el9"}},
		{"openssl-3.0.7-27.el9.src.rpm", "1", &inventory.SourcePackage{Name: "openssl", Version: "1:3.0.7-27.el9"}},
		{"python3.11-pip-22.3.1-4.el9.src.rpm", "", &inventory.SourcePackage{Name: "python3.11-pip", Version: "22.3.1-4.el9"}},
		{"gcc11-11.2.1+git610-1.3.9.src.rpm", "", &inventory.SourcePackage{Name: "gcc11", Version: "11.2.1+git610-1.3.9"}},
		{"nvidia-kmod-1.0-1.nosrc.rpm", "", &inventory.SourcePackage{Name: "nvidia-kmod", Version: "1.0-1"}},
		{"", "", nil},
		{"(none)", "", nil},
		{"openssl-3.0.7.src.rpm", "", nil},
		{"-3.0.7-1.src.rpm", "", nil},
		{"openssl--1.src.rpm", "", nil},
		{"openssl-3.0.7-.src.rpm", "", nil},
		{"openssl-3.0.7-27.el9.rpm", "", nil},
		{"../x-1-2.src.rpm", "", nil},
	}
	for _, tt := range tests {
		got := sourceOf(tt.in, tt.epoch)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("sourceOf(%q, %q) = %+v, want %+v", tt.in, tt.epoch, got, tt.want)
		}
	}
}

func TestWants(t *testing.T) {
	c := Cataloger{}
	for _, p := range dbPaths {
		if !c.Wants(p, 0o644, 1, nil) {
			t.Errorf("Wants(%q) = false", p)
		}
	}
	for _, p := range []string{"var/lib/rpm/Index.db", "var/lib/rpm/rpmdb.sqlite-wal", "var/lib/rpm/Name", "usr/lib/rpm/Packages"} {
		if c.Wants(p, 0o644, 1, nil) {
			t.Errorf("Wants(%q) = true", p)
		}
	}
}

// FuzzReadDB writes arbitrary bytes as a database file and reads it: the
// reader must answer (packages or an error) without taking this process
// down or hanging past its deadline.
func FuzzReadDB(f *testing.F) {
	for _, s := range []string{"testdata/hostile/bdb-index-out-of-range", "testdata/hostile/ndb-4gib-blob", "testdata/libuuid/var/lib/rpm/Packages"} {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("SQLite format 3\x00"))
	defer func(d time.Duration) { childTimeout = d }(childTimeout)
	childTimeout = time.Second
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, fmt.Sprintf("db-%d", time.Now().UnixNano()))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		pkgs, err := readDB(t.Context(), p)
		if err != nil {
			return
		}
		for _, pk := range pkgs {
			for _, fl := range pk.Files {
				if !strings.HasPrefix(fl.Path, "/") {
					t.Fatalf("relative file path %q", fl.Path)
				}
			}
		}
	})
}
