package reachability

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
)

// The layout program has a package whose path the linker must escape
// (its last element has a dot), a function the compiler inlines at its
// only call site, and a generic function and a pointer method it must not
// inline.
const layoutMod = "module example.com/vigiltest/layout\n\ngo 1.22\n"

const inlPath = "example.com/vigiltest/layout/inl.v2"

var layoutFiles = map[string]string{
	"main.go": `package main

import (
	"fmt"
	"os"

	inl "example.com/vigiltest/layout/inl.v2"
)

func main() {
	var c inl.Counter
	c.Add(len(os.Args))
	fmt.Println(inl.Small(len(os.Args)), inl.Big(os.Args), inl.Map(os.Args, func(s string) string { return s + "!" }), c)
}
`,
	"inl.v2/inl.go": `// Package inl has functions of every shape the reader must name.
package inl

// Small is inlined at its call site: the linker drops its own body.
func Small(x int) int { return 2*x + 1 }

//go:noinline
func Big(args []string) int {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	return n
}

//go:noinline
func Map[T any](xs []T, f func(T) T) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

type Counter struct{ N int }

//go:noinline
func (c *Counter) Add(d int) { c.N += d }
`,
}

// layouts are the binary layouts the reader must handle, all real builds.
var layouts = []struct {
	name string
	env  []string
	// version is the pclntab layout the toolchain writes.
	version pclnVersion
	// stripped: built with -ldflags=-s, no symbol table.
	stripped bool
}{
	{"linux-amd64", nil, ver120, false},
	{"linux-amd64-stripped", []string{"GOFLAGS=-mod=mod -ldflags=-s"}, ver120, true},
	{"linux-amd64-pie", []string{"GOFLAGS=-mod=mod -buildmode=pie"}, ver120, false},
	{"linux-amd64-pie-stripped", []string{"GOFLAGS=-mod=mod -buildmode=pie -ldflags=-s"}, ver120, true},
	{"linux-arm64", []string{"GOARCH=arm64"}, ver120, false},
	{"linux-s390x-bigendian", []string{"GOARCH=s390x"}, ver120, false},
	{"linux-386-32bit", []string{"GOARCH=386"}, ver120, false},
	{"windows-amd64-pe", []string{"GOOS=windows"}, ver120, false},
	{"windows-amd64-pe-stripped", []string{"GOOS=windows", "GOFLAGS=-mod=mod -ldflags=-s"}, ver120, true},
	{"darwin-arm64-macho", []string{"GOOS=darwin", "GOARCH=arm64"}, ver120, false},
	{"darwin-amd64-macho-stripped", []string{"GOOS=darwin", "GOARCH=amd64", "GOFLAGS=-mod=mod -ldflags=-s"}, ver120, true},
	{"go1.25.0-toolchain", []string{"GOTOOLCHAIN=go1.25.0"}, ver120, false},
}

func readFileTable(t *testing.T, path string) (*table, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := readTable(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("readTable %s: %v", path, err)
	}
	return tab, b
}

// functionTable returns the names debug/gosym lists for the pclntab of the
// executable b: the functions that have code of their own.
func functionTable(t *testing.T, b []byte) []string {
	t.Helper()
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(tableBytes(t, b), 0))
	if err != nil {
		t.Fatalf("debug/gosym: %v", err)
	}
	var names []string
	for _, f := range tab.Funcs {
		names = append(names, f.Name)
	}
	return names
}

// hasSymbols reports whether the executable b has a symbol table naming
// Go functions.
func hasSymbols(t *testing.T, b []byte) bool {
	t.Helper()
	r := bytes.NewReader(b)
	if f, err := elf.NewFile(r); err == nil {
		syms, err := f.Symbols()
		return err == nil && len(syms) > 0
	}
	if f, err := pe.NewFile(r); err == nil {
		return len(f.Symbols) > 0
	}
	f, err := macho.NewFile(r)
	if err != nil {
		t.Fatal("not an ELF, PE or Mach-O file")
	}
	return f.Symtab != nil && slices.ContainsFunc(f.Symtab.Syms, func(s macho.Symbol) bool { return s.Name == "runtime.main" })
}

// checkSuperset fails t unless every function of the function table is
// among names: funcnametab must miss nothing debug/gosym sees.
func checkSuperset(t *testing.T, names, funcs []string) {
	t.Helper()
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, f := range funcs {
		if !have[f] {
			t.Errorf("function table has %q, funcnametab does not", f)
		}
	}
}

func TestLayouts(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			bin := testimage.GoBinary(t, "layout", layoutMod, layoutFiles, l.env...)
			tab, b := readFileTable(t, bin)
			if tab.version != l.version || !tab.complete {
				t.Errorf("version %v complete %v, want %v complete", tab.version, tab.complete, l.version)
			}
			if got := hasSymbols(t, b); got == l.stripped {
				t.Errorf("symbol table present: %v, want %v", got, !l.stripped)
			}
			funcs := functionTable(t, b)
			checkSuperset(t, tab.names, funcs)

			small := strings.ReplaceAll(inlPath, "inl.v2", "inl%2ev2") + ".Small"
			if slices.Contains(funcs, small) {
				t.Fatalf("%s has code of its own: the fixture does not show inlining", small)
			}
			if !slices.Contains(tab.names, small) {
				t.Errorf("funcnametab misses the inlined %s", small)
			}

			s := newSymbols(tab.names, "example.com/vigiltest/layout", true)
			for _, sym := range []string{"Small", "Big", "Map", "Counter.Add"} {
				if !s.linked(inlPath, sym) {
					t.Errorf("%s.%s not linked; package has %v", inlPath, sym, s.pkgs[inlPath])
				}
			}
			if !s.linked("example.com/vigiltest/layout", "main") || !s.linked("fmt", "Println") {
				t.Errorf("main.main filed under the main package path, or fmt.Println, missing")
			}
			if s.linked(inlPath, "Unused") || s.linked("net/http", "Get") {
				t.Error("symbols the program does not link are reported linked")
			}
		})
	}
}

// TestDebianBinary reads a binary built by another toolchain (Go 1.19,
// whose pclntab layout is Go 1.18's), linked externally with cgo, and
// stripped: Debian's runc.
func TestDebianBinary(t *testing.T) {
	deb := testimage.AptDownload(t, "runc")[0]
	root := t.TempDir()
	testimage.ExtractDeb(t, deb, root)
	tab, b := readFileTable(t, filepath.Join(root, "usr/sbin/runc"))
	if tab.version != ver118 || !tab.complete {
		t.Errorf("version %v complete %v, want go1.18 complete", tab.version, tab.complete)
	}
	funcs := functionTable(t, b)
	checkSuperset(t, tab.names, funcs)
	if len(tab.names) <= len(funcs) {
		t.Errorf("%d names for %d functions: inlined functions missing", len(tab.names), len(funcs))
	}
	s := newSymbols(tab.names, "", true)
	if !s.linked("github.com/opencontainers/runc/libcontainer", "New") {
		t.Error("libcontainer.New missing from runc")
	}
}

// TestGo115 reads a pclntab of Go 1.15, the last release before
// funcnametab, from the Go distribution's own test data: its names are
// the function table's, and the table says it is incomplete.
func TestGo115(t *testing.T) {
	data := pcln115(t)
	tab, err := readPclntab(io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))))
	if err != nil {
		t.Fatal(err)
	}
	if tab.version != ver12 || tab.complete {
		t.Errorf("version %v complete %v, want go1.2 incomplete", tab.version, tab.complete)
	}
	gt, err := gosym.NewTable(nil, gosym.NewLineTable(data, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.names) != len(gt.Funcs) || !slices.Contains(tab.names, "main.main") {
		t.Errorf("%d names (main.main: %v), debug/gosym has %d functions", len(tab.names), slices.Contains(tab.names, "main.main"), len(gt.Funcs))
	}
}

func pcln115(t testing.TB) []byte {
	t.Helper()
	testimage.Require(t, "go")
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(goroot)), "src", "debug", "gosym", "testdata", "pcln115.gz")
	f, err := os.Open(p)
	if err != nil {
		t.Skipf("Go 1.15 test table: %v", err)
	}
	defer f.Close()
	return testimage.Gunzip(t, f)
}

// layoutBinary returns the linux-amd64 layout binary.
func layoutBinary(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(testimage.GoBinary(t, "layout", layoutMod, layoutFiles))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tableBytes returns the pclntab of the executable b.
func tableBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	sr, err := locate(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, sr.Size())
	if _, err := sr.ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	return data
}

// Offsets of the Go 1.20 pcHeader fields on a 64-bit target.
const (
	offNfunc    = 8
	offFuncname = 8 + 3*8
	offCu       = 8 + 4*8
	offPcln     = 8 + 7*8
)

// malformed are tables derived from a real one by breaking one thing.
func malformed(real []byte) []struct {
	name string
	data []byte
} {
	le := binary.LittleEndian
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(real)) }
	funcname := le.Uint64(real[offFuncname:])
	return []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"magic only", real[:4]},
		{"truncated header", real[:40]},
		{"header only", real[:maxHeader]},
		{"unknown magic", edit(func(b []byte) []byte { b[0] = 0xf5; return b })},
		{"nonzero padding", edit(func(b []byte) []byte { b[4] = 1; return b })},
		{"bad pointer size", edit(func(b []byte) []byte { b[7] = 3; return b })},
		{"bad instruction size", edit(func(b []byte) []byte { b[6] = 3; return b })},
		{"funcnametab beyond the table", edit(func(b []byte) []byte {
			le.PutUint64(b[offFuncname:], uint64(len(b))+100)
			return b
		})},
		{"funcnametab inside the header", edit(func(b []byte) []byte { le.PutUint64(b[offFuncname:], 8); return b })},
		{"cutab before funcnametab", edit(func(b []byte) []byte { le.PutUint64(b[offCu:], funcname-1); return b })},
		{"offsets beyond the table", edit(func(b []byte) []byte { le.PutUint64(b[offPcln:], 1<<62); return b })},
		{"too many functions", edit(func(b []byte) []byte { le.PutUint64(b[offNfunc:], 1<<40); return b })},
		{"no functions", edit(func(b []byte) []byte { le.PutUint64(b[offNfunc:], 0); return b })},
		{"names not NUL-terminated", edit(func(b []byte) []byte { le.PutUint64(b[offCu:], funcname+3); return b })},
		{"cut after funcnametab", edit(func(b []byte) []byte { return b[:le.Uint64(b[offCu:])+8] })},
		{"go1.2 too many functions", edit(func(b []byte) []byte {
			le.PutUint32(b, 0xfffffffb)
			le.PutUint64(b[offNfunc:], 1<<40)
			return b
		})},
		{"go1.2 function table cut", edit(func(b []byte) []byte {
			le.PutUint32(b, 0xfffffffb)
			le.PutUint64(b[offNfunc:], 100)
			return b[:min(200, len(b))]
		})},
	}
}

func TestMalformedTables(t *testing.T) {
	real := tableBytes(t, layoutBinary(t))
	for _, tc := range malformed(real) {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := readPclntab(io.NewSectionReader(bytes.NewReader(tc.data), 0, int64(len(tc.data))))
			if err == nil {
				t.Fatalf("read %d names from a broken table", len(tab.names))
			}
			if !errors.Is(err, errMalformed) && !errors.Is(err, io.EOF) {
				t.Errorf("error %v, want one wrapping errMalformed or io.EOF", err)
			}
		})
	}
}

// zeros is a file of n zero bytes that takes no memory.
type zeros int64

func (z zeros) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(z) {
		return 0, io.EOF
	}
	n := min(int64(len(p)), int64(z)-off)
	clear(p[:n])
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// TestHugeNameTable: a header that claims a funcnametab over the limit is
// refused before anything that size is allocated.
func TestHugeNameTable(t *testing.T) {
	const size = maxNameTab + 1<<20
	h := make([]byte, maxHeader)
	le := binary.LittleEndian
	le.PutUint32(h, 0xfffffff1)
	h[6], h[7] = 1, 8
	le.PutUint64(h[offNfunc:], 1)
	le.PutUint64(h[offFuncname:], maxHeader)
	for off := offCu; off <= offPcln; off += 8 {
		le.PutUint64(h[off:], maxHeader+maxNameTab+1)
	}
	sr := io.NewSectionReader(readerAt{h, zeros(size)}, 0, size)
	if _, err := readPclntab(sr); !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("error %v, want the funcnametab limit", err)
	}
}

// readerAt reads head, then tail.
type readerAt struct {
	head []byte
	tail io.ReaderAt
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < int64(len(r.head)) {
		n := copy(p, r.head[off:])
		if n == len(p) {
			return n, nil
		}
		m, err := r.tail.ReadAt(p[n:], off+int64(n))
		return n + m, err
	}
	return r.tail.ReadAt(p, off)
}

// TestSearch finds a real table that has no section of its own inside a
// section of other data, past a decoy header whose offsets do not hold.
func TestSearch(t *testing.T) {
	real := tableBytes(t, layoutBinary(t))
	junk := bytes.Repeat([]byte{0xab}, 4096)
	decoy := bytes.Clone(real[:maxHeader])
	binary.LittleEndian.PutUint64(decoy[offFuncname:], 1<<40)
	sec := slices.Concat(junk, decoy, junk[:12], real, junk)
	start := int64(len(junk) + len(decoy) + 12)
	const fileOff = 100
	file := slices.Concat(make([]byte, fileOff), sec)
	sr, err := search(bytes.NewReader(file), int64(len(file)), fileOff, uint64(len(sec)), 0x1000)
	if err != nil {
		t.Fatal(err)
	}
	// The table is a part of the section reader search was given.
	if _, off, _ := sr.Outer(); off != start {
		t.Errorf("found a table at %d of the section, want %d", off, start)
	}
	if _, err := readPclntab(sr); err != nil {
		t.Error(err)
	}
	if _, err := search(bytes.NewReader(file), int64(len(file)), fileOff, uint64(len(junk)), 0x1000); !errors.Is(err, errNoTable) {
		t.Errorf("search of junk: %v, want errNoTable", err)
	}
}

// TestMalformedExecutables breaks the container formats around a real
// table: the reader answers with an error, never a panic or a table.
func TestMalformedExecutables(t *testing.T) {
	for _, tc := range malformedExecutables(layoutBinary(t)) {
		t.Run(tc.name, func(t *testing.T) {
			if tab, err := readTable(bytes.NewReader(tc.data), int64(len(tc.data))); err == nil {
				t.Errorf("read %d names", len(tab.names))
			}
		})
	}
}

func malformedExecutables(elf []byte) []struct {
	name string
	data []byte
} {
	le := binary.LittleEndian
	shoff := le.Uint64(elf[0x28:])
	shentsize, shnum := uint64(le.Uint16(elf[0x3a:])), uint64(le.Uint16(elf[0x3c:]))
	// sectionOffsets points every section header's sh_offset at off.
	sectionOffsets := func(off uint64) []byte {
		b := bytes.Clone(elf)
		for i := range shnum {
			le.PutUint64(b[shoff+i*shentsize+0x18:], off)
		}
		return b
	}
	return []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"elf magic only", elf[:4]},
		{"elf header only", elf[:64]},
		{"elf cut in half", elf[:len(elf)/2]},
		{"elf sections beyond the file", sectionOffsets(1 << 40)},
		{"elf sections at the start", sectionOffsets(0)},
		{"pe header only", []byte("MZ\x90\x00")},
		{"pe garbage", append([]byte("MZ"), bytes.Repeat([]byte{0xff}, 512)...)},
		{"macho magic only", []byte{0xcf, 0xfa, 0xed, 0xfe}},
		{"macho garbage", append([]byte{0xcf, 0xfa, 0xed, 0xfe}, bytes.Repeat([]byte{0x7f}, 512)...)},
		{"not an executable", []byte("#!/bin/sh\necho hello\n")},
	}
}
