// Package gobinary finds the Go modules compiled into Go executables, from the
// build information the Go linker embeds in every ELF, PE and Mach-O binary it
// writes (read with debug/buildinfo): the main module, every dependency module
// at the version that was linked, and the Go toolchain, reported as the
// component "stdlib" because the standard library's vulnerabilities are
// published under that name.
//
// # Which files are read
//
// Wants keeps an ELF file only when its first page carries the Go build ID
// note (section .note.go.buildid: owner "Go\x00\x00", type 4), and a PE or
// Mach-O file only when its head holds the "\xff Go build ID: " string the
// linker writes at the start of the text section. Both sit within the first
// 8 KiB, as the tests check on real binaries: the ELF note right after the
// program headers, at about 3.9 KiB for amd64, arm64 and s390x, with cgo
// (external linking) or without, PIE or not, with or without
// -ldflags="-s -w"; the PE string at 1.5 KiB, the Mach-O one at 4 KiB. The
// "\xff Go buildinf:" magic of the build information itself lives in the
// data segment, megabytes into a real binary, so a head never shows it and
// Wants does not look for it.
//
// A binary linked with an empty build ID (-ldflags=-buildid=, common in
// reproducible builds) has no such note or string. Wants also keeps every
// statically linked ELF executable (type EXEC, no PT_INTERP program header,
// all within the head), which covers such Go binaries when they are static,
// as most Go binaries are; Catalog passes over the static C programs among
// them silently.
//
// Known limitations: a dynamically linked (cgo) or PE/Mach-O binary with an
// empty build ID is not kept, and its modules are not reported; sniffing
// every ELF file instead would make the walk capture every shared library
// and executable of the image. Universal (fat) Mach-O files are not
// recognised either.
//
// # Errors
//
// Catalog never fails a scan for one bad binary. It returns every component
// it could read, together with an errors.Join of one error per file it had
// to skip (unreadable, or build information that does not parse), each
// naming the file; inventory.Catalog turns that error into inventory
// warnings. Files the walk did not capture are not this cataloger's and are
// passed over silently. Only a cancelled context makes Catalog return no
// components.
package gobinary

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/modfile"

	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/inventory/internal/pkgfs"
	"github.com/vigilsec/vigil/layers"
)

// Cataloger finds Go modules in Go binaries. Its zero value is ready to use.
type Cataloger struct{}

// Name implements inventory.Cataloger.
func (Cataloger) Name() string { return "go-binary" }

// Wants implements inventory.Cataloger: it keeps Go executables, recognised
// by their head alone.
func (Cataloger) Wants(_ string, mode fs.FileMode, _ int64, head []byte) bool {
	return mode.IsRegular() && isGoBinary(head)
}

var (
	elfMagic   = []byte("\x7fELF")
	goNoteName = []byte("Go\x00\x00")
	// goBuildID starts the build ID the linker writes at the start of the
	// text section of PE and Mach-O binaries (cmd/internal/buildid).
	goBuildID = []byte("\xff Go build ID: \"")
)

// elfNoteGoBuildID is the type of the Go linker's build ID ELF note
// (cmd/link/internal/ld: ELF_NOTE_GOBUILDID_TAG).
const elfNoteGoBuildID = 4

// isGoBinary reports whether head, the first bytes of a file, shows a Go
// executable. ELF notes are matched by their header fields rather than parsed
// with debug/elf, which needs the section table at the end of the file.
func isGoBinary(head []byte) bool {
	if !bytes.HasPrefix(head, elfMagic) {
		return isPE(head) || isMachO(head)
	}
	if len(head) < 6 {
		return false
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[5] == 2 { // EI_DATA: ELFDATA2MSB
		bo = binary.BigEndian
	}
	// A note is namesz, descsz, type (4 bytes each), then the name.
	for off := 0; ; {
		i := bytes.Index(head[off:], goNoteName)
		if i < 0 {
			return staticELF(head, bo)
		}
		i += off
		if i >= 12 && bo.Uint32(head[i-12:]) == uint32(len(goNoteName)) && bo.Uint32(head[i-4:]) == elfNoteGoBuildID {
			return true
		}
		off = i + 1
	}
}

// ELF header fields staticELF reads (elf.FileHeader's layout).
const (
	elfTypeExec = 2 // ET_EXEC
	elfPTInterp = 3 // PT_INTERP
)

// staticELF reports whether head shows a statically linked ELF executable:
// type EXEC and no program interpreter among its program headers. A Go
// binary linked with an empty build ID (-ldflags=-buildid=, common in
// reproducible builds) has no Go note to sniff, and most Go binaries are
// static; static executables are otherwise rare in images, so keeping them
// for a look at their build information costs little. A dynamically linked
// Go binary without a build ID is missed: telling it from the thousands of
// C programs of a distribution would mean keeping all of them.
func staticELF(head []byte, bo binary.ByteOrder) bool {
	var phoff uint64
	var phentsize, phnum int
	switch {
	case len(head) < 52:
		return false
	case head[4] == 1: // ELFCLASS32
		phoff = uint64(bo.Uint32(head[28:]))
		phentsize, phnum = int(bo.Uint16(head[42:])), int(bo.Uint16(head[44:]))
	case head[4] == 2 && len(head) >= 64: // ELFCLASS64
		phoff = bo.Uint64(head[32:])
		phentsize, phnum = int(bo.Uint16(head[54:])), int(bo.Uint16(head[56:]))
	default:
		return false
	}
	if bo.Uint16(head[16:]) != elfTypeExec || phnum == 0 || phentsize < 4 {
		return false
	}
	// The program headers must lie in head; they follow the ELF header in
	// every linker's output.
	if phoff > uint64(len(head)) || uint64(phnum)*uint64(phentsize) > uint64(len(head))-phoff {
		return false
	}
	for i := range phnum {
		if bo.Uint32(head[int(phoff)+i*phentsize:]) == elfPTInterp {
			return false
		}
	}
	return true
}

func isPE(head []byte) bool {
	return bytes.HasPrefix(head, []byte("MZ")) && bytes.Contains(head, goBuildID)
}

func isMachO(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return bytes.Contains(head, goBuildID)
	}
	return false
}

// Catalog implements inventory.Cataloger.
func (c Cataloger) Catalog(ctx context.Context, fsys layers.FS, _ inventory.Environment) ([]inventory.Component, error) {
	return pkgfs.Catalog(ctx, fsys, func(name string, d fs.DirEntry) ([]inventory.Component, error) {
		if !d.Type().IsRegular() {
			return nil, nil
		}
		bi, err := readBinary(fsys, name)
		switch {
		case errors.Is(err, errNotGo):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("go binary /%s: %w", name, err)
		}
		return Components("/"+name, bi), nil
	})
}

// errNotGo marks a captured file that is not a Go binary: the walk keeps the
// union of what every cataloger wants, so most files Catalog can open were
// captured for someone else.
var errNotGo = errors.New("not a Go binary")

// readBinary returns the build information of the file name in fsys.
func readBinary(fsys layers.FS, name string) (*debug.BuildInfo, error) {
	f, err := pkgfs.Open(fsys, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, min(f.Size, inventory.HeadSize))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if !isGoBinary(head) {
		return nil, errNotGo
	}
	return Read(f)
}

// Read returns the build information of the Go binary r.
//
// debug/elf, debug/pe and debug/macho, which debug/buildinfo uses, document
// that they are not hardened against adversarial input and that malformed
// files may make them panic. Images are attacker-controlled, so a panic there
// is turned into an error about that file instead of ending the scan.
func Read(r io.ReaderAt) (bi *debug.BuildInfo, err error) {
	defer func() {
		if v := recover(); v != nil {
			bi, err = nil, fmt.Errorf("read build info: malformed executable: %v", v)
		}
	}()
	bi, err = buildinfo.Read(r)
	if err != nil {
		// debug/buildinfo's errNotGoExe is unexported; its text is the
		// only way to tell a static C program (kept by staticELF) from a
		// broken Go binary.
		if err.Error() == "not a Go executable" {
			return nil, errNotGo
		}
		return nil, fmt.Errorf("read build info: %w", err)
	}
	return bi, nil
}

// devel is the version Go records for a module built from a working tree
// rather than a downloaded version; it cannot be matched against advisories.
const devel = "(devel)"

// Metadata keys, shared by every component of one binary unless noted.
const (
	// MetaToolchain is the Go version that built the binary, as recorded.
	MetaToolchain = "go.toolchain"
	// MetaBinary is the path of the binary in the image.
	MetaBinary = "go.binary"
	// MetaMain is "true" on the binary's main module.
	MetaMain = "go.main"
	// MetaDevel is "true" when the version is not a release: a main module
	// or local replacement built from a working tree, or a development
	// toolchain. Such versions are kept, but are not comparable.
	MetaDevel = "go.devel"
	// MetaReplaces is the module path and version a replace directive
	// swapped out ("golang.org/x/text@v0.7.0"); the component itself is
	// the replacement that was linked.
	MetaReplaces = "go.replaces"
	// MetaReplaceDir is the local directory a replace directive pointed to;
	// the component then keeps the original module path.
	MetaReplaceDir = "go.replaceDir"
	// MetaSum is the go.sum hash of the module that was linked.
	MetaSum = "go.sum"
	// MetaExperiment is the GOEXPERIMENT a toolchain name carries
	// ("boringcrypto" for go1.21.0 X:boringcrypto), on the stdlib component.
	MetaExperiment = "go.experiment"
	// MetaBuildPrefix prefixes the build settings kept from the binary
	// ("go.build.GOOS"), on the main module and stdlib: the standard
	// library's advisories often depend on GOOS, GOARCH and cgo.
	MetaBuildPrefix = "go.build."
)

// buildKeys are the build settings worth keeping for matching and triage.
var buildKeys = map[string]bool{
	"-buildmode": true, "-compiler": true, "-ldflags": true, "-tags": true,
	"CGO_ENABLED": true, "GOARCH": true, "GOOS": true, "GOEXPERIMENT": true,
	"GOAMD64": true, "GOARM64": true,
	"vcs": true, "vcs.revision": true, "vcs.time": true, "vcs.modified": true,
}

// Components returns the components the binary at location (a path with a
// leading slash) declares in bi: its main module, the dependency modules and
// the standard library.
func Components(location string, bi *debug.BuildInfo) []inventory.Component {
	common := map[string]string{MetaToolchain: bi.GoVersion, MetaBinary: location}
	build := map[string]string{}
	for _, s := range bi.Settings {
		if buildKeys[s.Key] {
			build[MetaBuildPrefix+s.Key] = s.Value
		}
	}

	var comps []inventory.Component
	if bi.Main.Path != "" {
		m := module(location, bi.Main, common)
		m.Metadata[MetaMain] = "true"
		maps.Copy(m.Metadata, build)
		comps = append(comps, m)
	}
	for _, dep := range bi.Deps {
		if dep != nil && dep.Path != "" {
			comps = append(comps, module(location, *dep, common))
		}
	}
	if bi.GoVersion != "" {
		comps = append(comps, stdlib(location, bi.GoVersion, common, build))
	}
	return comps
}

// module returns the component of one module of a binary, following its
// replace directive.
func module(location string, m debug.Module, common map[string]string) inventory.Component {
	md := clone(common)
	linked := m
	if r := m.Replace; r != nil {
		md[MetaReplaces] = m.Path + "@" + m.Version
		if r.Version == "" || modfile.IsDirectoryPath(r.Path) {
			// A directory has no module identity of its own: the
			// code is still imported under the original path, at a
			// version nobody published.
			md[MetaReplaceDir] = r.Path
			linked = debug.Module{Path: m.Path, Version: devel, Sum: r.Sum}
		} else {
			linked = *r
		}
	}
	version := linked.Version
	if version == "" {
		version = devel
	}
	if version == devel {
		md[MetaDevel] = "true"
	}
	if linked.Sum != "" {
		md[MetaSum] = linked.Sum
	}
	ns, name := splitPath(linked.Path)
	return component(location, ns, name, version, md)
}

// splitPath splits a module path the way the purl spec does for golang:
// everything up to the last slash is the namespace.
func splitPath(p string) (namespace, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

func stdlib(location, goVersion string, common, build map[string]string) inventory.Component {
	md := clone(common)
	maps.Copy(md, build)
	version, experiment := ToolchainVersion(goVersion)
	if experiment != "" {
		md[MetaExperiment] = experiment
	}
	if version == "" {
		version = devel
		md[MetaDevel] = "true"
	}
	return component(location, "", "stdlib", version, md)
}

func component(location, ns, name, version string, md map[string]string) inventory.Component {
	purlVersion := version
	if version == devel {
		purlVersion = ""
	}
	return inventory.Component{
		Type:      packageurl.TypeGolang,
		Namespace: ns,
		Name:      name,
		Version:   version,
		PURL:      packageurl.NewPackageURL(packageurl.TypeGolang, ns, name, purlVersion, nil, "").ToString(),
		Locations: []string{location},
		Cataloger: Cataloger{}.Name(),
		Metadata:  md,
	}
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m)+4)
	maps.Copy(c, m)
	return c
}

// goRelease matches a Go release name after its "go" prefix. Hand-written
// because neither go/version nor golang.org/x/mod converts toolchain names to
// the semver form the Go vulnerability database uses for stdlib; the rules
// follow golang.org/x/vuln's internal GoTagToSemver.
var goRelease = regexp.MustCompile(`^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?$`)

// ToolchainVersion converts a Go toolchain name, as buildinfo records it,
// to the semantic version the Go vulnerability database uses for stdlib:
// "go1.22.3" → "1.22.3", "go1.20" → "1.20.0", "go1.22rc1" → "1.22.0-rc.1".
// A GOEXPERIMENT suffix ("go1.21.0 X:boringcrypto", "go1.21.0-X:boringcrypto")
// is returned apart; other vendor suffixes ("go1.22.3-custom") are dropped.
// Development toolchains ("devel go1.23-abc123 ...") have no release
// version: the result is empty.
func ToolchainVersion(name string) (version, experiment string) {
	if _, x, ok := strings.Cut(name, "X:"); ok {
		experiment = strings.TrimSpace(x)
	}
	name, _, _ = strings.Cut(name, " ")
	name, _, _ = strings.Cut(name, "-")
	m := goRelease.FindStringSubmatch(name)
	if m == nil {
		return "", experiment
	}
	patch := m[3]
	if patch == "" {
		patch = "0"
	}
	version = m[1] + "." + m[2] + "." + patch
	if m[4] != "" {
		version += "-" + m[4] + "." + m[5]
	}
	return version, experiment
}
