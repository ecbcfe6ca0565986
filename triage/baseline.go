package triage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigilsec/vigil/match"
)

// maxBaseline bounds the earlier report --baseline reads: far above any
// real report, low enough that a wrong file cannot exhaust memory.
const maxBaseline = 512 << 20

// Baseline is the set of findings an earlier report had, so that a scan
// can show only what is new.
type Baseline struct {
	keys map[string]bool
}

// LoadBaseline reads the findings of an earlier report in Vigil's own JSON
// format ("vigil scan -o json").
func LoadBaseline(path string) (*Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	b, err := ReadBaseline(f)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	return b, nil
}

// ReadBaseline reads a Vigil JSON report from r.
func ReadBaseline(r io.Reader) (*Baseline, error) {
	var doc struct {
		Tool *struct {
			Name string `json:"name"`
		} `json:"tool"`
		Findings []match.Finding `json:"findings"`
	}
	lr := &io.LimitedReader{R: r, N: maxBaseline + 1}
	if err := json.NewDecoder(lr).Decode(&doc); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("larger than %d MiB", maxBaseline>>20)
		}
		return nil, fmt.Errorf("not a Vigil JSON report: %w", err)
	}
	if doc.Tool == nil || doc.Tool.Name == "" {
		return nil, errors.New(`not a Vigil JSON report (no "tool"); write one with "vigil scan -o json"`)
	}
	b := &Baseline{keys: map[string]bool{}}
	for i := range doc.Findings {
		for _, k := range keys(&doc.Findings[i]) {
			b.keys[k] = true
		}
	}
	return b, nil
}

// Filter returns the findings the baseline does not have, and how many it
// left out. A finding is the same when one of its ids (ID or alias) is
// reported for the same package, whatever its version: upgrading a package
// that is still vulnerable does not make the finding new.
func (b *Baseline) Filter(findings []match.Finding) (fresh []match.Finding, known int) {
	for i := range findings {
		seen := false
		for _, k := range keys(&findings[i]) {
			if b.keys[k] {
				seen = true
				break
			}
		}
		if seen {
			known++
			continue
		}
		fresh = append(fresh, findings[i])
	}
	return fresh, known
}

// keys are the identities of a finding across scans: each of its ids with
// the package it is in (the source package for distributions), without
// version.
func keys(f *match.Finding) []string {
	pkg := f.RootCause
	if i := strings.LastIndexByte(pkg, '@'); i > 0 {
		pkg = pkg[:i]
	}
	if pkg == "" {
		pkg = f.Component.Type + "/" + f.Component.Name
	}
	ks := make([]string, 0, 1+len(f.Aliases))
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		ks = append(ks, strings.ToUpper(id)+"\x00"+pkg)
	}
	return ks
}
