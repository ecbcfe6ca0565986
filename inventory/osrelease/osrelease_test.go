package osrelease

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigilsec/vigil/inventory"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"unquoted", "ID=debian\nVERSION_ID=12\n", map[string]string{"ID": "debian", "VERSION_ID": "12"}},
		{"double quotes keep spaces", `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`, map[string]string{"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}},
		{"double-quote escapes", `X="a \"b\" \\ \$ \` + "`" + ` c"`, map[string]string{"X": "a \"b\" \\ $ ` c"}},
		{"other backslashes stay in double quotes", `X="a\nb"`, map[string]string{"X": `a\nb`}},
		{"single quotes have no escapes", `X='a \"b'`, map[string]string{"X": `a \"b`}},
		{"quoted parts concatenate", `X="foo"bar'baz'`, map[string]string{"X": "foobarbaz"}},
		{"single quote inside", `X='it'"'"'s'`, map[string]string{"X": "it's"}},
		{"unquoted escape", `X=a\ b\"`, map[string]string{"X": `a b"`}},
		{"comments and blank lines", "# a comment\n\n   \n  # indented comment\nID=alpine\n", map[string]string{"ID": "alpine"}},
		{"trailing comment", "ID=debian # the id\n", map[string]string{"ID": "debian"}},
		{"hash inside a word is literal", "X=a#b\n", map[string]string{"X": "a#b"}},
		{"trailing blanks dropped", "ID=debian  \t\n", map[string]string{"ID": "debian"}},
		{"inner spaces kept like systemd", "NAME=Foo Linux\n", map[string]string{"NAME": "Foo Linux"}},
		{"CRLF line ends", "ID=debian\r\nVERSION_ID=\"12\"\r\n", map[string]string{"ID": "debian", "VERSION_ID": "12"}},
		{"empty value", "VARIANT=\nX=\"\"\n", map[string]string{"VARIANT": "", "X": ""}},
		{"later assignment wins", "ID=a\nID=b\n", map[string]string{"ID": "b"}},
		{"no final newline", "ID=rhel", map[string]string{"ID": "rhel"}},
		{"leading blanks", "  ID=fedora\n", map[string]string{"ID": "fedora"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no equals sign", "ID=debian\njunk\n", "line 2: no '='"},
		{"key starts with a digit", "1ID=x\n", `line 1: invalid variable name "1ID"`},
		{"space before equals", "ID =x\n", `line 1: invalid variable name "ID "`},
		{"unterminated double quote", "ID=debian\nNAME=\"Debian\n", "line 2: NAME: unterminated double quote"},
		{"unterminated single quote", "NAME='Debian\n", "line 1: NAME: unterminated single quote"},
		{"escaped closing quote", `NAME="Debian\"`, "line 1: NAME: unterminated double quote"},
		{"line too long", "X=" + strings.Repeat("a", maxSize+1), "token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	debian := "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
	tests := []struct {
		name  string
		files map[string]string
		want  *inventory.Distro
	}{
		{"etc/os-release", map[string]string{"etc/os-release": debian},
			&inventory.Distro{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		{"usr/lib/os-release when etc has none", map[string]string{"usr/lib/os-release": "ID=alpine\nVERSION_ID=3.19.1\n"},
			&inventory.Distro{ID: "alpine", VersionID: "3.19.1"}},
		{"etc wins over usr/lib", map[string]string{"etc/os-release": "ID=ubuntu\n", "usr/lib/os-release": "ID=debian\n"},
			&inventory.Distro{ID: "ubuntu"}},
		{"os-release wins over debian_version", map[string]string{"usr/lib/os-release": "ID=ubuntu\nID_LIKE=debian\n", "etc/debian_version": "bookworm/sid\n"},
			&inventory.Distro{ID: "ubuntu", IDLike: []string{"debian"}}},
		{"ID defaults to linux, NAME stands in for PRETTY_NAME", map[string]string{"etc/os-release": "NAME=Custom\n"},
			&inventory.Distro{ID: "linux", PrettyName: "Custom"}},
		{"ID and ID_LIKE are lowercased", map[string]string{"etc/os-release": "ID=Debian\nID_LIKE=\"RHEL  Fedora\"\n"},
			&inventory.Distro{ID: "debian", IDLike: []string{"rhel", "fedora"}}},
		{"debian_version point release", map[string]string{"etc/debian_version": "12.5\n"},
			&inventory.Distro{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12.5"}},
		{"debian_version testing", map[string]string{"etc/debian_version": "trixie/sid\n"},
			&inventory.Distro{ID: "debian", Codename: "trixie", PrettyName: "Debian GNU/Linux trixie/sid"}},
		{"alpine-release", map[string]string{"etc/alpine-release": "3.19.1\n"},
			&inventory.Distro{ID: "alpine", VersionID: "3.19.1", PrettyName: "Alpine Linux 3.19.1"}},
		{"nothing", map[string]string{"etc/hostname": "x\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(mapFS(tt.files))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Detect = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDetectErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"malformed os-release", map[string]string{"etc/os-release": "ID=debian\nVERSION_ID=\"12\n"}, "parse etc/os-release: line 2: VERSION_ID: unterminated double quote"},
		{"oversized os-release", map[string]string{"usr/lib/os-release": strings.Repeat("#\n", maxSize)}, "read usr/lib/os-release: larger than"},
		{"oversized alpine-release", map[string]string{"etc/alpine-release": strings.Repeat("3", maxSize+1)}, "read etc/alpine-release: larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Detect(mapFS(tt.files))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Detect = %+v, %v; want error containing %q", d, err, tt.want)
			}
		})
	}
}

// TestDetectFollowsSymlink checks the layout every current distribution
// ships: etc/os-release is a relative link to ../usr/lib/os-release.
func TestDetectFollowsSymlink(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc", "usr/lib"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr/lib/os-release"), []byte("ID=debian\nVERSION_ID=\"12\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/debian_version"), []byte("12.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../usr/lib/os-release", filepath.Join(root, "etc/os-release")); err != nil {
		t.Fatal(err)
	}
	got, err := Detect(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	if want := (&inventory.Distro{ID: "debian", VersionID: "12"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Detect = %+v, want %+v", got, want)
	}

	// A dangling link is an absent file: the fallback answers.
	if err := os.Remove(filepath.Join(root, "usr/lib/os-release")); err != nil {
		t.Fatal(err)
	}
	got, err = Detect(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.ID != "debian" || got.PrettyName != "Debian GNU/Linux 12.5" {
		t.Errorf("Detect with a dangling os-release link = %+v, want the debian_version fallback", got)
	}
}

// TestDetectGolden runs Detect on real os-release files (see testdata/README.md).
func TestDetectGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.os-release")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Detect(fstest.MapFS{"etc/os-release": {Data: b}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(in, ".os-release") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Detect(%s) =\n%s\nwant (%s)\n%s", in, got, golden, want)
			}
		})
	}
}

func TestWants(t *testing.T) {
	for _, p := range Paths {
		if !Wants(p) {
			t.Errorf("Wants(%q) = false", p)
		}
	}
	for _, p := range []string{"etc/os-release.d", "/etc/os-release", "etc/passwd", "usr/lib/os-release/x"} {
		if Wants(p) {
			t.Errorf("Wants(%q) = true", p)
		}
	}
}

func TestPURLQualifier(t *testing.T) {
	tests := []struct {
		d    *inventory.Distro
		want string
	}{
		{nil, ""},
		{&inventory.Distro{}, ""},
		{&inventory.Distro{ID: "debian", VersionID: "12"}, "debian-12"},
		{&inventory.Distro{ID: "alpine", VersionID: "3.19.1"}, "alpine-3.19.1"},
		{&inventory.Distro{ID: "debian", Codename: "trixie"}, "debian"},
	}
	for _, tt := range tests {
		if got := PURLQualifier(tt.d); got != tt.want {
			t.Errorf("PURLQualifier(%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics and that every value it returns
// survives being written back double-quoted, the canonical os-release form.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.os-release")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`X="a \"b\" \\ \$"c'd'\ e # f`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out strings.Builder
		for k, v := range fields {
			out.WriteString(k + `="`)
			for _, c := range []byte(v) {
				if strings.IndexByte("\"\\$`", c) >= 0 {
					out.WriteByte('\\')
				}
				out.WriteByte(c)
			}
			out.WriteString("\"\n")
		}
		again, err := Parse(strings.NewReader(out.String()))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out.String(), err)
		}
		if !maps.Equal(fields, again) {
			t.Fatalf("round trip changed values: %q became %q", fields, again)
		}
	})
}

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}
