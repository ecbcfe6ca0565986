package vulndb

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Values are encoded by hand rather than as JSON or gob: matching reads
// thousands of them per image (a package like openssl has hundreds of
// records), JSON decoding of those took most of the match time, and gob
// repeats its type description in every value. The format is a sequence of
// unsigned varints and length-prefixed strings, in the order the encode
// functions below write them; a list is its length then its elements.
//
// Ecosystem and package name are the key of an affected list, not repeated
// per entry.

var errCorrupt = errors.New("corrupt database value")

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) strings(l []string) {
	e.uvarint(uint64(len(l)))
	for _, s := range l {
		e.string(s)
	}
}

// time is stored as a presence flag, then Unix seconds and nanoseconds, so
// that any year survives.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.uvarint(0)
		return
	}
	e.uvarint(1)
	e.b = binary.AppendVarint(e.b, t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) float(f float64) { e.uvarint(math.Float64bits(f)) }

// decoder reads what encoder wrote. Every count is checked against the
// bytes left, each element taking at least one byte, so a corrupt value
// cannot make it allocate more than the value's size. After an error every
// read returns zero values; the caller checks err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return 0
	}
	return int(n)
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = d.string()
	}
	return l
}

func (d *decoder) time() time.Time {
	if d.uvarint() == 0 || d.err != nil {
		return time.Time{}
	}
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return time.Time{}
	}
	d.b = d.b[n:]
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.err = errCorrupt
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) float() float64 { return math.Float64frombits(d.uvarint()) }

// end reports the first error, or corruption if bytes are left over.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return d.err
}

func encodeAffected(list []Affected) []byte {
	var e encoder
	e.uvarint(uint64(len(list)))
	for _, a := range list {
		e.string(a.ID)
		e.uvarint(uint64(len(a.Ranges)))
		for _, r := range a.Ranges {
			e.b = append(e.b, byte(r.Type))
			e.uvarint(uint64(len(r.Events)))
			for _, ev := range r.Events {
				e.b = append(e.b, byte(ev.Kind))
				e.string(ev.Version)
			}
		}
		e.strings(a.Versions)
	}
	return e.b
}

func decodeAffected(ecosystem, name string, b []byte) ([]Affected, error) {
	d := decoder{b: b}
	list := make([]Affected, d.count())
	for i := range list {
		a := &list[i]
		a.Ecosystem, a.Name = ecosystem, name
		a.ID = d.string()
		a.Ranges = make([]Range, d.count())
		for j := range a.Ranges {
			r := &a.Ranges[j]
			r.Type = RangeType(d.byte())
			if r.Type != RangeEcosystem && r.Type != RangeSemVer {
				d.err = errCorrupt
			}
			r.Events = make([]Event, d.count())
			for k := range r.Events {
				r.Events[k] = Event{Kind: EventKind(d.byte()), Version: d.string()}
				if r.Events[k].Kind < Introduced || r.Events[k].Kind > Limit {
					d.err = errCorrupt
				}
			}
		}
		a.Versions = d.strings()
		if d.err != nil {
			break
		}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return list, nil
}

func (e *encoder) severities(l []Severity) {
	e.uvarint(uint64(len(l)))
	for _, s := range l {
		e.string(s.Version)
		e.string(s.Vector)
		e.float(s.Score)
		e.string(s.Source)
	}
}

func (d *decoder) severities() []Severity {
	n := d.count()
	if n == 0 {
		return nil
	}
	l := make([]Severity, n)
	for i := range l {
		l[i] = Severity{Version: d.string(), Vector: d.string(), Score: d.float(), Source: d.string()}
	}
	return l
}

func encodeSeverities(l []Severity) []byte {
	var e encoder
	e.severities(l)
	return e.b
}

func decodeSeverities(b []byte) ([]Severity, error) {
	d := decoder{b: b}
	l := d.severities()
	return l, d.end()
}

func encodeVulnerability(v *Vulnerability) []byte {
	var e encoder
	e.string(v.ID)
	e.strings(v.Aliases)
	e.strings(v.Related)
	e.string(v.Summary)
	e.time(v.Published)
	e.time(v.Modified)
	e.severities(v.Severity)
	e.uvarint(uint64(len(v.References)))
	for _, r := range v.References {
		e.string(r.Type)
		e.string(r.URL)
	}
	e.uvarint(uint64(len(v.Packages)))
	for _, p := range v.Packages {
		e.string(p.Ecosystem)
		e.string(p.Name)
		e.string(p.Urgency)
		e.uvarint(uint64(len(p.Imports)))
		for _, im := range p.Imports {
			e.string(im.Path)
			e.strings(im.Symbols)
			e.strings(im.GOOS)
			e.strings(im.GOARCH)
		}
	}
	return e.b
}

func decodeVulnerability(b []byte) (*Vulnerability, error) {
	d := decoder{b: b}
	v := &Vulnerability{
		ID:        d.string(),
		Aliases:   d.strings(),
		Related:   d.strings(),
		Summary:   d.string(),
		Published: d.time(),
		Modified:  d.time(),
		Severity:  d.severities(),
	}
	if n := d.count(); n > 0 {
		v.References = make([]Reference, n)
		for i := range v.References {
			v.References[i] = Reference{Type: d.string(), URL: d.string()}
		}
	}
	if n := d.count(); n > 0 {
		v.Packages = make([]Package, n)
		for i := range v.Packages {
			p := &v.Packages[i]
			p.Ecosystem, p.Name, p.Urgency = d.string(), d.string(), d.string()
			if n := d.count(); n > 0 {
				p.Imports = make([]Import, n)
				for j := range p.Imports {
					p.Imports[j] = Import{Path: d.string(), Symbols: d.strings(), GOOS: d.strings(), GOARCH: d.strings()}
				}
			}
		}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return v, nil
}

func encodeKEV(k KEV) []byte {
	var e encoder
	e.time(k.DateAdded)
	if k.KnownRansomware {
		e.uvarint(1)
	} else {
		e.uvarint(0)
	}
	return e.b
}

func decodeKEV(b []byte) (*KEV, error) {
	d := decoder{b: b}
	k := &KEV{DateAdded: d.time(), KnownRansomware: d.uvarint() == 1}
	return k, d.end()
}
