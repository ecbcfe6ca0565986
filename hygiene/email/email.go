// Package email finds personal e-mail addresses in an image's metadata,
// where they serve spear-phishing: config labels (maintainer,
// org.opencontainers.image.authors), the author field, history created_by,
// comment and author, manifest and layer annotations, and the project
// metadata files the image's own layers add (package.json, pyproject.toml,
// AUTHORS ...).
//
// Role addresses (security@, support@, mailing lists) are what metadata
// should carry and are not reported. Addresses in files that packages
// installed (dpkg maintainers, third-party libraries under node_modules or
// site-packages) are public by design and are not looked at.
package email

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/layers"
)

// Rule is the SARIF rule id of every issue this check reports.
const Rule = "vigil/personal-email"

// Options configure the check.
type Options struct {
	// AllowList is the path of a file of addresses an organisation
	// publishes on purpose: one address or "*@domain" per line, "#"
	// starts a comment. Allowed addresses are never reported.
	AllowList string
}

// Check finds personal e-mail addresses. One Check serves one scan; Begin is
// called by the walk, which is sequential, so Check is not safe for
// concurrent use.
type Check struct {
	allow *AllowList
	sink  sink
	found []fileAddress
}

type fileAddress struct {
	addr  string
	layer int
	name  string
}

// New returns an e-mail check, reading the allow-list when one is named.
func New(opts Options) (*Check, error) {
	c := &Check{allow: &AllowList{}}
	if opts.AllowList != "" {
		f, err := os.Open(opts.AllowList)
		if err != nil {
			return nil, fmt.Errorf("e-mail allow-list: %w", err)
		}
		defer f.Close()
		if c.allow, err = ParseAllowList(f); err != nil {
			return nil, fmt.Errorf("e-mail allow-list %s: %w", opts.AllowList, err)
		}
	}
	c.sink.c = c
	return c, nil
}

// AllowList holds addresses and domains not to report.
type AllowList struct {
	addresses, domains map[string]bool
}

// maxAllowLine bounds one line of an allow-list.
const maxAllowLine = 1024

// ParseAllowList reads an allow-list: one address or "*@domain" per line,
// blank lines and "#" comments ignored.
func ParseAllowList(r io.Reader) (*AllowList, error) {
	a := &AllowList{addresses: map[string]bool{}, domains: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, maxAllowLine)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.ToLower(strings.TrimSpace(line))
		if line == "" {
			continue
		}
		local, domain, ok := strings.Cut(line, "@")
		switch {
		case !ok || domain == "" || strings.ContainsAny(domain, "@ *"):
			return nil, fmt.Errorf("line %d: %q is neither an address nor *@domain", n, line)
		case local == "*":
			a.domains[domain] = true
		case local == "" || strings.ContainsAny(local, " *"):
			return nil, fmt.Errorf("line %d: %q is neither an address nor *@domain", n, line)
		default:
			a.addresses[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// Allows reports whether addr (lower case) is on the list.
func (a *AllowList) Allows(addr string) bool {
	_, domain, _ := strings.Cut(addr, "@")
	return a.addresses[addr] || a.domains[domain]
}

// Name implements hygiene.Check.
func (c *Check) Name() string { return "email" }

// maxMetadataFile bounds the metadata files read; real ones are a few KiB.
const maxMetadataFile = 1 << 20

// metadataFiles are the project metadata files that name authors.
var metadataFiles = map[string]bool{
	"package.json": true, "composer.json": true, "pyproject.toml": true, "setup.py": true, "setup.cfg": true,
	"Cargo.toml": true, "pom.xml": true, "AUTHORS": true, "AUTHORS.md": true, "MAINTAINERS": true, "CODEOWNERS": true,
}

// thirdParty are directories where libraries installed from a registry
// live; their authors' addresses are published with them.
var thirdParty = []string{"node_modules/", "site-packages/", "dist-packages/", "vendor/", ".cargo/registry/", ".m2/repository/", "gems/", "usr/share/", "usr/lib/", "usr/local/lib/"}

// Begin implements hygiene.Observer: it reads the project metadata files
// the image's own layers add.
func (c *Check) Begin(layer int, name string, hdr *tar.Header) io.WriteCloser {
	base := path.Base(name)
	if hdr.Size > maxMetadataFile || !metadataFiles[base] && path.Ext(base) != ".gemspec" && path.Ext(base) != ".nuspec" {
		return nil
	}
	for _, d := range thirdParty {
		if strings.HasPrefix(name, d) || strings.Contains(name, "/"+d) {
			return nil
		}
	}
	c.sink = sink{c: c, layer: layer, name: name, buf: c.sink.buf[:0]}
	return &c.sink
}

type sink struct {
	c     *Check
	layer int
	name  string
	buf   []byte
}

func (s *sink) Write(p []byte) (int, error) {
	if n := min(len(p), maxMetadataFile-len(s.buf)); n > 0 {
		s.buf = append(s.buf, p[:n]...)
	}
	return len(p), nil
}

func (s *sink) Close() error {
	for _, a := range Addresses(string(s.buf)) {
		s.c.found = append(s.c.found, fileAddress{addr: a, layer: s.layer, name: s.name})
	}
	return nil
}

// place is where an address was seen.
type place struct {
	field, path string
	layer       *layers.Info
}

func (p place) String() string {
	if p.path != "" {
		return p.path
	}
	return p.field
}

// Run implements hygiene.Check: one issue per personal or unclassified
// address, at the first place it was seen, naming the others.
func (c *Check) Run(ctx context.Context, in *hygiene.Input) ([]hygiene.Issue, error) {
	var infos []layers.Info
	if in.FS != nil {
		infos = in.FS.Layers()
	}
	layer := func(i int) *layers.Info { return hygiene.LayerInfo(infos, i) }
	places := map[string][]place{}
	var order []string
	see := func(text string, p place) {
		for _, a := range Addresses(text) {
			if places[a] == nil {
				order = append(order, a)
			}
			places[a] = append(places[a], p)
		}
	}
	if src := in.Source; src != nil && src.Config != nil {
		labels := src.Config.Config.Labels
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			see(labels[k], place{field: "config.Labels." + k})
		}
		see(src.Config.Author, place{field: "config.author"})
		n := 0
		for i, h := range src.Config.History {
			var l *layers.Info
			if !h.EmptyLayer {
				l = layer(n)
				n++
			}
			see(h.CreatedBy, place{field: fmt.Sprintf("history[%d].created_by", i), layer: l})
			see(h.Comment, place{field: fmt.Sprintf("history[%d].comment", i), layer: l})
			see(h.Author, place{field: fmt.Sprintf("history[%d].author", i), layer: l})
		}
	}
	if src := in.Source; src != nil && src.Manifest != nil {
		m := src.Manifest
		for _, k := range slices.Sorted(maps.Keys(m.Annotations)) {
			see(m.Annotations[k], place{field: "manifest.annotations." + k})
		}
		for i, d := range m.Layers {
			for _, k := range slices.Sorted(maps.Keys(d.Annotations)) {
				see(d.Annotations[k], place{field: fmt.Sprintf("manifest.layers[%d].annotations.%s", i, k), layer: layer(i)})
			}
		}
	}
	owned := packaged(in, c.found)
	for _, f := range c.found {
		if !owned["/"+f.name] {
			see(f.addr, place{path: "/" + f.name, layer: layer(f.layer)})
		}
	}
	c.found = nil
	var issues []hygiene.Issue
	for _, a := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		kind, why := Classify(a)
		if kind == Role || c.allow.Allows(a) {
			continue
		}
		issues = append(issues, issue(a, kind, why, places[a]))
	}
	return issues, nil
}

// maxPlaces bounds the other places one issue lists.
const maxPlaces = 5

func issue(addr string, kind Kind, why string, ps []place) hygiene.Issue {
	first := ps[0]
	is := hygiene.Issue{
		Rule:     Rule,
		Path:     first.path,
		Field:    first.field,
		Layer:    first.layer,
		Evidence: addr,
		Remediation: "Put a role address (security@, a team list) in image metadata instead of a person's; " +
			"if this address is published on purpose, add it to the e-mail allow-list.",
	}
	if kind == Personal {
		is.Severity = hygiene.Medium
		is.Title = fmt.Sprintf("Personal e-mail address in %s", first)
		is.Message = fmt.Sprintf("Personal e-mail address %s (%s) in %s", addr, why, first)
	} else {
		is.Severity = hygiene.Low
		is.Title = fmt.Sprintf("E-mail address that may be personal in %s", first)
		is.Message = fmt.Sprintf("E-mail address %s in %s is not a known role address and may be a person's", addr, first)
	}
	if first.layer != nil {
		is.Message += fmt.Sprintf(" (layer %d)", first.layer.Index)
	}
	var more []string
	for _, p := range ps[1:] {
		if s := p.String(); !slices.Contains(more, s) && s != first.String() {
			more = append(more, s)
		}
	}
	if len(more) > maxPlaces {
		more = append(more[:maxPlaces], fmt.Sprintf("%d more", len(more)-maxPlaces))
	}
	if len(more) > 0 {
		is.Message += "; also in " + strings.Join(more, ", ")
	}
	return is
}

// packaged returns the paths among found that a distribution package
// installed (its file list names them): their authors published them with
// the package. An application's own package.json is a component's location
// but no package's file, so it is still read.
func packaged(in *hygiene.Input, found []fileAddress) map[string]bool {
	if in.Inventory == nil || len(found) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, f := range found {
		want["/"+f.name] = true
	}
	out := map[string]bool{}
	for _, c := range in.Inventory.Components {
		for _, f := range c.Files {
			if want[f.Path] {
				out[f.Path] = true
			}
		}
	}
	return out
}
