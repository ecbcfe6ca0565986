// Command mkimage builds the real images Vigil's demo and benchmarks run on,
// as docker-archive tars, from root filesystem directories:
//
//	mkimage -o img.tar -tag demo/debian:12 rootfs            one layer per directory
//	mkimage -o img.tar rootfs -diff rootfs rootfs-py app     a base layer, then only what
//	                                                         rootfs-py changed (as "apt-get
//	                                                         install" would), then app/
//	mkimage -o big.tar rootfs -synthetic 1024:20000          plus 1 GiB of incompressible
//	                                                         files in 20,000 files
//
// It exists so the demo and benchmarks need no Docker engine; layers are
// written with go-containerregistry exactly as a registry would serve them.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vigilsec/vigil/internal/testimage"
)

func main() {
	out := flag.String("o", "", "output docker-archive tar (required)")
	tag := flag.String("tag", "vigil-bench/image:1", "image tag inside the archive")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: mkimage -o OUT.tar [-tag T] (DIR | -diff LOWER UPPER | -synthetic MB:FILES)...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := build(*out, *tag, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func build(out, tag string, args []string) error {
	var adds []mutate.Addendum
	for i := 0; i < len(args); i++ {
		var (
			open    func(w io.Writer) error
			created string
		)
		switch args[i] {
		case "-diff":
			if i+2 >= len(args) {
				return errors.New("-diff needs LOWER and UPPER")
			}
			lower, upper := args[i+1], args[i+2]
			i += 2
			open = func(w io.Writer) error { return writeDiff(w, lower, upper) }
			created = "RUN apt-get install (diff of " + filepath.Base(upper) + ")"
		case "-synthetic":
			if i+1 >= len(args) {
				return errors.New("-synthetic needs MB:FILES")
			}
			spec := args[i+1]
			i++
			mb, files, err := parseSynthetic(spec)
			if err != nil {
				return err
			}
			open = func(w io.Writer) error { return writeSynthetic(w, mb, files) }
			created = "COPY data/ /data/ (synthetic " + spec + ")"
		default:
			dir := args[i]
			open = func(w io.Writer) error { return testimage.WriteDirTar(w, dir) }
			created = "COPY " + filepath.Base(dir) + " /"
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(open(pw)) }()
			return pr, nil
		})
		if err != nil {
			return err
		}
		adds = append(adds, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: created, Created: v1.Time{Time: time.Unix(0, 0)}}})
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// writeDiff writes what upper changed relative to lower as a layer: new and
// changed entries, and whiteouts for what upper removed.
func writeDiff(w io.Writer, lower, upper string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		if d.IsDir() && (rel == "dev" || rel == "proc" || rel == "sys") {
			return fs.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if same(filepath.Join(lower, rel), p, fi) || fi.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		if err := writeEntry(tw, rel, p, fi); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = filepath.WalkDir(lower, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(lower, p)
		if rel == "." {
			return nil
		}
		if _, err := os.Lstat(filepath.Join(upper, rel)); errors.Is(err, fs.ErrNotExist) {
			dir, base := filepath.Split(rel)
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: filepath.ToSlash(dir) + ".wh." + base, Mode: 0o644}); err != nil {
				return err
			}
			if d.IsDir() {
				return fs.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// same reports whether lowerPath holds the same entry as upperPath.
func same(lowerPath, upperPath string, ufi fs.FileInfo) bool {
	lfi, err := os.Lstat(lowerPath)
	if err != nil || lfi.Mode() != ufi.Mode() {
		return false
	}
	switch {
	case ufi.IsDir():
		return true
	case ufi.Mode()&fs.ModeSymlink != 0:
		a, _ := os.Readlink(lowerPath)
		b, _ := os.Readlink(upperPath)
		return a == b
	case ufi.Mode().IsRegular():
		return lfi.Size() == ufi.Size() && digest(lowerPath) == digest(upperPath)
	}
	return true
}

func digest(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return "error:" + p
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "error:" + p
	}
	return string(h.Sum(nil))
}

func writeEntry(tw *tar.Writer, rel, p string, fi fs.FileInfo) error {
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		link, _ = os.Readlink(p)
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name = filepath.ToSlash(rel)
	if fi.IsDir() {
		h.Name += "/"
	}
	h.Uname, h.Gname, h.Format = "", "", tar.FormatPAX
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

func parseSynthetic(spec string) (mb, files int, err error) {
	a, b, ok := strings.Cut(spec, ":")
	if mb, err = strconv.Atoi(a); !ok || err != nil || mb <= 0 {
		return 0, 0, fmt.Errorf("-synthetic %q: want MB:FILES", spec)
	}
	if files, err = strconv.Atoi(b); err != nil || files <= 0 {
		return 0, 0, fmt.Errorf("-synthetic %q: want MB:FILES", spec)
	}
	return mb, files, nil
}

// writeSynthetic writes files of pseudo-random bytes: incompressible, so the
// compressed layer is as large as the data and the scan must really stream it.
func writeSynthetic(w io.Writer, mb, files int) error {
	tw := tar.NewWriter(w)
	rng := rand.New(rand.NewPCG(1, 2))
	per := int64(mb) << 20 / int64(files)
	buf := make([]byte, 64<<10)
	for i := range files {
		name := fmt.Sprintf("data/d%03d/f%06d.bin", i%1000, i)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: per}); err != nil {
			return err
		}
		for left := per; left > 0; {
			n := min(left, int64(len(buf)))
			for j := 0; j < int(n); j += 8 {
				v := rng.Uint64()
				copy(buf[j:min(j+8, int(n))], []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32), byte(v >> 40), byte(v >> 48), byte(v >> 56)})
			}
			if _, err := io.Copy(tw, bytes.NewReader(buf[:n])); err != nil {
				return err
			}
			left -= n
		}
	}
	return tw.Close()
}
