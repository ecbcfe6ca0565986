package testimage

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// DebianMirror is the Debian archive debootstrap and apt use, overridable
// with $VIGIL_DEBIAN_MIRROR.
func DebianMirror() string {
	if m := os.Getenv("VIGIL_DEBIAN_MIRROR"); m != "" {
		return m
	}
	return "http://deb.debian.org/debian"
}

// Debootstrap returns a root filesystem built by
// `debootstrap --variant=VARIANT [--include=...] SUITE DIR MIRROR`, with apt's
// caches and lists removed as a Dockerfile would. The first build takes a few
// minutes and needs root, debootstrap and the Debian mirror; later calls
// return the cached directory, which callers must not modify.
func Debootstrap(t testing.TB, suite, variant string, include ...string) string {
	t.Helper()
	Require(t, "root", "debootstrap", "unshare")
	include = slices.Sorted(slices.Values(include))
	mirror := DebianMirror()
	inputs := []string{"v2", suite, variant, strings.Join(include, ","), mirror}
	dir := cached(t, "debootstrap", inputs, func(tmp string) error {
		rootfs := filepath.Join(tmp, "rootfs")
		args := []string{
			// A private mount namespace: the /proc, /sys and /dev
			// mounts debootstrap makes inside the target vanish with
			// it even when it is killed, so an interrupted build
			// never leaves host mounts under the cache.
			"--mount", "--propagation", "private",
			"debootstrap", "--variant=" + variant,
		}
		if len(include) > 0 {
			args = append(args, "--include="+strings.Join(include, ","))
		}
		args = append(args, suite, rootfs, mirror)
		t.Logf("debootstrap %s (%s) into the test cache; this takes a few minutes once", suite, variant)
		cmd := exec.CommandContext(t.Context(), "unshare", args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%v: %w\n%s", cmd.Args, err, tail(out.Bytes(), 4096))
		}
		return dockerClean(rootfs)
	})
	return filepath.Join(dir, "rootfs")
}

// dockerClean does what a Dockerfile's
// `rm -rf /var/lib/apt/lists/* /var/cache/apt/*` does: drop package lists
// and downloaded .debs, which no image ships.
func dockerClean(rootfs string) error {
	for _, pattern := range []string{"var/lib/apt/lists/*", "var/cache/apt/*"} {
		matches, err := filepath.Glob(filepath.Join(rootfs, pattern))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// tail keeps the end of a command's output for error messages.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// DebianImage is the standard fixture: a linux/amd64 image whose single
// layer is a Debian bookworm minbase root filesystem (see Debootstrap). The
// layer tar is cached gzipped next to the root filesystem, so after the first
// run building the image costs a decompression to compute its DiffID.
func DebianImage(t testing.TB) v1.Image {
	t.Helper()
	rootfs := Debootstrap(t, "bookworm", "minbase")
	dir := cached(t, "debian-layer", []string{"v1", rootfs}, func(tmp string) error {
		f, err := os.Create(filepath.Join(tmp, "layer.tar.gz"))
		if err != nil {
			return err
		}
		defer f.Close()
		zw := gzip.NewWriter(f)
		if err := WriteDirTar(zw, rootfs); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		return f.Close()
	})
	layer, err := tarball.LayerFromFile(filepath.Join(dir, "layer.tar.gz"))
	if err != nil {
		t.Fatalf("DebianImage: %v", err)
	}
	return Build(t, nil, []v1.Layer{layer},
		[]string{"debootstrap --variant=minbase bookworm / " + DebianMirror()}, nil)
}
