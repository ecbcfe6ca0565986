// Package ecosystem holds what Vigil knows about each package ecosystem named
// by the OSV schema: how its package names are spelled and how its versions
// are ordered.
//
// Both sides of matching depend on it: the importer validates and sorts every
// affected range once, with the same rules the matchers later use to compare
// installed versions against those ranges. Ecosystem strings are kept as OSV
// writes them ("Debian:12", "Alpine:v3.19"); the part before the first colon
// selects the rules.
package ecosystem

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	npm "github.com/aquasecurity/go-npm-version/pkg"
	pep440 "github.com/aquasecurity/go-pep440-version"
	apk "github.com/knqyf263/go-apk-version"
	deb "github.com/knqyf263/go-deb-version"
	mvn "github.com/masahiro331/go-mvn-version"
	"golang.org/x/mod/semver"
)

// The ecosystems Vigil can match, as OSV spells their base names.
const (
	Alpine = "Alpine"
	Debian = "Debian"
	Go     = "Go"
	Maven  = "Maven"
	Npm    = "npm"
	PyPI   = "PyPI"
)

// MaxVersionLen bounds the versions any scheme accepts: real versions are
// short, and the comparison libraries' cost grows with length.
const MaxVersionLen = 256

// ErrUnknown is returned for an ecosystem Vigil has no version rules for.
var ErrUnknown = errors.New("unknown ecosystem")

// Version is a version parsed by one Scheme.
type Version interface {
	// Compare returns -1, 0 or +1 as the version sorts before, with or after
	// other, which must come from the same Scheme. Versions of different
	// schemes have no meaningful order: they compare by their text.
	Compare(other Version) int
	// String returns the version as it was written.
	String() string
}

// Scheme is one ecosystem's version syntax and order.
type Scheme interface {
	// Name names the scheme in messages ("Debian", "SemVer").
	Name() string
	// Parse parses s, or says why s is not a version of this scheme.
	Parse(s string) (Version, error)
}

// The schemes. SemVer is also the scheme of every OSV range of type SEMVER,
// whatever its ecosystem.
var (
	DebianScheme Scheme = debScheme{}
	AlpineScheme Scheme = apkScheme{}
	SemVer       Scheme = semverScheme{}
	PyPIScheme   Scheme = pep440Scheme{}
	NpmScheme    Scheme = npmScheme{}
	MavenScheme  Scheme = mavenScheme{}
)

var schemes = map[string]Scheme{
	Alpine: AlpineScheme,
	Debian: DebianScheme,
	Go:     SemVer,
	Maven:  MavenScheme,
	Npm:    NpmScheme,
	PyPI:   PyPIScheme,
}

// Base returns the ecosystem without its release: "Debian:12" → "Debian".
func Base(eco string) string {
	base, _, _ := strings.Cut(eco, ":")
	return base
}

// Release returns the release part of an ecosystem: "Debian:12" → "12",
// "Alpine:v3.19" → "v3.19", "Go" → "".
func Release(eco string) string {
	_, rel, _ := strings.Cut(eco, ":")
	return rel
}

// SchemeOf returns the version scheme of ecosystem eco, or an error wrapping
// ErrUnknown.
func SchemeOf(eco string) (Scheme, error) {
	if s, ok := schemes[Base(eco)]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknown, Base(eco))
}

var pep503Separators = regexp.MustCompile(`[-_.]+`)

// NormalizeName returns the canonical spelling of package name in ecosystem
// eco, under which the database stores it: PEP 503 for PyPI ("Foo_Bar" →
// "foo-bar"), unchanged elsewhere since the other indexes treat names as
// exact strings.
func NormalizeName(eco, name string) string {
	if Base(eco) == PyPI {
		return strings.ToLower(pep503Separators.ReplaceAllString(name, "-"))
	}
	return name
}

func checkLen(scheme, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty %s version", scheme)
	case len(s) > MaxVersionLen:
		return fmt.Errorf("%s version of %d bytes is longer than %d", scheme, len(s), MaxVersionLen)
	}
	return nil
}

// versionOf adapts the comparison libraries, whose types differ, to Version.
type versionOf[T any] struct {
	v   T
	s   string
	cmp func(a, b T) int
}

func (a versionOf[T]) Compare(other Version) int {
	b, ok := other.(versionOf[T])
	if !ok {
		return strings.Compare(a.s, other.String())
	}
	return a.cmp(a.v, b.v)
}

func (a versionOf[T]) String() string { return a.s }

type debScheme struct{}

func (debScheme) Name() string { return Debian }

func (debScheme) Parse(s string) (Version, error) {
	if err := checkLen(Debian, s); err != nil {
		return nil, err
	}
	v, err := deb.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("debian version %q: %w", s, err)
	}
	return versionOf[deb.Version]{v, s, func(a, b deb.Version) int { return a.Compare(b) }}, nil
}

type apkScheme struct{}

func (apkScheme) Name() string { return Alpine }

func (apkScheme) Parse(s string) (Version, error) {
	if err := checkLen(Alpine, s); err != nil {
		return nil, err
	}
	v, err := apk.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("alpine version %q: %w", s, err)
	}
	return versionOf[apk.Version]{v, s, func(a, b apk.Version) int { return a.Compare(b) }}, nil
}

type semverScheme struct{}

func (semverScheme) Name() string { return "SemVer" }

// Parse accepts versions with or without the leading "v": OSV writes Go
// versions without it, go.mod and build info with it.
func (semverScheme) Parse(s string) (Version, error) {
	if err := checkLen("semantic", s); err != nil {
		return nil, err
	}
	v := s
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return nil, fmt.Errorf("%q is not a semantic version", s)
	}
	return versionOf[string]{v, s, semver.Compare}, nil
}

type pep440Scheme struct{}

func (pep440Scheme) Name() string { return PyPI }

func (pep440Scheme) Parse(s string) (Version, error) {
	if err := checkLen("PEP 440", s); err != nil {
		return nil, err
	}
	v, err := pep440.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("PEP 440 version %q: %w", s, err)
	}
	return versionOf[pep440.Version]{v, s, func(a, b pep440.Version) int { return a.Compare(b) }}, nil
}

type npmScheme struct{}

func (npmScheme) Name() string { return Npm }

func (npmScheme) Parse(s string) (Version, error) {
	if err := checkLen(Npm, s); err != nil {
		return nil, err
	}
	v, err := npm.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("npm version %q: %w", s, err)
	}
	return versionOf[npm.Version]{v, s, func(a, b npm.Version) int { return a.Compare(b) }}, nil
}

type mavenScheme struct{}

func (mavenScheme) Name() string { return Maven }

// Parse accepts any version without white space: Maven orders every string
// (unknown qualifiers sort after known ones), so there is no syntax to check.
func (mavenScheme) Parse(s string) (Version, error) {
	if err := checkLen(Maven, s); err != nil {
		return nil, err
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' }) {
		return nil, fmt.Errorf("maven version %q contains white space or control characters", s)
	}
	v, err := mvn.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("maven version %q: %w", s, err)
	}
	return versionOf[mvn.Version]{v, s, func(a, b mvn.Version) int { return a.Compare(b) }}, nil
}
