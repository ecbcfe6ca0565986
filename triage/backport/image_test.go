package backport_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/triage/backport"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// TestDebianImage scans today's Debian bookworm (debootstrap minbase) with
// the shared vulnerability data, a snapshot from 2025-02-12. Packages fixed
// since then still match CVEs the snapshot lists as open, and their own
// changelogs name the fixes. Every verdict, and every finding left open, is
// checked against a plain grep of the changelog, independent of the
// provider's parser, with dpkg comparing the versions.
func TestDebianImage(t *testing.T) {
	testimage.Require(t, "dpkg")
	res := scanImage(t, testimage.DebianImage(t))
	root, err := os.OpenRoot(testimage.Debootstrap(t, "bookworm", "minbase"))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	suppressed, open := map[string]bool{}, 0
	for _, f := range res.Findings {
		if f.Component.Type != "deb" || !strings.HasPrefix(f.ID, "CVE-") {
			continue
		}
		key := f.Component.Name + " " + f.ID
		switch {
		case f.Verdict == nil:
			open++
			name := docChangelog(root, f.Component.Name)
			if name == "" {
				t.Logf("%s: the package has no changelog of its own; not checked", key)
				continue
			}
			for _, h := range grepChangelog(t, root, name, f.ID) {
				if dpkgLE(t, h.version, f.InstalledVersion) && !strings.Contains(strings.ToLower(h.line), "revert") {
					t.Errorf("%s: left open, but /%s names it at %s (installed %s): %q", key, name, h.version, f.InstalledVersion, h.line)
				}
			}
		case f.Verdict.By == "triage/backport":
			suppressed[key] = true
			checkVerdict(t, root, f)
		}
	}
	t.Logf("%d findings suppressed by their changelog, %d left open", len(suppressed), open)
	if open == 0 {
		t.Error("no finding left open: the image has true findings (CVEs its changelogs do not name), see CVE-2024-56433 in shadow")
	}

	// Checked by hand: the snapshot lists both as unfixed in bookworm.
	// glibc 2.36-9+deb12u10 fixed CVE-2025-0395 ("Fixes a buffer overflow
	// when printing assertion failure message (GLIBC-SA-2025-0001 /
	// CVE-2025-0395)"); gnutls28 3.7.9-2+deb12u4 fixed CVE-2024-12243,
	// named on the last continuation line of its bullet
	// ("[GNUTLS-SA-2025-02-07, CVSS: medium] [CVE-2024-12243]").
	for _, key := range []string{"libc6 CVE-2025-0395", "libgnutls30 CVE-2024-12243"} {
		if !suppressed[key] {
			t.Errorf("%s: not suppressed by its changelog", key)
		}
	}
}

// TestVendorRebuild installs a real libssl3 .deb repacked as a vendor
// rebuild, 3.0.13.12345: a version below Debian's fix of several openssl
// CVEs (3.0.14-1~deb12u1, 3.0.15-1~deb12u1 in the snapshot), with a new
// changelog entry saying it backported the fix of one of them,
// CVE-2024-5535. That one is fixed; the others stay open, although the real
// Debian entries kept below the vendor's, whose versions are above the
// installed one, name them.
func TestVendorRebuild(t *testing.T) {
	testimage.Require(t, "root", "dpkg", "dpkg-deb")
	const (
		vendorVersion = "3.0.13.12345"
		backported    = "CVE-2024-5535"
		changelogPath = "usr/share/doc/libssl3/changelog.Debian.gz"
	)
	header := "openssl (" + vendorVersion + ") bookworm-vendor; urgency=high"
	entry := header + "\n\n" +
		"  * Vendor rebuild of OpenSSL 3.0.13 with a backported security fix:\n" +
		"    - Fix SSL_select_next_proto buffer overread\n" +
		"      (" + backported + ").\n\n" +
		" -- Example Vendor Security <security@vendor.example>  Mon, 02 Dec 2024 10:00:00 +0000\n\n"

	work := t.TempDir()
	pkg := filepath.Join(work, "pkg")
	run(t, "dpkg-deb", "-R", testimage.AptDownload(t, "libssl3")[0], pkg)
	control := filepath.Join(pkg, "DEBIAN", "control")
	rewrite(t, control, func(b []byte) []byte {
		return regexp.MustCompile(`(?m)^Version: .*$`).ReplaceAll(b, []byte("Version: "+vendorVersion))
	})
	rewrite(t, filepath.Join(pkg, changelogPath), func(b []byte) []byte {
		return testimage.Gzip(t, append([]byte(entry), testimage.Gunzip(t, bytes.NewReader(b))...))
	})
	sum := md5.Sum(readFile(t, filepath.Join(pkg, changelogPath)))
	rewrite(t, filepath.Join(pkg, "DEBIAN", "md5sums"), func(b []byte) []byte {
		return regexp.MustCompile(`(?m)^[0-9a-f]{32}(  `+regexp.QuoteMeta(changelogPath)+`)$`).
			ReplaceAll(b, []byte(hex.EncodeToString(sum[:])+"$1"))
	})
	deb := filepath.Join(work, "libssl3_"+vendorVersion+"_amd64.deb")
	run(t, "dpkg-deb", "--root-owner-group", "-Zgzip", "-b", pkg, deb)

	// dpkg installs it into a root holding only the base image's dpkg
	// status, so the new layer is what `RUN dpkg -i` would have left.
	layer := filepath.Join(work, "layer")
	admin := filepath.Join(layer, "var", "lib", "dpkg")
	for _, d := range []string{"info", "updates"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := testimage.Debootstrap(t, "bookworm", "minbase")
	if err := os.WriteFile(filepath.Join(admin, "status"), readFile(t, filepath.Join(base, "var/lib/dpkg/status")), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "dpkg", "--root="+layer, "--install", deb)

	img := testimage.Build(t, testimage.DebianImage(t), []v1.Layer{testimage.LayerFromDir(t, layer)},
		[]string{"dpkg -i libssl3_" + vendorVersion + "_amd64.deb"}, nil)
	res := scanImage(t, img)

	root, err := os.OpenRoot(layer)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var found, namedAbove bool
	for _, f := range res.Findings {
		if f.Component.Name != "libssl3" {
			continue
		}
		if f.InstalledVersion != vendorVersion {
			t.Fatalf("libssl3 installed as %s, want %s", f.InstalledVersion, vendorVersion)
		}
		if f.ID == backported {
			found = true
			checkVerdict(t, root, f)
			if d := f.Verdict.Evidence[0].Detail; !strings.HasPrefix(d, "openssl ("+vendorVersion+") bookworm-vendor: ") {
				t.Errorf("%s: evidence %q does not quote the vendor's entry", f.ID, d)
			}
			continue
		}
		if f.Verdict != nil {
			t.Errorf("%s: the vendor's entry does not name it, yet it got verdict %+v", f.ID, f.Verdict)
		}
		for _, h := range grepChangelog(t, root, changelogPath, f.ID) {
			if !dpkgLE(t, h.version, vendorVersion) {
				namedAbove = true
				t.Logf("%s: open, though named at %s, above the installed version", f.ID, h.version)
			}
		}
	}
	if !found {
		t.Fatalf("no %s finding on libssl3 %s: the data should list it fixed in 3.0.15-1~deb12u1", backported, vendorVersion)
	}
	if !namedAbove {
		t.Error("no open finding is named by an entry above the installed version; the test no longer shows that such entries do not count")
	}
}

// scanImage runs the pipeline on img with the provider and the shared data.
func scanImage(t *testing.T, img v1.Image) *scan.Result {
	t.Helper()
	res, err := scan.Run(t.Context(), "oci-dir:"+testimage.WriteOCILayout(t, img), scan.Options{
		Layers: layers.Options{TempDir: t.TempDir()},
		DB:     vulndbtest.DB(t),
		Triage: []triage.Provider{backport.Provider{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	if res.Triage == nil || len(res.Triage.Warnings) > 0 {
		t.Errorf("triage stats %+v", res.Triage)
	}
	return res
}

// checkVerdict checks a verdict of the provider against the changelog it
// cites, read from root: it must name the CVE, in the entry the evidence
// quotes, at or below the installed version.
func checkVerdict(t *testing.T, root *os.Root, f match.Finding) {
	t.Helper()
	v := f.Verdict
	if v == nil || v.Status != vex.Fixed || v.By != "triage/backport" || len(v.Evidence) != 1 || v.Impact == "" {
		t.Errorf("%s %s: verdict %+v, want fixed by triage/backport with one evidence", f.Component.Name, f.ID, v)
		return
	}
	ev := v.Evidence[0]
	if ev.Kind != "changelog" || !strings.HasPrefix(ev.Location, "/") || !strings.Contains(ev.Detail, f.ID) {
		t.Errorf("%s %s: evidence %+v", f.Component.Name, f.ID, ev)
	}
	for _, h := range grepChangelog(t, root, strings.TrimPrefix(ev.Location, "/"), f.ID) {
		if strings.HasPrefix(ev.Detail, h.header+" ") && dpkgLE(t, h.version, f.InstalledVersion) {
			return
		}
	}
	t.Errorf("%s %s: %s names it in no entry at or below %s as quoted: %q", f.Component.Name, f.ID, ev.Location, f.InstalledVersion, ev.Detail)
}

// hit is a changelog line naming a CVE, under the entry header above it.
type hit struct {
	header  string // "glibc (2.36-9+deb12u10)"
	version string
	line    string
}

var headerLine = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]*) \(([^() ]+)\)`)

// grepChangelog is a line grep, independent of the provider's parser: the
// lines of the gzipped changelog name that contain id, each with the last
// "package (version)" line at column 0 above it.
func grepChangelog(t *testing.T, root *os.Root, name, id string) []hit {
	t.Helper()
	f, err := root.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var hits []hit
	var cur hit
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := headerLine.FindStringSubmatch(line); m != nil {
			cur = hit{header: m[0], version: m[2]}
		} else if strings.Contains(strings.ToUpper(line), id) && cur.version != "" {
			h := cur
			h.line = strings.TrimSpace(line)
			hits = append(hits, h)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return hits
}

// docChangelog returns the changelog of a package in root, "" for none.
func docChangelog(root *os.Root, pkg string) string {
	for _, base := range []string{"changelog.Debian.gz", "changelog.gz"} {
		name := "usr/share/doc/" + pkg + "/" + base
		if _, err := root.Stat(name); err == nil {
			return name
		}
	}
	return ""
}

// dpkgLE asks dpkg whether version a is at or below b.
func dpkgLE(t *testing.T, a, b string) bool {
	t.Helper()
	err := exec.Command("dpkg", "--compare-versions", a, "le", b).Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false
	}
	t.Fatalf("dpkg --compare-versions %s le %s: %v", a, b, err)
	return false
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out))
	}
}

func tail(b []byte) []byte {
	if len(b) > 4096 {
		return b[len(b)-4096:]
	}
	return b
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewrite replaces the contents of name by edit's result, failing when
// edit changes nothing: a pattern that stopped matching must not go
// unnoticed.
func rewrite(t *testing.T, name string, edit func([]byte) []byte) {
	t.Helper()
	old := readFile(t, name)
	b := edit(old)
	if bytes.Equal(b, old) {
		t.Fatalf("rewrite %s: nothing changed", name)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}
