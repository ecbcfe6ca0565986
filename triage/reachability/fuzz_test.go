package reachability

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seeds in testdata")

// synthTable assembles a pclntab that holds together as far as the reader
// looks: a pcHeader of the given layout, a funcnametab of names, empty
// cutab, filetab and pctab, and a function table for one function.
func synthTable(version pclnVersion, order binary.AppendByteOrder, ptrSize int, names ...string) []byte {
	magic := map[pclnVersion]uint32{ver116: 0xfffffffa, ver118: 0xfffffff0, ver120: 0xfffffff1}[version]
	words := 8
	entry := 8
	if version == ver116 {
		words, entry = 7, 2*ptrSize
	}
	hdr := 8 + words*ptrSize
	nameTab := []byte(strings.Join(names, "\x00") + "\x00")
	end := uint64(hdr + len(nameTab))
	b := order.AppendUint32(nil, magic)
	b = append(b, 0, 0, 1, byte(ptrSize))
	put := func(v uint64) {
		if ptrSize == 4 {
			b = order.AppendUint32(b, uint32(v))
		} else {
			b = order.AppendUint64(b, v)
		}
	}
	put(1) // nfunc
	put(0) // nfiles
	if words == 8 {
		put(0) // textStart
	}
	put(uint64(hdr))
	for range 4 { // cutab, filetab, pctab and the function table start where names end
		put(end)
	}
	b = append(b, nameTab...)
	return append(b, make([]byte, 2*entry)...)
}

// synthELF wraps section in a minimal little-endian ELF64 executable as
// the section named name, the way the Go linker writes .gopclntab.
func synthELF(name string, section []byte) []byte {
	le := binary.LittleEndian
	shstr := []byte("\x00.shstrtab\x00" + name + "\x00")
	const ehdr, shentsize = 64, 64
	strOff := uint64(ehdr)
	secOff := (strOff + uint64(len(shstr)) + 7) &^ 7
	shOff := (secOff + uint64(len(section)) + 7) &^ 7

	b := make([]byte, shOff+3*shentsize)
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[0x10:], 2)  // ET_EXEC
	le.PutUint16(b[0x12:], 62) // EM_X86_64
	le.PutUint32(b[0x14:], 1)
	le.PutUint64(b[0x28:], shOff)
	le.PutUint16(b[0x34:], ehdr)
	le.PutUint16(b[0x36:], 56)
	le.PutUint16(b[0x3a:], shentsize)
	le.PutUint16(b[0x3c:], 3)
	le.PutUint16(b[0x3e:], 1)
	copy(b[strOff:], shstr)
	copy(b[secOff:], section)
	sh := func(i int, nameOff, typ uint32, flags, addr, off, size uint64) {
		h := b[shOff+uint64(i)*shentsize:]
		le.PutUint32(h, nameOff)
		le.PutUint32(h[4:], typ)
		le.PutUint64(h[8:], flags)
		le.PutUint64(h[0x10:], addr)
		le.PutUint64(h[0x18:], off)
		le.PutUint64(h[0x20:], size)
		le.PutUint64(h[0x30:], 1)
	}
	sh(1, 1, 3, 0, 0, strOff, uint64(len(shstr)))                  // .shstrtab, SHT_STRTAB
	sh(2, 11, 1, 2, 0x400000+secOff, secOff, uint64(len(section))) // SHT_PROGBITS, SHF_ALLOC
	return b
}

// seeds are the fuzz seeds, by target: valid tables and executables of
// every layout, and the small inputs of the malformed tables.
func seeds() map[string][][]byte {
	valid := [][]byte{
		synthTable(ver120, binary.LittleEndian, 8, "main.main", "example.com/m.(*T[...]).M", "gopkg.in/yaml%2ev3.Unmarshal"),
		synthTable(ver118, binary.BigEndian, 8, "main.main", "runtime.main"),
		synthTable(ver116, binary.LittleEndian, 4, "main.main"),
	}
	tables := append([][]byte{}, valid...)
	for _, tc := range malformed(valid[0]) {
		tables = append(tables, tc.data)
	}
	exes := [][]byte{synthELF(".gopclntab", valid[0]), synthELF(".data.rel.ro", append(make([]byte, 12), valid[1]...))}
	for _, tc := range malformedExecutables(exes[0]) {
		exes = append(exes, tc.data)
	}
	return map[string][][]byte{"pclntab": tables, "exe": exes}
}

// TestSeeds keeps the seeds in testdata as seeds() makes them, and checks
// that the valid ones read.
func TestSeeds(t *testing.T) {
	for kind, list := range seeds() {
		dir := filepath.Join("testdata", "seeds", kind)
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i, data := range list {
			p := filepath.Join(dir, fmt.Sprintf("%02d.bin", i))
			if *update {
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s is not the seed the test makes (%v); run go test -update", p, err)
			}
		}
	}
	for i, tab := range seeds()["pclntab"][:3] {
		got, err := readPclntab(io.NewSectionReader(bytes.NewReader(tab), 0, int64(len(tab))))
		if err != nil || len(got.names) == 0 {
			t.Errorf("valid seed %d: %v", i, err)
		}
	}
	for i, exe := range seeds()["exe"][:2] {
		if _, err := readTable(bytes.NewReader(exe), int64(len(exe))); err != nil {
			t.Errorf("valid executable seed %d: %v", i, err)
		}
	}
}

func addSeeds(f *testing.F, kind string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "seeds", kind, "*.bin"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/seeds/%s: %v", kind, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkTable fails t for a table whose names could not have come from
// data.
func checkTable(t *testing.T, tab *table, data []byte) {
	total := 0
	for _, n := range tab.names {
		if n == "" || strings.IndexByte(n, 0) >= 0 {
			t.Fatalf("bad name %q", n)
		}
		total += len(n) + 1
	}
	if tab.complete && total > len(data) {
		t.Fatalf("%d bytes of names from %d bytes of input", total, len(data))
	}
	newSymbols(tab.names, "example.com/m", tab.complete)
}

func FuzzPclntab(f *testing.F) {
	addSeeds(f, "pclntab")
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := readPclntab(io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))))
		if err == nil {
			checkTable(t, tab, data)
		}
	})
}

func FuzzReadTable(f *testing.F) {
	addSeeds(f, "exe")
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := readTable(bytes.NewReader(data), int64(len(data)))
		if err == nil {
			checkTable(t, tab, data)
		}
	})
}
