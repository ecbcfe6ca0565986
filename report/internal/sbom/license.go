package sbom

import (
	"strings"
	"sync"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/github/go-spdx/v2/spdxexp/spdxlicenses"
)

// License is one license string from package metadata, checked against the
// SPDX License List.
type License struct {
	// Declared is the string as the metadata gave it, trimmed.
	Declared string
	// ID is the canonical SPDX license identifier when Declared is exactly
	// one (identifiers match case-insensitively).
	ID string
	// Expression is Declared rewritten with canonical identifiers when it is
	// a valid SPDX license expression over the SPDX License List alone; empty
	// for free text.
	Expression string
}

// And combines license expressions that all apply, the reading SBOMs give a
// package's list of declared licenses.
func And(exprs []string) string {
	if len(exprs) == 1 {
		return exprs[0]
	}
	var b strings.Builder
	for i, e := range exprs {
		if i > 0 {
			b.WriteString(" AND ")
		}
		if strings.ContainsRune(e, ' ') {
			b.WriteString("(" + e + ")")
		} else {
			b.WriteString(e)
		}
	}
	return b.String()
}

// maxExpression bounds the strings tried as expressions: license fields are
// attacker-controlled, and a real expression is a few dozen bytes.
const maxExpression = 512

// Licenses classifies declared license strings, remembering the answers: an
// image declares the same few licenses thousands of times. The zero value is
// not usable; make one with make(Licenses).
type Licenses map[string]License

// Classify returns declared without empty strings and duplicates, in order,
// each classified.
func (c Licenses) Classify(declared []string) []License {
	out := make([]License, 0, len(declared))
	seen := make(map[string]bool, len(declared))
	for _, s := range declared {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		l, ok := c[s]
		if !ok {
			l = classify(s)
			c[s] = l
		}
		out = append(out, l)
	}
	return out
}

type licenseList struct {
	ids        map[string]string // lower case → canonical, active and deprecated
	exceptions map[string]string
}

var spdxList = sync.OnceValue(func() licenseList {
	l := licenseList{ids: map[string]string{}, exceptions: map[string]string{}}
	for _, ids := range [][]string{spdxlicenses.GetLicenses(), spdxlicenses.GetDeprecated()} {
		for _, id := range ids {
			l.ids[strings.ToLower(id)] = id
		}
	}
	for _, id := range spdxlicenses.GetExceptions() {
		l.exceptions[strings.ToLower(id)] = id
	}
	return l
})

func classify(s string) License {
	l := License{Declared: s}
	list := spdxList()
	if id, ok := list.ids[strings.ToLower(s)]; ok {
		l.ID, l.Expression = id, id
		return l
	}
	if len(s) > maxExpression {
		return l
	}
	// go-spdx checks the grammar, but it also accepts identifiers that are
	// not on the list ("Apache-2.0-only", "MIT-or-later") by normalising
	// them, and LicenseRef-s that a document would have to define. So every
	// identifier is checked again here against the list as published, and
	// the expression is rebuilt with canonical spellings.
	if !validGrammar(s) {
		return l
	}
	tokens := strings.Fields(strings.NewReplacer("(", " ( ", ")", " ) ").Replace(s))
	var b strings.Builder
	prev := ""
	for _, t := range tokens {
		switch {
		case t == "AND" || t == "OR" || t == "WITH" || t == "(" || t == ")":
		case prev == "WITH":
			id, ok := list.exceptions[strings.ToLower(t)]
			if !ok {
				return l
			}
			t = id
		default:
			base, plus := strings.CutSuffix(t, "+")
			id, ok := list.ids[strings.ToLower(base)]
			if !ok {
				return l
			}
			t = id
			if plus {
				t += "+"
			}
		}
		if b.Len() > 0 && prev != "(" && t != ")" {
			b.WriteByte(' ')
		}
		b.WriteString(t)
		prev = t
	}
	l.Expression = b.String()
	return l
}

// validGrammar reports whether go-spdx parses s. The parser panics on some
// malformed input, such as a trailing "(" (github/go-spdx#158, open in
// v2.7.0), and license fields come from the image, so a panic is taken as
// "not an expression".
func validGrammar(s string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	ok, _ = spdxexp.ValidateLicenses([]string{s})
	return ok
}
