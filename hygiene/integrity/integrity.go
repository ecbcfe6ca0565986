// Package integrity finds package files that were changed after the package
// manager installed them: it hashes every file as the layer walk streams it
// and compares the version the image ends with against the digests dpkg
// (md5sums, conffiles) and apk (Q1 SHA-1 checksums) recorded. A changed
// binary is how a backdoor hides in plain sight; a changed configuration file
// is usually deliberate and is reported at low severity.
package integrity

import (
	"archive/tar"
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

// Rule is the SARIF rule id of every issue this check reports.
const Rule = "vigil/modified-file"

// Check compares package files with their recorded digests. One Check serves
// one scan; Begin is called by the walk, which is sequential, so Check is
// not safe for concurrent use.
type Check struct {
	// files holds, per path, the digests of the version the last layer
	// to write it wrote: that is the version the image ends with, when
	// the path still exists.
	files map[string]record
	sink  sink
	// diversions is the last version of dpkg's diversions file.
	diversions []byte
}

type record struct {
	layer int
	md5   [md5.Size]byte
	sha1  [sha1.Size]byte
}

// New returns an integrity check.
func New() *Check {
	c := &Check{files: map[string]record{}, sink: sink{md5: md5.New(), sha1: sha1.New()}}
	c.sink.c = c
	return c
}

// Name implements hygiene.Check.
func (c *Check) Name() string { return "integrity" }

// Begin implements hygiene.Observer: every file is hashed except those in
// documentation trees, which images strip or rewrite freely and which no
// one executes.
func (c *Check) Begin(layer int, name string, hdr *tar.Header) io.WriteCloser {
	if documentation("/" + name) {
		return nil
	}
	s := &c.sink
	s.layer, s.name = layer, name
	if s.keep = name == diversionsFile; s.keep {
		c.diversions = c.diversions[:0]
	}
	s.md5.Reset()
	s.sha1.Reset()
	return s
}

// sink hashes one file. Both digests are computed because the walk does not
// know yet which package manager owns the file; SHA-1 is cheap next to
// decompression.
type sink struct {
	c         *Check
	layer     int
	name      string
	md5, sha1 hash.Hash
	// keep says to keep the contents too (the diversions file).
	keep bool
}

func (s *sink) Write(p []byte) (int, error) {
	if s.keep {
		s.c.diversions = append(s.c.diversions, p[:min(len(p), maxDiversions-len(s.c.diversions))]...)
	}
	s.md5.Write(p)
	s.sha1.Write(p)
	return len(p), nil
}

func (s *sink) Close() error {
	r := record{layer: s.layer}
	s.md5.Sum(r.md5[:0])
	s.sha1.Sum(r.sha1[:0])
	s.c.files[s.name] = r
	return nil
}

// documentation reports whether p (absolute) is in a documentation tree.
func documentation(p string) bool {
	for _, d := range []string{"/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/", "/usr/share/help/"} {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// diversionsFile is where dpkg-divert records diversions.
const diversionsFile = "var/lib/dpkg/diversions"

// maxDiversions bounds the diversions file kept; real ones are a few KiB.
const maxDiversions = 1 << 20

// diversion says where dpkg puts a diverted package file, and which
// package diverted it (":" for a local diversion).
type diversion struct{ to, pkg string }

// parseDiversions reads dpkg's diversions file: three lines per diversion,
// the path, where it is diverted to, and the diverting package. A truncated
// last entry is ignored.
func parseDiversions(b []byte) map[string]diversion {
	lines := strings.Split(string(b), "\n")
	out := map[string]diversion{}
	for i := 0; i+2 < len(lines); i += 3 {
		out[lines[i]] = diversion{to: lines[i+1], pkg: lines[i+2]}
	}
	return out
}

// owner is one package's claim on a file.
type owner struct {
	c        *inventory.Component
	digest   string
	conffile bool
}

// Run implements hygiene.Check. Files that are missing from the final
// filesystem are not reported: images delete files on purpose (docs,
// caches, unneeded tools), and a deletion cannot hide code. Files the walk
// did not hash (hard links, which stream under their target's name) are
// skipped, as are files whose recorded digest is of a kind not computed.
func (c *Check) Run(ctx context.Context, in *hygiene.Input) ([]hygiene.Issue, error) {
	if in.Inventory == nil || in.FS == nil {
		return nil, nil
	}
	div := parseDiversions(c.diversions)
	owners := map[string][]owner{}
	var paths []string
	for i := range in.Inventory.Components {
		comp := &in.Inventory.Components[i]
		conffiles := map[string]bool{}
		for p := range strings.SplitSeq(comp.Metadata["dpkg.conffiles"], "\n") {
			conffiles[p] = true
		}
		for _, f := range comp.Files {
			if f.Digest == "" || documentation(f.Path) {
				continue
			}
			// A diverted file of another package lives where the
			// diversion sends it; what is at its path is the
			// diverter's (or the administrator's, for a local one).
			p := f.Path
			if d, ok := div[p]; ok && d.pkg != comp.Name {
				p = d.to
			}
			if owners[p] == nil {
				paths = append(paths, p)
			}
			owners[p] = append(owners[p], owner{c: comp, digest: f.Digest, conffile: conffiles[f.Path]})
		}
	}
	slices.Sort(paths)
	infos := in.FS.Layers()
	res := resolver{fsys: in.FS, dirs: map[string]string{}}
	var issues []hygiene.Issue
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := res.resolve(strings.TrimPrefix(p, "/"))
		fi, err := in.FS.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		rec, ok := c.files[name]
		if !ok {
			continue
		}
		owned := owners[p]
		match, checked := false, false
		for _, o := range owned {
			m, ok := rec.matches(o.digest)
			match, checked = match || m, checked || ok
		}
		if match || !checked {
			continue
		}
		issues = append(issues, issue(p, name, fi, rec, owned[0], infos))
	}
	return issues, nil
}

// matches compares the record with a recorded digest ("md5:<hex>",
// "sha1:<hex>"); ok is false for kinds not computed.
func (r record) matches(digest string) (match, ok bool) {
	alg, want, _ := strings.Cut(digest, ":")
	switch alg {
	case "md5":
		return strings.EqualFold(hex.EncodeToString(r.md5[:]), want), true
	case "sha1":
		return strings.EqualFold(hex.EncodeToString(r.sha1[:]), want), true
	}
	return false, false
}

func issue(p, name string, fi fs.FileInfo, rec record, o owner, infos []layers.Info) hygiene.Issue {
	comp := o.c
	is := hygiene.Issue{
		Rule:      Rule,
		Path:      p,
		Component: comp.Ref,
		Evidence:  fmt.Sprintf("recorded %s, found md5:%s", o.digest, hex.EncodeToString(rec.md5[:])),
	}
	is.Layer = hygiene.LayerInfo(infos, rec.layer)
	where := fmt.Sprintf("layer %d", rec.layer)
	if comp.Layer != nil && comp.Layer.Index == rec.layer {
		where += ", the layer that installed the package"
	}
	shown := p
	if "/"+name != p {
		shown = fmt.Sprintf("%s (/%s)", p, name)
	}
	switch {
	case o.conffile:
		is.Severity = hygiene.Low
		is.Title = fmt.Sprintf("Configuration file %s of %s changed", p, comp.Name)
		is.Message = fmt.Sprintf("%s, a configuration file of package %s %s, differs from the packaged version; changed in %s. Configuration files are meant to be edited, so this is usually deliberate.", shown, comp.Name, comp.Version, where)
		is.Remediation = "Check that the change is intended; prefer configuration drop-in directories (conf.d) to editing packaged files."
	default:
		is.Severity = hygiene.Medium
		if executable(p, fi) {
			is.Severity = hygiene.High
		}
		is.Title = fmt.Sprintf("File %s of %s modified", p, comp.Name)
		is.Message = fmt.Sprintf("%s, installed by package %s %s, differs from what the package recorded; changed in %s.", shown, comp.Name, comp.Version, where)
		is.Remediation = fmt.Sprintf("Find out why the image replaces a packaged file. Do not patch packaged files in place: install a fixed package version, or reinstall the original (`apt-get install --reinstall %s`).", comp.Name)
	}
	return is
}

// executable reports whether a file is code: in a bin or lib directory or
// with an execute bit.
func executable(p string, fi fs.FileInfo) bool {
	if fi.Mode()&0o111 != 0 {
		return true
	}
	for _, d := range []string{"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libexec/"} {
		if strings.Contains(p, d) {
			return true
		}
	}
	return false
}

// resolver turns a package's path into where it is in the image, following
// symbolic links in its directories: dpkg records /bin/hostname, which in a
// merged-/usr image is usr/bin/hostname.
type resolver struct {
	fsys layers.FS
	dirs map[string]string
}

// maxHops bounds the symbolic links followed for one path, as ELOOP does.
const maxHops = 40

func (r resolver) resolve(name string) string {
	dir, base := path.Split(name)
	if dir == "" {
		return name
	}
	hops := maxHops
	return path.Join(r.dir(path.Clean(dir), &hops), base)
}

// dir returns the real path of directory p.
func (r resolver) dir(p string, hops *int) string {
	if p == "." {
		return p
	}
	if real, ok := r.dirs[p]; ok {
		return real
	}
	parent := r.dir(path.Dir(p), hops)
	cur := path.Join(parent, path.Base(p))
	real := cur
	if fi, err := r.fsys.Lstat(cur); err == nil && fi.Mode()&fs.ModeSymlink != 0 && *hops > 0 {
		*hops--
		if target, err := r.fsys.ReadLink(cur); err == nil {
			if path.IsAbs(target) {
				target = path.Clean(target[1:])
			} else {
				target = path.Join(parent, target)
			}
			// The image root is its own parent, as "/.." is.
			for target == ".." || strings.HasPrefix(target, "../") {
				target = strings.TrimPrefix(strings.TrimPrefix(target, ".."), "/")
			}
			real = r.dir(cmp.Or(target, "."), hops)
		}
	}
	if *hops > 0 {
		r.dirs[p] = real
	}
	return real
}
