package backport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	debversion "github.com/knqyf263/go-deb-version"
)

// The changelog parser is written here rather than taken from
// pault.ag/go/debian/changelog, the field library, because that one is
// unfit for hostile input: it reads lines of any length, builds each
// entry's text by repeated string concatenation (quadratic in an entry's
// line count, so a small gzip file could keep a scan busy for hours), and
// gives up on the whole file at the first entry it cannot parse (an
// ancient date format, an emacs "Local variables:" footer), which real
// changelogs have. This one streams, bounds every line, keeps only the
// bullet items that name a CVE someone asked about, and skips what it
// cannot read instead of failing.
const (
	// maxDecompressed bounds what is read of one changelog. The largest
	// real ones (glibc, linux) decompress to a few MiB; a gzip bomb stops
	// here, and since entries run newest first, what was read still holds
	// the recent ones.
	maxDecompressed = 32 << 20
	// maxLine bounds one line; the rest of a longer line is dropped.
	maxLine = 64 << 10
	// maxItem bounds the text kept of one bullet item for the evidence;
	// the whole item is still searched for CVE ids and reverts.
	maxItem = 4 << 10
	// maxMentions bounds the CVE mentions kept of one changelog, so that
	// looking them up stays cheap. Only mentions of CVEs some finding is
	// about count; even the linux changelog, which names thousands of
	// CVEs, stays far below.
	maxMentions = 100_000
)

// changelog is what a Debian changelog says about CVEs: its entries with
// the bullet items that name one, and an index from CVE id to them.
type changelog struct {
	entries []entry
	byCVE   map[string][]mention
	// openAtEnd is set when the last entry ended with the input rather
	// than with its trailer: cut short, if the input was.
	openAtEnd bool
	// full is set when parsing stopped at maxMentions.
	full bool
}

// entry is one version's entry.
type entry struct {
	// header is the entry's first line up to the ";" of its options:
	// "expat (2.5.0-1+deb12u1) bookworm-security".
	header  string
	version debversion.Version
	items   []item
}

// item is one bullet of an entry that names a CVE, with its continuation
// lines.
type item struct {
	// text is the bullet with its lines joined by single spaces: "* CVE-…".
	text string
	cves []string
	// revert is set when the item, or a bullet it is nested in, speaks of
	// a revert: the CVEs it names are then not fixed by this entry.
	revert bool
}

// mention locates an item naming a CVE.
type mention struct{ entry, item int }

// Errors for changelogs read only in part.
var (
	errTooLarge    = fmt.Errorf("decompressed size exceeds %d MiB, the limit for a changelog; only the entries before it were read", maxDecompressed>>20)
	errTooManyCVEs = fmt.Errorf("names CVEs more than %d times, the limit for a changelog; only the entries before it were read", maxMentions)
)

// readChangelog reads the gzip-compressed changelog name from fsys. wanted
// says which CVE ids to keep (nil keeps all). A changelog longer than
// maxDecompressed, or naming them more than maxMentions times, comes back
// with the entries read before the limit, less the one it cut, together
// with an error wrapping errTooLarge or errTooManyCVEs.
func readChangelog(fsys fs.FS, name string, wanted func(string) bool) (*changelog, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("stat %s: %w", name, err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file", name)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer zr.Close()
	limited := &io.LimitedReader{R: zr, N: maxDecompressed}
	cl, err := parse(limited, wanted)
	switch {
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", name, err)
	case cl.full:
		return cl, fmt.Errorf("read %s: %w", name, errTooManyCVEs)
	case limited.N > 0:
		return cl, nil
	}
	var one [1]byte
	if n, err := io.ReadFull(zr, one[:]); n == 0 {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		return cl, nil // exactly at the limit
	}
	if cl.openAtEnd {
		cl.entries = cl.entries[:len(cl.entries)-1]
		cl.index()
	}
	return cl, fmt.Errorf("read %s: %w", name, errTooLarge)
}

// parse reads a decompressed Debian changelog (deb-changelog(5)): entries
// headed "package (version) distributions; options" at the start of a
// line, their change details indented below, each ended by a " -- " trailer.
// Column-0 lines that are not a valid header (emacs footers, "Old
// Changelog:", damage) end the entry before them, and what follows them is
// ignored up to the next header. An entry whose version does not parse is
// skipped the same way. After maxMentions CVE mentions parsing stops,
// dropping the entry it was in, and sets full. Only reading errors are
// returned.
func parse(r io.Reader, wanted func(string) bool) (*changelog, error) {
	p := parser{wanted: wanted, cl: &changelog{}}
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil {
			p.line(line)
		}
		if p.mentions > maxMentions {
			p.cl.full = true
			p.cl.index()
			return p.cl, nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	n := len(p.cl.entries)
	p.endEntry()
	p.cl.openAtEnd = len(p.cl.entries) > n
	p.cl.index()
	return p.cl, nil
}

// readLine returns the next line without its end of line, cut to maxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// Keep the start; drop the rest of the line. The buffer is
		// reused by the next read, so copy first.
		line = bytes.Clone(line)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), err
}

// index rebuilds byCVE from entries.
func (cl *changelog) index() {
	cl.byCVE = map[string][]mention{}
	for ei, e := range cl.entries {
		for ii, it := range e.items {
			for _, id := range it.cves {
				cl.byCVE[id] = append(cl.byCVE[id], mention{ei, ii})
			}
		}
	}
}

// parser holds the state of parse between lines.
type parser struct {
	wanted func(string) bool
	cl     *changelog
	// in is set while inside an entry whose header was valid.
	in  bool
	cur entry
	// open are the bullet items not yet ended, outermost first: a line
	// indented deeper than the last one's bullet nests in it.
	open []*openItem
	// mentions counts the CVE ids kept so far.
	mentions int
}

// openItem is a bullet still collecting lines.
type openItem struct {
	indent int
	text   strings.Builder
	cves   []string
	seen   map[string]bool // cves as a set: an item may repeat ids at will
	revert bool
}

func (p *parser) line(b []byte) {
	if len(b) > 0 && b[0] != ' ' && b[0] != '\t' {
		p.endEntry()
		p.header(b)
		return
	}
	if !p.in {
		return
	}
	indent, rest := indentation(b)
	switch {
	case len(rest) == 0:
		// A blank line ends the bullets: text after it starts anew.
		p.closeItems(0)
	case bytes.HasPrefix(b, []byte(" -- ")):
		p.endEntry()
	case isSignature(rest):
		// "[ Name ]": the changes below are someone else's.
		p.closeItems(0)
	case isBullet(rest):
		p.closeItems(indent)
		p.openItem(indent, rest)
	case len(p.open) == 0:
		// Text outside any bullet is a unit of its own.
		p.openItem(indent, rest)
	default:
		p.addText(p.open[len(p.open)-1], rest)
	}
}

// header starts an entry if b is a valid entry header.
func (p *parser) header(b []byte) {
	h, ok := parseHeader(string(b))
	if !ok {
		return
	}
	p.in, p.cur = true, h
}

// parseHeader parses "package (version) distribution...; options". The
// package name and version must be valid, at least one distribution must
// follow, and the options must be there, as dpkg-parsechangelog requires.
func parseHeader(s string) (entry, bool) {
	name, rest, ok := strings.Cut(s, " (")
	if !ok || !validName(name) {
		return entry{}, false
	}
	vs, rest, ok := strings.Cut(rest, ")")
	if !ok || strings.ContainsAny(vs, " \t(") {
		return entry{}, false
	}
	dists, _, ok := strings.Cut(rest, ";")
	if !ok || len(strings.Fields(dists)) == 0 || (dists[0] != ' ' && dists[0] != '\t') {
		return entry{}, false
	}
	v, err := debversion.NewVersion(vs)
	if err != nil {
		return entry{}, false
	}
	header := name + " (" + vs + ") " + strings.Join(strings.Fields(dists), " ")
	return entry{header: header, version: v}, true
}

// validName reports whether s is a Debian package name as changelog
// headers write it.
func validName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'z'
}

// indentation returns the width of b's leading blanks (a tab moves to the
// next multiple of 8) and b without them or trailing blanks.
func indentation(b []byte) (int, []byte) {
	n, i := 0, 0
	for ; i < len(b) && (b[i] == ' ' || b[i] == '\t'); i++ {
		if b[i] == '\t' {
			n += 8 - n%8
		} else {
			n++
		}
	}
	return n, bytes.TrimRight(b[i:], " \t")
}

// isSignature reports whether a trimmed line is a "[ Name ]" line, which
// heads the changes of one of several people in an entry. Its spaces tell
// it from a bracketed reference on a continuation line
// ("[GNUTLS-SA-2025-02-07, CVSS: medium] [CVE-2024-12243]").
func isSignature(rest []byte) bool {
	return bytes.HasPrefix(rest, []byte("[ ")) && bytes.HasSuffix(rest, []byte(" ]")) &&
		bytes.Count(rest, []byte{'['}) == 1 && bytes.Count(rest, []byte{']'}) == 1
}

// isBullet reports whether a trimmed line starts a bullet item: "* ",
// "- " or "+ ", the markers Debian changelogs use at each nesting level.
func isBullet(rest []byte) bool {
	switch rest[0] {
	case '*', '-', '+':
		return len(rest) == 1 || rest[1] == ' ' || rest[1] == '\t'
	}
	return false
}

// openItem starts a bullet at indent with its first line.
func (p *parser) openItem(indent int, text []byte) {
	it := &openItem{indent: indent}
	p.addText(it, text)
	p.open = append(p.open, it)
}

func (p *parser) addText(it *openItem, text []byte) {
	if indexFold(text, "revert") >= 0 {
		it.revert = true
	}
	for id := range cveIDs(text) {
		if it.seen[id] || p.wanted != nil && !p.wanted(id) {
			continue
		}
		if it.seen == nil {
			it.seen = map[string]bool{}
		}
		it.seen[id] = true
		it.cves = append(it.cves, id)
		p.mentions++
	}
	if it.text.Len() >= maxItem {
		return
	}
	if it.text.Len() > 0 {
		it.text.WriteByte(' ')
	}
	it.text.Write(text)
}

// closeItems ends the open items indented at or deeper than indent.
func (p *parser) closeItems(indent int) {
	for len(p.open) > 0 && p.open[len(p.open)-1].indent >= indent {
		last := len(p.open) - 1
		it := p.open[last]
		p.open = p.open[:last]
		if len(it.cves) == 0 {
			continue
		}
		// A revert said by an enclosing bullet ("Revert the fixes:"
		// over a list of CVEs) applies to every item in it.
		revert := it.revert
		for _, outer := range p.open {
			revert = revert || outer.revert
		}
		p.cur.items = append(p.cur.items, item{text: it.text.String(), cves: it.cves, revert: revert})
	}
}

// endEntry ends the entry being read, keeping it when it names a CVE.
func (p *parser) endEntry() {
	p.closeItems(0)
	if p.in && len(p.cur.items) > 0 {
		p.cl.entries = append(p.cl.entries, p.cur)
	}
	p.in, p.cur = false, entry{}
}

// cveIDs yields the CVE ids in text, upper-cased: "CVE-", a four-digit
// year, "-" and at least four digits, not preceded by a letter or digit.
// Case is ignored, since patch names are often lower case
// ("cve-2024-1234.patch").
func cveIDs(text []byte) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := 0; ; {
			j := indexFold(text[i:], "cve-")
			if j < 0 {
				return
			}
			start := i + j
			i = start + 4
			if start > 0 && isAlnum(text[start-1]) {
				continue
			}
			year := digits(text[i:])
			if year != 4 || i+year >= len(text) || text[i+year] != '-' {
				continue
			}
			seq := digits(text[i+year+1:])
			if seq < 4 || seq > 19 {
				continue
			}
			end := i + year + 1 + seq
			if !yield("CVE-" + string(text[i:end])) {
				return
			}
			i = end
		}
	}
}

// indexFold is bytes.Index for a lower-case ASCII sep, ignoring ASCII
// case without the copy bytes.ToLower would make of every line.
func indexFold(b []byte, sep string) int {
	for i := 0; i+len(sep) <= len(b); i++ {
		j := 0
		for j < len(sep) && b[i+j]|0x20 == sep[j]|0x20 {
			j++
		}
		if j == len(sep) {
			return i
		}
	}
	return -1
}

func digits(b []byte) int {
	n := 0
	for n < len(b) && '0' <= b[n] && b[n] <= '9' {
		n++
	}
	return n
}

// maxQuote bounds, in runes, the part of an item quoted as evidence.
const maxQuote = 300

// quote returns the part of an item's text to quote as evidence of id: all
// of it when short, else maxQuote runes around id's first mention, so that
// the quote always shows the id.
func quote(text, id string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	r := []rune(text)
	if len(r) <= maxQuote {
		return text
	}
	at := 0
	if i := indexFold([]byte(text), strings.ToLower(id)); i >= 0 {
		at = utf8.RuneCountInString(text[:i])
	}
	start := min(max(0, at-maxQuote/3), len(r)-maxQuote)
	end := start + maxQuote
	out := string(r[start:end])
	if start > 0 {
		out = "…" + out
	}
	if end < len(r) {
		out += "…"
	}
	return out
}

// state is what a changelog says of one CVE at an installed version.
type state int

const (
	// unnamed: no entry at or below the installed version names it.
	unnamed state = iota
	// named: the newest such entry names it as fixed.
	named
	// reverted: the newest such entry reverts its fix.
	reverted
)

// fix is where a changelog names a CVE.
type fix struct {
	id    string
	entry *entry
	item  *item
}

// lookup finds the newest entry at or below installed that names id:
// entries above it are not installed, however the file orders them. Of
// entries with equal versions the first in the file counts.
func (cl *changelog) lookup(id string, installed debversion.Version) (fix, state) {
	best := -1
	for _, m := range cl.byCVE[id] {
		e := &cl.entries[m.entry]
		if e.version.GreaterThan(installed) || m.entry == best {
			continue
		}
		if best < 0 || e.version.GreaterThan(cl.entries[best].version) {
			best = m.entry
		}
	}
	if best < 0 {
		return fix{}, unnamed
	}
	e := &cl.entries[best]
	var found *item
	for i := range e.items {
		it := &e.items[i]
		if !slices.Contains(it.cves, id) {
			continue
		}
		if it.revert {
			return fix{}, reverted
		}
		if found == nil {
			found = it
		}
	}
	return fix{id: id, entry: e, item: found}, named
}
