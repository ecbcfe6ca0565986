package match

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/vulndb/ecosystem"
)

// ErrUnsupported marks a component a matcher recognises but cannot check,
// such as a Debian package on a release the data does not cover.
var ErrUnsupported = errors.New("unsupported")

// Matcher knows how the components of one ecosystem are named in the
// vulnerability data. Comparing versions is the same for every ecosystem
// once the data's ecosystem is known (vulndb/ecosystem holds the rules), so a
// Matcher only says what to look up.
type Matcher interface {
	// Name identifies the matcher: "debian", "alpine", "go"...
	Name() string
	// Handles reports whether c is a package of this matcher's ecosystem.
	Handles(c *inventory.Component) bool
	// Query says which package of which ecosystem c is in the data, and
	// which of its versions is installed. distro is the image's, nil when
	// unknown. An error wrapping ErrUnsupported says why c cannot be checked;
	// its text, without the component's name, is counted as the reason.
	Query(c *inventory.Component, distro *inventory.Distro) (Query, error)
}

// Query is what to look up for one component.
type Query struct {
	// Ecosystem is the data's ecosystem string: "Debian:12", "Alpine:v3.19".
	Ecosystem string
	// Package is the name as the data spells it.
	Package string
	// Version is the installed version, in the ecosystem's syntax.
	Version string
}

// Matchers returns one matcher per supported ecosystem.
func Matchers() []Matcher {
	return []Matcher{Debian{}, Alpine{}, Go{}, PyPI{}, Npm{}, Maven{}}
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// sourceOf returns the name and version of the source package c was built
// from, falling back to c's own: distribution data names source packages.
func sourceOf(c *inventory.Component) (name, version string) {
	name, version = c.Name, c.Version
	if c.Source != nil {
		if c.Source.Name != "" {
			name = c.Source.Name
		}
		if c.Source.Version != "" {
			version = c.Source.Version
		}
	}
	return name, version
}

// Debian matches dpkg packages of Debian releases against the Debian
// Security Tracker's data, by source package: "Debian:12" data applies to
// Debian 12 (bookworm) only.
type Debian struct{}

// Name implements Matcher.
func (Debian) Name() string { return "debian" }

// Handles implements Matcher.
func (Debian) Handles(c *inventory.Component) bool { return c.Type == "deb" }

// Query implements Matcher.
func (Debian) Query(c *inventory.Component, d *inventory.Distro) (Query, error) {
	switch {
	case d == nil:
		return Query{}, unsupported("deb package on an unknown distribution")
	case d.ID != "debian":
		return Query{}, unsupported("deb package on %s: no vulnerability data for it", d.ID)
	case d.VersionID == "":
		return Query{}, unsupported("deb package on Debian testing or unstable (no VERSION_ID)")
	}
	major, _, _ := strings.Cut(d.VersionID, ".")
	name, version := sourceOf(c)
	return Query{Ecosystem: ecosystem.Debian + ":" + major, Package: name, Version: version}, nil
}

// Alpine matches apk packages against Alpine's secdb, by origin (source)
// package: "Alpine:v3.19" data applies to Alpine 3.19.x.
type Alpine struct{}

// Name implements Matcher.
func (Alpine) Name() string { return "alpine" }

// Handles implements Matcher.
func (Alpine) Handles(c *inventory.Component) bool { return c.Type == "apk" }

// Query implements Matcher.
func (Alpine) Query(c *inventory.Component, d *inventory.Distro) (Query, error) {
	switch {
	case d == nil:
		return Query{}, unsupported("apk package on an unknown distribution")
	case d.ID != "alpine":
		return Query{}, unsupported("apk package on %s: no vulnerability data for it", d.ID)
	}
	parts := strings.SplitN(d.VersionID, ".", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return Query{}, unsupported("apk package on Alpine without a major.minor VERSION_ID")
	}
	name, version := sourceOf(c)
	return Query{Ecosystem: ecosystem.Alpine + ":v" + parts[0] + "." + parts[1], Package: name, Version: version}, nil
}

// Go matches Go modules, and the standard library as the module "stdlib"
// at the version of the toolchain that built the binary, against the Go
// vulnerability database.
type Go struct{}

// Name implements Matcher.
func (Go) Name() string { return "go" }

// Handles implements Matcher.
func (Go) Handles(c *inventory.Component) bool { return c.Type == "golang" }

// Query implements Matcher.
func (Go) Query(c *inventory.Component, _ *inventory.Distro) (Query, error) {
	path := c.Name
	if c.Namespace != "" && !strings.HasPrefix(path, c.Namespace+"/") {
		path = c.Namespace + "/" + path
	}
	v := c.Version
	if v == "" || v == "(devel)" {
		return Query{}, unsupported("Go module built from a work tree, version (devel)")
	}
	if path == "stdlib" {
		v = goTagToSemver(v)
	}
	return Query{Ecosystem: ecosystem.Go, Package: path, Version: v}, nil
}

// goTagToSemver turns a Go release name ("go1.22.3", "1.21rc2",
// "go1.20beta1", "go1.22.3 X:boringcrypto") into the semantic version the Go
// vulnerability database uses ("1.22.3", "1.21.0-rc.2", "1.20.0-beta.1").
// golang.org/x/vuln does the same in an internal package we cannot import.
func goTagToSemver(tag string) string {
	tag, _, _ = strings.Cut(strings.TrimPrefix(tag, "go"), " ")
	tag = strings.TrimPrefix(tag, "v")
	pre := ""
	for _, p := range []string{"beta", "rc"} {
		if i := strings.Index(tag, p); i > 0 {
			tag, pre = tag[:i], "-"+p+"."+tag[i+len(p):]
			break
		}
	}
	if strings.Count(tag, ".") == 1 {
		tag += ".0"
	}
	return tag + pre
}

// PyPI matches Python distributions against the PyPA advisory data, by
// PEP 503 normalised name.
type PyPI struct{}

// Name implements Matcher.
func (PyPI) Name() string { return "pypi" }

// Handles implements Matcher.
func (PyPI) Handles(c *inventory.Component) bool { return c.Type == "pypi" }

// Query implements Matcher.
func (PyPI) Query(c *inventory.Component, _ *inventory.Distro) (Query, error) {
	return Query{Ecosystem: ecosystem.PyPI, Package: ecosystem.NormalizeName(ecosystem.PyPI, c.Name), Version: c.Version}, nil
}

// Npm matches npm packages, scoped ones as "@scope/name".
type Npm struct{}

// Name implements Matcher.
func (Npm) Name() string { return "npm" }

// Handles implements Matcher.
func (Npm) Handles(c *inventory.Component) bool { return c.Type == "npm" }

// Query implements Matcher.
func (Npm) Query(c *inventory.Component, _ *inventory.Distro) (Query, error) {
	name := c.Name
	if c.Namespace != "" && !strings.HasPrefix(name, "@") {
		name = "@" + strings.TrimPrefix(c.Namespace, "@") + "/" + name
	}
	return Query{Ecosystem: ecosystem.Npm, Package: name, Version: c.Version}, nil
}

// Maven matches Maven artifacts, named "groupId:artifactId" in the data.
type Maven struct{}

// Name implements Matcher.
func (Maven) Name() string { return "maven" }

// Handles implements Matcher.
func (Maven) Handles(c *inventory.Component) bool { return c.Type == "maven" }

// Query implements Matcher.
func (Maven) Query(c *inventory.Component, _ *inventory.Distro) (Query, error) {
	name := c.Name
	if !strings.Contains(name, ":") {
		if c.Namespace == "" {
			return Query{}, unsupported("Maven artifact without a groupId")
		}
		name = c.Namespace + ":" + name
	}
	return Query{Ecosystem: ecosystem.Maven, Package: name, Version: c.Version}, nil
}
