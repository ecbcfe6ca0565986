package dpkg

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
)

func TestParseControl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []entry
	}{
		{
			name: "multi-line fields and conffiles",
			in: `Package: bash
Status: install ok installed
Priority: required
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Source: bash (5.2.15-2)
Version: 5.2.15-2+b8
Conffiles:
 /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d
 /etc/skel/.bashrc 7fd5b2fe10bb2e2f2dba8ee0ad0ea2f1
 /etc/old.conf 11111111111111111111111111111111 obsolete
 /etc/with space.conf 22222222222222222222222222222222 remove-on-upgrade
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.
 .
 Version: 9.9 in a description is not a field.
Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html
`,
			want: []entry{{
				name: "bash", version: "5.2.15-2+b8", arch: "amd64", status: "install ok installed",
				source: "bash", sourceVersion: "5.2.15-2", maintainer: "Matthias Klose <doko@debian.org>",
				conffiles: []conffile{
					{"/etc/bash.bashrc", "89269e1298235f1b12b4c16e4065ad0d"},
					{"/etc/skel/.bashrc", "7fd5b2fe10bb2e2f2dba8ee0ad0ea2f1"},
					{"/etc/old.conf", "11111111111111111111111111111111"},
					{"/etc/with space.conf", "22222222222222222222222222222222"},
				},
				line: 1,
			}},
		},
		{
			name: "several stanzas, no final newline, whitespace-only separator",
			in:   "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\nSource: bsrc\n \t\nPackage: c\nVersion: 3",
			want: []entry{
				{name: "a", version: "1", line: 1},
				{name: "b", version: "2", source: "bsrc", line: 4},
				{name: "c", version: "3", line: 8},
			},
		},
		{
			name: "field names are case-insensitive, CRLF tolerated",
			in:   "package: a\r\nVERSION: 1:2.0-1\r\narchitecture: all\r\n",
			want: []entry{{name: "a", version: "1:2.0-1", arch: "all", line: 1}},
		},
		{
			name: "leading blank lines",
			in:   "\n\n\nPackage: a\nVersion: 1\n",
			want: []entry{{name: "a", version: "1", line: 4}},
		},
		{
			name: "a forgotten package may lack a version",
			in:   "Package: gone\nStatus: purge ok not-installed\n",
			want: []entry{{name: "gone", status: "purge ok not-installed", line: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseControl(strings.NewReader(tt.in))
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseControl =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseControlErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// good are the packages still returned; want the error text.
		good []string
		want string
	}{
		{"no Package", "Package: a\nVersion: 1\n\nVersion: 2\n\nPackage: c\nVersion: 3\n", []string{"a", "c"}, "stanza at line 4: no Package field"},
		{"no Version", "Package: a\nStatus: install ok installed\n", nil, "stanza at line 1 (a): no Version field"},
		{"bad Status", "Package: a\nVersion: 1\nStatus: installed\n", nil, `stanza at line 1 (a): Status "installed" is not "want flag status"`},
		{"not a field", "Package: a\nVersion: 1\njunk\n\nPackage: b\nVersion: 2\n", []string{"b"}, `line 3: not a field: "junk"`},
		{"duplicate field", "Package: a\nVersion: 1\nVersion: 2\n", nil, "line 3: duplicate field Version"},
		{"continuation first", " indented\nPackage: a\nVersion: 1\n", nil, "line 1: continuation line at the start of a stanza"},
		{"continuation of Version", "Package: a\nVersion: 1\n 2\n", nil, "line 3: continuation line in a single-line field"},
		{"bad Source", "Package: a\nVersion: 1\nSource: b (1\n", nil, `line 3: field Source "b (1" is not "name (version)"`},
		{"bad conffile", "Package: a\nVersion: 1\nConffiles:\n /etc/a\n", nil, `line 4: conffile line "/etc/a" is not "path md5"`},
		{"relative conffile", "Package: a\nVersion: 1\nConffiles:\n etc/a 0123\n", nil, `line 4: conffile line "etc/a 0123"`},
		{"over-long line", "Package: a\nDescription: " + strings.Repeat("x", maxLine) + "\n", nil, "line 2: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := parseControl(strings.NewReader(tt.in))
			var names []string
			for _, e := range got {
				names = append(names, e.name)
			}
			if !slices.Equal(names, tt.good) {
				t.Errorf("packages = %q, want %q", names, tt.good)
			}
			err := errors.Join(errs...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseControlStopsOnGarbage(t *testing.T) {
	in := strings.Repeat("garbage\n\n", 1000)
	_, errs := parseControl(strings.NewReader(in))
	if len(errs) != maxErrors+2 {
		t.Fatalf("got %d errors, want %d (maxErrors+1 stanzas and the stop)", len(errs), maxErrors+2)
	}
	if last := errs[len(errs)-1].Error(); !strings.Contains(last, "stopped at line") {
		t.Errorf("last error = %q", last)
	}
}

func TestInstalled(t *testing.T) {
	tests := []struct {
		status string
		want   bool
	}{
		{"", true}, // distroless status.d
		{"install ok installed", true},
		{"deinstall ok installed", true},
		{"hold ok installed", true},
		{"install ok unpacked", true},
		{"install ok half-configured", true},
		{"install ok triggers-awaited", true},
		{"install ok triggers-pending", true},
		{"install reinstreq half-installed", true},
		{"deinstall ok config-files", false},
		{"purge ok not-installed", false},
		{"install ok", false},
	}
	for _, tt := range tests {
		e := entry{status: tt.status}
		if got := e.installed(); got != tt.want {
			t.Errorf("installed(%q) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

// TestParseHostStatus parses this machine's dpkg database and compares it with
// what dpkg itself reports.
func TestParseHostStatus(t *testing.T) {
	testimage.Require(t, "dpkg-query")
	f, err := os.Open("/" + statusFile)
	if err != nil {
		t.Skipf("no dpkg database on this machine: %v", err)
	}
	defer f.Close()
	entries, errs := parseControl(f)
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	var got []string
	for _, e := range entries {
		if e.installed() {
			got = append(got, e.name+" "+e.version+" "+e.arch)
		}
	}

	// dpkg-query -W lists every package that is not "not-installed",
	// config-files ones included; filter those with the state it prints.
	out, err := exec.Command("dpkg-query", "-W", "-f", "${db:Status-Status} ${Package} ${Version} ${Architecture}\n").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		state, pkg, _ := strings.Cut(sc.Text(), " ")
		if state != "config-files" {
			want = append(want, pkg)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 {
		t.Fatal("dpkg-query listed no packages")
	}
	if !slices.Equal(got, want) {
		for _, w := range want {
			if _, ok := slices.BinarySearch(got, w); !ok {
				t.Errorf("missing %s", w)
			}
		}
		for _, g := range got {
			if _, ok := slices.BinarySearch(want, g); !ok {
				t.Errorf("extra %s", g)
			}
		}
	}
	t.Logf("%d packages match dpkg-query", len(got))
}

// BenchmarkParseControl parses this machine's status file repeated to about
// 2000 packages, the size of a large image.
func BenchmarkParseControl(b *testing.B) {
	data, err := os.ReadFile("/" + statusFile)
	if err != nil {
		b.Skipf("no dpkg database on this machine: %v", err)
	}
	n := bytes.Count(data, []byte("\nPackage: ")) + 1
	big := bytes.Repeat(append(data, '\n'), max(1, 2000/n))
	b.SetBytes(int64(len(big)))
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := parseControl(bytes.NewReader(big)); len(errs) > 0 {
			b.Fatal(errs[0])
		}
	}
}

func FuzzParseControl(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/var/lib/dpkg/status*")
	for _, s := range seeds {
		if fi, err := os.Stat(s); err != nil || fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Package: a\nVersion: 1\nConffiles:\n /etc/a 0123 obsolete\n\n \nPackage: b\nSource: c (2)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, errs := parseControl(bytes.NewReader(b))
		if len(errs) > maxErrors+2 {
			t.Fatalf("%d errors, more than the bound", len(errs))
		}
		for _, e := range entries {
			if e.name == "" {
				t.Fatalf("entry without a name at line %d", e.line)
			}
			if e.installed() && e.version == "" {
				t.Fatalf("installed entry %q without a version", e.name)
			}
			if e.line < 1 || e.line > bytes.Count(b, []byte{'\n'})+1 {
				t.Fatalf("entry %q at impossible line %d", e.name, e.line)
			}
		}
	})
}
