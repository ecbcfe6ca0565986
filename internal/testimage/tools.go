package testimage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// run runs a command in dir and returns its standard output; on failure the
// error carries the end of its standard error.
func run(t testing.TB, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.Bytes(), 4096))
	}
	return stdout.Bytes(), nil
}

// AptDownload fetches the named packages ("name" or "name=version") as real
// .deb files with `apt-get download` from the machine's configured mirrors and
// returns their paths in the order asked. They are cached by name, so a
// cached .deb keeps the version apt chose the first time.
func AptDownload(t testing.TB, pkgs ...string) []string {
	t.Helper()
	Require(t, "apt-get")
	dir := cached(t, "apt", append([]string{"v1"}, pkgs...), func(tmp string) error {
		_, err := run(t, tmp, nil, "apt-get", append([]string{"download", "-q"}, pkgs...)...)
		return err
	})
	debs := make([]string, len(pkgs))
	for i, p := range pkgs {
		name, _, _ := strings.Cut(p, "=")
		name, _, _ = strings.Cut(name, ":")
		m, _ := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
		if len(m) != 1 {
			t.Fatalf("AptDownload: %d files for %s in %s", len(m), p, dir)
		}
		debs[i] = m[0]
	}
	return debs
}

// ExtractDeb unpacks the files of a .deb into dir with `dpkg-deb -x`.
func ExtractDeb(t testing.TB, deb, dir string) {
	t.Helper()
	Require(t, "dpkg-deb")
	if _, err := run(t, "", nil, "dpkg-deb", "-x", deb, dir); err != nil {
		t.Fatalf("ExtractDeb: %v", err)
	}
}

// GoBinary builds a real Go program and returns the path of the binary,
// named name. gomod is the go.mod text; files maps file names to contents.
// Module versions are resolved through the module proxy (GOFLAGS=-mod=mod,
// so go.sum need not be given); the build is static (CGO_ENABLED=0), with
// -trimpath and the local toolchain. env adds variables such as GOARCH=arm64.
func GoBinary(t testing.TB, name, gomod string, files map[string]string, env ...string) string {
	t.Helper()
	Require(t, "go")
	version, err := run(t, "", nil, "go", "version")
	if err != nil {
		t.Fatal(err)
	}
	inputs := []string{"v1", string(version), name, gomod}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		inputs = append(inputs, f, files[f])
	}
	inputs = append(inputs, env...)
	dir := cached(t, "gobinary", inputs, func(tmp string) error {
		src := t.TempDir()
		files := maps.Clone(files)
		files["go.mod"] = gomod
		for f, body := range files {
			p := filepath.Join(src, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				return err
			}
		}
		buildEnv := append([]string{"GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOTOOLCHAIN=local"}, env...)
		_, err := run(t, src, buildEnv, "go", "build", "-trimpath", "-o", filepath.Join(tmp, name), ".")
		return err
	})
	return filepath.Join(dir, name)
}

// NpmPack fetches packages ("name@version") from the npm registry with
// `npm pack` and returns, in the order asked, the directories they unpack
// to (each holding package.json).
func NpmPack(t testing.TB, pkgs ...string) []string {
	t.Helper()
	Require(t, "npm", "tar")
	dir := cached(t, "npm", append([]string{"v1"}, pkgs...), func(tmp string) error {
		out, err := run(t, tmp, nil, "npm", append([]string{"pack", "--json", "--ignore-scripts", "--pack-destination", tmp}, pkgs...)...)
		if err != nil {
			return err
		}
		var packed []struct{ Filename string }
		if err := json.Unmarshal(out, &packed); err != nil {
			return fmt.Errorf("npm pack output: %w", err)
		}
		if len(packed) != len(pkgs) {
			return fmt.Errorf("npm pack returned %d tarballs for %d packages", len(packed), len(pkgs))
		}
		for i, p := range packed {
			dst := filepath.Join(tmp, fmt.Sprint(i))
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			// GNU tar refuses "../" and absolute names by default.
			if _, err := run(t, tmp, nil, "tar", "-xzf", p.Filename, "-C", dst, "--strip-components=1", "--no-same-owner"); err != nil {
				return err
			}
			if err := os.Remove(filepath.Join(tmp, p.Filename)); err != nil {
				return err
			}
		}
		return nil
	})
	dirs := make([]string, len(pkgs))
	for i := range pkgs {
		dirs[i] = filepath.Join(dir, fmt.Sprint(i))
	}
	return dirs
}

// TextProgram builds a Go program that calls golang.org/x/text/language.Parse,
// linked against x/text at version, and returns its bytes. In the shared Go
// data v0.3.5 has GO-2021-0113 (in Parse) and GO-2022-1059; v0.39.0 has
// none: the pair makes a vulnerable build and its fixed rebuild.
func TextProgram(t testing.TB, version string) []byte {
	t.Helper()
	mod := "module example.com/vigiltest/text\n\ngo 1.22\n\nrequire golang.org/x/text " + version + "\n"
	bin := GoBinary(t, "server", mod, map[string]string{
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() { fmt.Println(language.Parse(\"en-US\")) }\n",
	})
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
