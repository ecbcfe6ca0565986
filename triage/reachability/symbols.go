package reachability

import (
	"net/url"
	"strings"
)

// symbols is what one binary links, in the vocabulary of the Go
// vulnerability database: per import path, the functions and methods
// named as OSV names them ("Parse", "Decoder.Decode").
type symbols struct {
	pkgs map[string]map[string]struct{}
	// complete is false when the table could not show the functions
	// inlined into others (pre-Go 1.16 binaries read with debug/gosym):
	// then a symbol found is linked, but one not found may still be.
	complete bool
	// names is how many function names the table held.
	names        int
	goos, goarch string
}

// newSymbols indexes the function names of a binary whose main package
// has the import path mainPath (symbols of package "main" are also filed
// under it, as govulncheck does, so advisories about a command's own
// package match).
func newSymbols(names []string, mainPath string, complete bool) *symbols {
	s := &symbols{pkgs: map[string]map[string]struct{}{}, complete: complete, names: len(names)}
	for _, n := range names {
		pkg, sym, ok := splitName(n)
		if !ok {
			continue
		}
		s.add(pkg, sym)
		if pkg == "main" && mainPath != "" {
			s.add(mainPath, sym)
		}
	}
	return s
}

func (s *symbols) add(pkg, sym string) {
	m := s.pkgs[pkg]
	if m == nil {
		m = map[string]struct{}{}
		s.pkgs[pkg] = m
	}
	m[sym] = struct{}{}
}

// linked reports whether the function sym of package pkg, named as OSV
// names it, is in the binary.
func (s *symbols) linked(pkg, sym string) bool {
	_, ok := s.pkgs[pkg][sym]
	return ok
}

// pkgLinked reports whether any function of package pkg is in the binary.
func (s *symbols) pkgLinked(pkg string) bool {
	return len(s.pkgs[pkg]) > 0
}

// splitName turns a linker symbol name into the import path of its
// package and the symbol as the Go vulnerability database writes it. It
// follows golang.org/x/vuln's reading of binaries (internal/buildinfo
// parseName, internal/gosym Sym.PackageName, ReceiverName, BaseName):
//
//	net/http.Get                    → net/http, Get
//	net/http.(*Client).Do           → net/http, Client.Do
//	gopkg.in/yaml%2ev3.Unmarshal    → gopkg.in/yaml.v3, Unmarshal
//	example.com/m.(*List[...]).Push → example.com/m, List.Push
//	example.com/m.Map[...]          → example.com/m, Map
//
// Unlike x/vuln (v1.9.0), instantiation brackets are removed from
// function names too, not only from receivers: the database names a
// generic function "Map", which x/vuln's "Map[...]" never equals, so a
// linked generic function would be missed. Closures keep their suffix
// ("F.func1"): they are not F, and a binary holding them holds F too,
// unless F was inlined, in which case F is in the inline tree.
func splitName(name string) (pkg, sym string, ok bool) {
	name = stripInstances(name)
	// The package path ends at the first dot after its last slash: the
	// linker escapes dots in the last element (cmd/internal/objabi
	// PathToPrefix), and dots in instantiation brackets are gone.
	slash := strings.LastIndexByte(name, '/') + 1
	dot := strings.IndexByte(name[slash:], '.')
	if dot < 0 {
		return "", "", false
	}
	pkg, sym = name[:slash+dot], name[slash+dot+1:]
	if strings.IndexByte(pkg, '%') >= 0 {
		if p, err := url.PathUnescape(pkg); err == nil {
			pkg = p
		}
	}
	if rest, ok := strings.CutPrefix(sym, "(*"); ok {
		if recv, method, ok := strings.Cut(rest, ")"); ok {
			sym = recv + method
		}
	}
	if pkg == "" || sym == "" {
		return "", "", false
	}
	return pkg, sym, true
}

// stripInstances removes every outermost bracketed type-argument list
// ("[...]", "[go.shape.int]") from a symbol name. An unclosed bracket
// ends the name.
func stripInstances(name string) string {
	if strings.IndexByte(name, '[') < 0 {
		return name
	}
	var b strings.Builder
	b.Grow(len(name))
	depth := 0
	for j := 0; j < len(name); j++ {
		switch c := name[j]; {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
