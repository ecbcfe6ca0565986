// Package vexin applies the VEX documents a user supplies (vigil scan --vex)
// to findings: OpenVEX documents and CycloneDX BOMs whose vulnerabilities
// carry an analysis. A statement is the user's word on a vulnerability in a
// product, so its verdict is final (By "vex:<file>") and triage.Run lets no
// provider after it change the finding.
//
// A statement applies to a finding when it names the finding's
// vulnerability (its id or any alias, in any case) and a product that is
// the finding's component, or the scanned image, or the image together with
// the component as a subcomponent. Of the statements that apply, the latest
// wins, as OpenVEX orders them: by timestamp, then by the order in which
// they were read. The output of Vigil's openvex and cyclonedx-json writers
// reads back into the verdicts it was written from, as far as their formats
// carry them: OpenVEX names a component by its purl, which components of
// two binaries can share, and CycloneDX has no code for
// component_not_present unless PropJustification gives it.
package vexin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	govex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
)

// MaxSize is the largest VEX document Load reads. Real ones are a few
// megabytes at most; the bound keeps a wrong path (an image tarball) or a
// hostile file from exhausting memory.
const MaxSize = 64 << 20

// Provider is the triage provider for user-supplied VEX statements.
type Provider struct {
	// byVuln indexes statements by every vulnerability id they name, in
	// lower case, so that a finding is compared only with statements about it.
	byVuln map[string][]*statement
	n      int
}

// statement is one VEX statement, from either format, reduced to what
// matching and the verdict need.
type statement struct {
	file string
	// pointer locates the statement in its file (a JSON Pointer).
	pointer  string
	ids      []string // every id of the vulnerability, lower case
	products []product
	verdict  vex.Verdict
	// time is when the statement was last made; zero when the document
	// does not say. seq is its position among everything Load read.
	time time.Time
	seq  int
}

// Load reads the VEX documents at paths, each OpenVEX JSON or a CycloneDX
// JSON BOM with vulnerability analyses, sniffed from its content. Statements
// of later files win over earlier ones made at the same time.
func Load(paths ...string) (*Provider, error) {
	p := &Provider{byVuln: map[string][]*statement{}}
	for _, path := range paths {
		data, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("vex %s: %w", path, err)
		}
		sts, err := parse(path, data)
		if err != nil {
			return nil, fmt.Errorf("vex %s: %w", path, err)
		}
		p.add(sts)
	}
	return p, nil
}

// readFile reads path, refusing anything larger than MaxSize before
// reading it when the size is known, and while reading otherwise (a pipe).
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, errors.New("is a directory, not a VEX document")
	}
	if fi.Mode().IsRegular() && fi.Size() > MaxSize {
		return nil, fmt.Errorf("%d bytes is larger than the %d MiB a VEX document may be", fi.Size(), MaxSize>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("larger than the %d MiB a VEX document may be", MaxSize>>20)
	}
	return data, nil
}

// parse sniffs the format of a document and reads its statements.
func parse(file string, data []byte) ([]*statement, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '<' {
		return nil, errors.New("not a VEX document Vigil reads: XML (CycloneDX is read as JSON)")
	}
	var probe struct {
		Context   json.RawMessage `json:"@context"`
		BOMFormat json.RawMessage `json:"bomFormat"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			return nil, fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
		}
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) {
			return nil, fmt.Errorf("not a VEX document: a JSON %s, not an object", te.Value)
		}
		return nil, fmt.Errorf("not a VEX document: %w", err)
	}
	var ctxURL, format string
	// Either may be of another type in an unrelated document.
	_ = json.Unmarshal(probe.Context, &ctxURL)
	_ = json.Unmarshal(probe.BOMFormat, &format)
	switch {
	case strings.HasPrefix(ctxURL, govex.Context):
		return parseOpenVEX(file, ctxURL, data)
	case format == cdx.BOMFormat:
		return parseCycloneDX(file, data)
	}
	return nil, errors.New("not a VEX document: neither OpenVEX (an @context of " + govex.Context + ") nor a CycloneDX BOM (bomFormat CycloneDX)")
}

func (p *Provider) add(sts []*statement) {
	for _, st := range sts {
		st.seq = p.n
		p.n++
		seen := map[string]bool{}
		for _, id := range st.ids {
			if !seen[id] {
				seen[id] = true
				p.byVuln[id] = append(p.byVuln[id], st)
			}
		}
	}
}

// Name implements triage.Provider.
func (*Provider) Name() string { return "vex" }

// Judge implements triage.Provider: every finding some statement applies to
// gets the verdict of the latest such statement.
func (p *Provider) Judge(ctx context.Context, in *triage.Input, findings []match.Finding) ([]triage.Judgement, error) {
	if p == nil || len(p.byVuln) == 0 {
		return nil, nil
	}
	m := newMatcher(in)
	var js []triage.Judgement
	for i := range findings {
		if i%1024 == 0 && ctx.Err() != nil {
			return js, ctx.Err()
		}
		f := &findings[i]
		if triage.Final(f.Verdict) {
			continue
		}
		var best *statement
		for _, id := range findingIDs(f) {
			for _, st := range p.byVuln[id] {
				if later(st, best) && m.applies(st, f) {
					best = st
				}
			}
		}
		if best != nil {
			js = append(js, triage.Judgement{Finding: i, Verdict: best.result()})
		}
	}
	return js, nil
}

// findingIDs are the ids a statement may name f by, lower case.
func findingIDs(f *match.Finding) []string {
	ids := make([]string, 0, 1+len(f.Aliases))
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		if id != "" {
			ids = append(ids, strings.ToLower(id))
		}
	}
	return ids
}

// later reports whether a was made after b (nil b: always).
func later(a, b *statement) bool {
	if b == nil {
		return true
	}
	if c := a.time.Compare(b.time); c != 0 {
		return c > 0
	}
	return a.seq > b.seq
}

// result is the verdict st gives, with a copy of its evidence so that
// findings do not share it.
func (st *statement) result() vex.Verdict {
	v := st.verdict
	v.Evidence = append([]vex.Evidence(nil), v.Evidence...)
	v.By = "vex:" + st.file
	return v
}

// evidence is the one fact behind a statement's verdict: where it is and
// what it says. parts are "name: value" pairs, empty values left out.
func evidence(file, pointer, vuln string, status string, parts ...string) vex.Evidence {
	var b strings.Builder
	b.WriteString(vuln + ": " + status)
	for i := 0; i+1 < len(parts); i += 2 {
		if parts[i+1] != "" {
			fmt.Fprintf(&b, "; %s %q", parts[i], parts[i+1])
		}
	}
	return vex.Evidence{Kind: "vex", Location: file + "#" + pointer, Detail: b.String()}
}

// firstTime is the first of ts that is set.
func firstTime(ts ...*time.Time) time.Time {
	for _, t := range ts {
		if t != nil && !t.IsZero() {
			return *t
		}
	}
	return time.Time{}
}

// lowerIDs lower-cases ids and drops empty ones.
func lowerIDs(ids ...string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, strings.ToLower(id))
		}
	}
	return out
}
