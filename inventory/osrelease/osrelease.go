// Package osrelease identifies the operating system release an image is built
// on, from os-release(5) and, for images that lack it, the older
// distribution-specific release files.
//
// The result feeds every OS package cataloger: vulnerability data is published
// per release ("Debian:12", "Alpine:v3.19"), and package URLs carry the
// release as their distro qualifier.
package osrelease

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/inventory"
)

// osRelease are the os-release(5) files, in the order the specification
// gives. etc/os-release is usually a symbolic link to usr/lib/os-release; the
// image filesystem resolves it.
var osRelease = []string{"etc/os-release", "usr/lib/os-release"}

// Paths are the files Detect reads, in the order it tries them. The layer walk
// must capture them (see Wants).
var Paths = append(slices.Clone(osRelease), "etc/debian_version", "etc/alpine-release")

// Wants reports whether the layer walk must keep name for Detect.
func Wants(name string) bool { return slices.Contains(Paths, name) }

// maxSize bounds how much of a release file Detect reads. Real ones are well
// under 1 KiB; anything near this limit is not a release file.
const maxSize = 64 << 10

// Detect returns the release fsys is built on, or nil (and no error) when no
// release file is present. os-release wins over the fallbacks; a malformed
// os-release is an error, not a reason to guess from another file.
func Detect(fsys fs.FS) (*inventory.Distro, error) {
	for _, name := range osRelease {
		b, err := readSmall(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		fields, err := Parse(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		return fromFields(fields), nil
	}

	b, err := readSmall(fsys, "etc/debian_version")
	switch {
	case err == nil:
		return fromDebianVersion(firstLine(b)), nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}

	b, err = readSmall(fsys, "etc/alpine-release")
	switch {
	case err == nil:
		v := firstLine(b)
		return &inventory.Distro{ID: "alpine", VersionID: v, PrettyName: strings.TrimSpace("Alpine Linux " + v)}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return nil, nil
}

// PURLQualifier is the value of the distro qualifier package URLs carry for d:
// "<ID>-<VERSION_ID>" ("debian-12", "alpine-3.19.1"), the form Syft and
// Trivy write, or just the ID when the release has no version (Debian sid,
// Arch). It is empty for a nil d.
func PURLQualifier(d *inventory.Distro) string {
	switch {
	case d == nil || d.ID == "":
		return ""
	case d.VersionID == "":
		return d.ID
	}
	return d.ID + "-" + d.VersionID
}

func fromFields(f map[string]string) *inventory.Distro {
	d := &inventory.Distro{
		ID:         strings.ToLower(f["ID"]),
		VersionID:  f["VERSION_ID"],
		Codename:   f["VERSION_CODENAME"],
		PrettyName: f["PRETTY_NAME"],
	}
	if like := strings.Fields(strings.ToLower(f["ID_LIKE"])); len(like) > 0 {
		d.IDLike = like
	}
	if d.ID == "" {
		d.ID = "linux" // the default os-release(5) specifies
	}
	if d.PrettyName == "" {
		d.PrettyName = f["NAME"]
	}
	return d
}

// fromDebianVersion reads etc/debian_version, which holds a point release
// ("12.5") on stable releases and "<codename>/sid" on testing and unstable.
// VersionID keeps only the major number so that the result matches what
// os-release says for the same release ("12").
func fromDebianVersion(v string) *inventory.Distro {
	d := &inventory.Distro{ID: "debian", PrettyName: strings.TrimSpace("Debian GNU/Linux " + v)}
	major, _, _ := strings.Cut(v, ".")
	if major != "" && strings.Trim(major, "0123456789") == "" {
		d.VersionID = major
	} else if codename, ok := strings.CutSuffix(v, "/sid"); ok {
		d.Codename = codename
	}
	return d
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	return string(bytes.TrimSpace(line))
}

// readSmall reads a release file, refusing one larger than maxSize.
func readSmall(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes, not a release file", name, maxSize)
	}
	return b, nil
}
