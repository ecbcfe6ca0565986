package reachability

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file reads the function names a Go binary links from its pclntab,
// the table the runtime uses for tracebacks, which even a binary stripped
// with -ldflags="-s -w" keeps.
//
// It is hand-written because no importable library gives what triage
// needs: debug/gosym lists the functions of the function table, but a
// function inlined at every call site has no entry there; its name is
// only in the inline trees of the functions it was inlined into, which
// debug/gosym does not read, and golang.org/x/vuln's reader of them is
// internal. Since Go 1.16 the linker writes every name the table refers
// to, those of inlined functions included, once into funcnametab
// (cmd/link/internal/ld/pcln.go: walkFuncs, generateFuncnametab), so the
// set of names in funcnametab is exactly the set of functions present in
// the binary, as code of their own or inlined. Only the pcHeader
// (runtime/symtab.go) is needed to find it.

// Bounds on what a hostile binary can make the reader allocate. The
// largest real binaries (kubelet, a few hundred MB) have a funcnametab of
// a few MB.
const (
	maxNameTab = 64 << 20
	// maxOldTable bounds a whole pre-Go 1.16 pclntab, which debug/gosym
	// needs in memory.
	maxOldTable = 32 << 20
	// searchChunk is how much of a section a magic-number search reads at
	// a time.
	searchChunk = 1 << 20
)

// errMalformed marks a binary whose tables do not hold together.
var errMalformed = errors.New("malformed Go symbol table")

// errNoTable marks an executable with no Go pclntab to be found.
var errNoTable = errors.New("no Go pclntab")

type pclnVersion int

// The pclntab layouts, named by the first Go release to write them
// (internal/abi: Go12PCLnTabMagic ... Go120PCLnTabMagic).
const (
	ver12 pclnVersion = iota + 1
	ver116
	ver118
	ver120
)

var magics = map[uint32]pclnVersion{
	0xfffffffb: ver12,
	0xfffffffa: ver116,
	0xfffffff0: ver118,
	0xfffffff1: ver120,
}

func (v pclnVersion) String() string {
	switch v {
	case ver12:
		return "go1.2"
	case ver116:
		return "go1.16"
	case ver118:
		return "go1.18"
	case ver120:
		return "go1.20"
	}
	return "unknown"
}

// maxHeader is the size of the largest pcHeader: 8 bytes, then 8 words.
const maxHeader = 8 + 8*8

// header is what the reader needs from a pcHeader.
type header struct {
	version pclnVersion
	order   binary.ByteOrder
	ptrSize int
	// nameOff and nameEnd delimit funcnametab, from the table's start.
	nameOff, nameEnd uint64
}

// parseHeader checks the pcHeader at the start of b for a table of size
// bytes. Since Go 1.16 the header is:
//
//	magic uint32; pad1, pad2, minLC, ptrSize uint8
//	nfunc, nfiles, [textStart (Go 1.18+)],
//	funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset uintptr
//
// and the tables follow in that order, so funcnametab ends where cutab
// starts. Every offset is checked against size and against the others, so
// that a header found by searching memory is not taken by accident.
func parseHeader(b []byte, size int64) (header, error) {
	if len(b) < 8 || size < 8 {
		return header{}, fmt.Errorf("%w: table of %d bytes", errMalformed, size)
	}
	var h header
	var ok bool
	h.order = binary.LittleEndian
	if h.version, ok = magics[binary.LittleEndian.Uint32(b)]; !ok {
		h.order = binary.BigEndian
		if h.version, ok = magics[binary.BigEndian.Uint32(b)]; !ok {
			return header{}, fmt.Errorf("%w: unknown magic %#x", errMalformed, binary.LittleEndian.Uint32(b))
		}
	}
	minLC, ptrSize := b[6], b[7]
	if b[4] != 0 || b[5] != 0 || (minLC != 1 && minLC != 2 && minLC != 4) || (ptrSize != 4 && ptrSize != 8) {
		return header{}, fmt.Errorf("%w: bad header %x", errMalformed, b[:8])
	}
	h.ptrSize = int(ptrSize)
	words := 7
	switch h.version {
	case ver12:
		words = 1 // nfunc, then the function table
	case ver118, ver120:
		words = 8 // textStart, unused since Go 1.26 but still there
	}
	hdrSize := 8 + words*h.ptrSize
	if len(b) < hdrSize || size < int64(hdrSize) {
		return header{}, fmt.Errorf("%w: header truncated", errMalformed)
	}
	word := func(i int) uint64 {
		p := b[8+i*h.ptrSize:]
		if h.ptrSize == 4 {
			return uint64(h.order.Uint32(p))
		}
		return h.order.Uint64(p)
	}
	nfunc := word(0)
	if h.version == ver12 {
		// debug/gosym allocates about 150 bytes per function before it
		// looks at them; each takes at least a function table entry and
		// a 40-byte _func in the table, which bounds that to a few times
		// the table's size.
		if nfunc == 0 || nfunc > uint64(size)/(2*uint64(h.ptrSize)+40) {
			return header{}, fmt.Errorf("%w: %d functions in a table of %d bytes", errMalformed, nfunc, size)
		}
		return h, nil
	}
	offs := []uint64{word(words - 5), word(words - 4), word(words - 3), word(words - 2), word(words - 1)}
	funcname, cu, pcln := offs[0], offs[1], offs[4]
	if funcname < uint64(hdrSize) || funcname >= cu {
		return header{}, fmt.Errorf("%w: funcnametab at %d..%d", errMalformed, funcname, cu)
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] || offs[i] > uint64(size) {
			return header{}, fmt.Errorf("%w: table offsets %v out of order or beyond %d bytes", errMalformed, offs, size)
		}
	}
	// The function table holds nfunc+1 (pc, offset) pairs: uint32s since
	// Go 1.18, words before.
	entry := uint64(8)
	if h.version == ver116 {
		entry = 2 * uint64(h.ptrSize)
	}
	if nfunc == 0 || nfunc >= (uint64(size)-pcln)/entry {
		return header{}, fmt.Errorf("%w: %d functions in a table of %d bytes", errMalformed, nfunc, size)
	}
	if cu-funcname > maxNameTab {
		return header{}, fmt.Errorf("%w: funcnametab of %d bytes is over the %d limit", errMalformed, cu-funcname, maxNameTab)
	}
	h.nameOff, h.nameEnd = funcname, cu
	return h, nil
}

// table is what a pclntab says about a binary's functions.
type table struct {
	version pclnVersion
	names   []string
	// complete: see symbols.complete.
	complete bool
}

// readPclntab reads the function names of the pclntab r.
func readPclntab(r *io.SectionReader) (*table, error) {
	b := make([]byte, min(r.Size(), maxHeader))
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("read pclntab header: %w", err)
	}
	h, err := parseHeader(b, r.Size())
	if err != nil {
		return nil, err
	}
	if h.version == ver12 {
		return readOldPclntab(r)
	}
	names := make([]byte, h.nameEnd-h.nameOff)
	if _, err := r.ReadAt(names, int64(h.nameOff)); err != nil {
		return nil, fmt.Errorf("read funcnametab: %w", err)
	}
	if names[len(names)-1] != 0 {
		return nil, fmt.Errorf("%w: funcnametab is not NUL-terminated", errMalformed)
	}
	t := &table{version: h.version, complete: true}
	for n := range bytes.SplitSeq(names[:len(names)-1], []byte{0}) {
		if len(n) > 0 {
			t.names = append(t.names, string(n))
		}
	}
	return t, nil
}

// readOldPclntab reads a Go 1.2–1.15 table with debug/gosym. Those
// tables have no funcnametab: the names of inlined functions sit among
// other data, reachable only through the inline trees, so the names are
// those of the function table alone and the result is not complete.
func readOldPclntab(r *io.SectionReader) (*table, error) {
	if r.Size() > maxOldTable {
		return nil, fmt.Errorf("%w: pclntab of %d bytes is over the %d limit", errMalformed, r.Size(), maxOldTable)
	}
	data := make([]byte, r.Size())
	if _, err := r.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("read pclntab: %w", err)
	}
	tab, err := safely(func() (*gosym.Table, error) { return gosym.NewTable(nil, gosym.NewLineTable(data, 0)) })
	if err != nil {
		return nil, fmt.Errorf("read go1.2 pclntab: %w", err)
	}
	t := &table{version: ver12}
	for _, f := range tab.Funcs {
		if f.Sym != nil && f.Name != "" {
			t.names = append(t.names, f.Name)
		}
	}
	return t, nil
}

// readTable finds the pclntab of the executable r of size bytes and
// reads it.
func readTable(r io.ReaderAt, size int64) (*table, error) {
	sr, err := safely(func() (*io.SectionReader, error) { return locate(r, size) })
	if err != nil {
		return nil, err
	}
	return readPclntab(sr)
}

// safely runs f, which calls into debug/elf, debug/pe, debug/macho or
// debug/gosym: they are not hardened against hostile input and may panic,
// which here means a malformed binary.
func safely[T any](f func() (T, error)) (t T, err error) {
	defer func() {
		if v := recover(); v != nil {
			var zero T
			t, err = zero, fmt.Errorf("%w: %v", errMalformed, v)
		}
	}()
	return f()
}

// locate returns the pclntab of an ELF, PE or Mach-O executable: the
// section the Go linker names for it, the runtime.pclntab symbols of PE
// (which has no such section), or else a search for a valid header in the
// section it goes into when the linker gave it no section of its own
// (PIE builds of older releases: .data.rel.ro; stripped PE: .rdata). The
// search is golang.org/x/vuln's (internal/buildinfo PCLNTab), at every
// 4-byte boundary instead of every 16th byte.
func locate(r io.ReaderAt, size int64) (*io.SectionReader, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoTable, err)
	}
	switch {
	case bytes.Equal(magic[:], []byte(elf.ELFMAG)):
		f, err := elf.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
			if s := f.Section(name); s != nil && s.Type != elf.SHT_NOBITS {
				return section(r, size, s.Offset, s.Size)
			}
		}
		if s := f.Section(".data.rel.ro"); s != nil && s.Type != elf.SHT_NOBITS {
			return search(r, size, s.Offset, s.Size, s.Addr)
		}
	case magic[0] == 'M' && magic[1] == 'Z':
		f, err := pe.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		if sr := peSymbols(f, r, size); sr != nil {
			return sr, nil
		}
		if s := f.Section(".rdata"); s != nil {
			return search(r, size, uint64(s.Offset), uint64(s.Size), uint64(s.VirtualAddress))
		}
	case isMachO(magic):
		if err := machoCommands(r, size, magic); err != nil {
			return nil, err
		}
		f, err := macho.NewFile(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		if s := f.Section("__gopclntab"); s != nil {
			return section(r, size, uint64(s.Offset), s.Size)
		}
	}
	return nil, errNoTable
}

func isMachO(magic [4]byte) bool {
	switch binary.LittleEndian.Uint32(magic[:]) {
	case macho.Magic32, macho.Magic64, 0xcefaedfe, 0xcffaedfe:
		return true
	}
	return false
}

// machoCommands checks that the load commands a Mach-O header announces
// fit in the file: debug/macho allocates their size before reading them.
func machoCommands(r io.ReaderAt, size int64, magic [4]byte) error {
	var h [28]byte // the 32-bit header; the 64-bit one adds a reserved word
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return fmt.Errorf("%w: Mach-O header: %v", errMalformed, err)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if magic[0] == 0xfe {
		order = binary.BigEndian
	}
	if cmds := order.Uint32(h[20:]); int64(cmds) > size-int64(len(h)) {
		return fmt.Errorf("%w: %d bytes of Mach-O load commands in a file of %d", errMalformed, cmds, size)
	}
	return nil
}

// section returns the bytes off..off+n of the file, which must lie within
// its size.
func section(r io.ReaderAt, size int64, off, n uint64) (*io.SectionReader, error) {
	if off > uint64(size) || n > uint64(size)-off {
		return nil, fmt.Errorf("%w: section at %d+%d beyond the file's %d bytes", errMalformed, off, n, size)
	}
	return io.NewSectionReader(r, int64(off), int64(n)), nil
}

// peSymbols returns the pclntab between the runtime.pclntab and
// runtime.epclntab symbols of a PE file, or nil.
func peSymbols(f *pe.File, r io.ReaderAt, size int64) *io.SectionReader {
	var start, end *pe.Symbol
	for _, s := range f.Symbols {
		switch s.Name {
		case "runtime.pclntab":
			start = s
		case "runtime.epclntab":
			end = s
		}
	}
	if start == nil || end == nil || start.SectionNumber != end.SectionNumber || start.Value >= end.Value ||
		start.SectionNumber < 1 || int(start.SectionNumber) > len(f.Sections) {
		return nil
	}
	s := f.Sections[start.SectionNumber-1]
	if end.Value > s.Size {
		return nil
	}
	sr, err := section(r, size, uint64(s.Offset)+uint64(start.Value), uint64(end.Value-start.Value))
	if err != nil {
		return nil
	}
	return sr
}

// search looks in the section at file offset off, n bytes long, loaded at
// addr, for a valid pcHeader, and returns the table from there to the
// section's end.
func search(r io.ReaderAt, size int64, off, n, addr uint64) (*io.SectionReader, error) {
	sec, err := section(r, size, off, n)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, min(sec.Size(), searchChunk+maxHeader))
	for base := int64(0); base < sec.Size(); base += searchChunk {
		k, err := sec.ReadAt(buf, base)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		// The header is pointer-aligned in memory.
		first := (4 - (addr+uint64(base))%4) % 4
		for i := int(first); i < min(k, searchChunk) && i+8 <= k; i += 4 {
			b := buf[i:k]
			if b[4] != 0 || b[5] != 0 {
				continue
			}
			if _, ok := magics[binary.LittleEndian.Uint32(b)]; !ok {
				if _, ok := magics[binary.BigEndian.Uint32(b)]; !ok {
					continue
				}
			}
			start := base + int64(i)
			cand := io.NewSectionReader(sec, start, sec.Size()-start)
			if _, err := parseHeader(b[:min(len(b), maxHeader)], cand.Size()); err == nil {
				return cand, nil
			}
		}
	}
	return nil, errNoTable
}
