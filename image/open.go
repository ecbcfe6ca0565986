package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Options tune Open.
type Options struct {
	// Insecure allows plain HTTP to any registry and skips TLS certificate
	// verification. Without it go-containerregistry still falls back to
	// plain HTTP for loopback and private-network registries, as Docker does.
	Insecure bool
	// Platform chooses the image of a multi-platform index, as
	// "os/arch[/variant]"; linux/amd64 when empty.
	Platform string
	// Keychain finds registry credentials; authn.DefaultKeychain (the Docker
	// config) when nil.
	Keychain authn.Keychain
	// TempDir is where a private directory is made to unpack an
	// oci-archive; os.TempDir() when empty.
	TempDir string
}

// Schemes Open understands, as written before the first colon.
const (
	SchemeRegistry      = "registry"
	SchemeDockerArchive = "docker-archive"
	SchemeOCIArchive    = "oci-archive"
	SchemeOCIDir        = "oci-dir"
	SchemeDir           = "dir"
)

var schemes = []string{SchemeRegistry, SchemeDockerArchive, SchemeOCIArchive, SchemeOCIDir, SchemeDir}

// otherTools are sources other scanners accept that Vigil does not; naming
// them gets a clear error instead of a confusing registry lookup of an image
// called "docker".
var otherTools = map[string]string{
	"docker":             "a Docker daemon",
	"docker-daemon":      "a Docker daemon",
	"podman":             "a Podman daemon",
	"containerd":         "containerd",
	"containers-storage": "containers-storage",
	"oci":                "an OCI layout (Vigil calls it oci-dir:)",
	"file":               "a single file",
	"singularity":        "a Singularity image",
}

// Open acquires the image ref names. ref is "SCHEME:ARG" with SCHEME one of
// registry, docker-archive, oci-archive, oci-dir or dir; or an existing path
// (a docker-archive or oci-archive tar, an OCI layout directory, or any
// other directory as a root filesystem); or else an image reference pulled
// from its registry. docker-archive, oci-archive and oci-dir accept
// PATH:NAME to pick one image among several: a repository tag for
// docker-archive, an org.opencontainers.image.ref.name for the others.
//
// Open reads the manifest and config and checks their digests; layer blobs
// are read only when their Blob.Open is called. Close the Source when done.
func Open(ctx context.Context, ref string, opts Options) (*Source, error) {
	plat, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	scheme, arg, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	var tar *tarIndex
	if scheme == "" {
		if scheme, tar, err = detect(arg); err != nil {
			return nil, err
		}
	}
	var src *Source
	switch scheme {
	case SchemeRegistry:
		src, err = openRegistry(ctx, arg, plat, opts)
	case SchemeDockerArchive:
		src, err = openDockerArchive(arg, tar)
	case SchemeOCIArchive:
		src, err = openOCIArchive(arg, plat, opts.TempDir)
	case SchemeOCIDir:
		src, err = openOCIDir(arg, plat)
	case SchemeDir:
		src, err = openDir(arg)
	}
	if err != nil {
		return nil, err
	}
	src.Info.Ref, src.Info.Scheme = ref, scheme
	return src, nil
}

// parseRef splits ref into scheme and argument; the scheme is empty when
// ref names none and must be detected.
func parseRef(ref string) (scheme, arg string, err error) {
	if ref == "" {
		return "", "", errors.New("no image named")
	}
	prefix, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return "", ref, nil
	}
	for _, s := range schemes {
		if prefix == s {
			if rest == "" {
				return "", "", fmt.Errorf("%s: nothing after the scheme", ref)
			}
			return s, rest, nil
		}
	}
	valid := strings.Join(schemes, ":, ") + ":"
	if what, ok := otherTools[prefix]; ok {
		return "", "", fmt.Errorf("%s: scanning %s is not supported; valid schemes are %s (write registry:%s for an image of that name)", ref, what, valid, ref)
	}
	// "alpine:3.19" and "localhost:5000/app" are image references, but
	// "oci-dri:/tmp/x" is a misspelt scheme: tell them apart by whether the
	// whole is a valid reference (or an existing file).
	if isSchemeLike(prefix) {
		if _, err := os.Lstat(ref); err != nil {
			if err := validRef(ref); err != nil {
				return "", "", fmt.Errorf("%s: unknown scheme %q; valid schemes are %s", ref, prefix, valid)
			}
		}
	}
	return "", ref, nil
}

// validRef checks s against the reference grammar Docker uses;
// go-containerregistry's parser is lenient enough to take "./x.tar" or
// "oci-dri:/x" as references to odd registries.
func validRef(s string) error {
	_, err := reference.ParseNormalizedNamed(s)
	return err
}

func isSchemeLike(s string) bool {
	for i, c := range s {
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '+' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// detect decides what an argument without a scheme is: an existing
// directory is an OCI layout when it has an oci-layout file and a root
// filesystem otherwise; an existing file is a docker-archive when it holds
// manifest.json and an oci-archive when it holds oci-layout or index.json;
// anything else is a registry reference.
func detect(arg string) (string, *tarIndex, error) {
	fi, err := os.Stat(arg)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := validRef(arg); err != nil {
			return "", nil, fmt.Errorf("%s is neither an existing path nor an image reference: %w", arg, err)
		}
		return SchemeRegistry, nil, nil
	case err != nil:
		return "", nil, err
	case fi.IsDir():
		if _, err := os.Stat(filepath.Join(arg, "oci-layout")); err == nil {
			return SchemeOCIDir, nil, nil
		}
		return SchemeDir, nil, nil
	case !fi.Mode().IsRegular():
		return "", nil, fmt.Errorf("%s is not a regular file or directory", arg)
	}
	idx, err := scanTar(arg)
	if err != nil {
		return "", nil, err
	}
	switch {
	case idx.has("manifest.json"):
		return SchemeDockerArchive, idx, nil
	case idx.has("oci-layout") || idx.has("index.json"):
		return SchemeOCIArchive, nil, nil
	}
	return "", nil, fmt.Errorf("%s is a tar but neither a docker-archive (no manifest.json) nor an oci-archive (no oci-layout or index.json)", arg)
}

// splitName splits "PATH:NAME" when PATH exists and the whole does not;
// paths may contain colons and names always do (repo:tag).
func splitName(arg string) (path, name string) {
	if _, err := os.Stat(arg); err == nil {
		return arg, ""
	}
	for i := range len(arg) {
		if arg[i] == ':' {
			if _, err := os.Stat(arg[:i]); err == nil {
				return arg[:i], arg[i+1:]
			}
		}
	}
	return arg, ""
}

func parsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		return v1.Platform{OS: "linux", Architecture: "amd64"}, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant], such as linux/arm64", s)
	}
	return *p, nil
}

func openDir(arg string) (*Source, error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("dir:%s: %w", arg, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("dir:%s: not a directory", arg)
	}
	return &Source{Info: Info{Name: abs}, Dir: abs}, nil
}
