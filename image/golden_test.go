package image

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/layers"
)

var update = flag.Bool("update", false, "rewrite testdata archives and golden files")

// The testdata archives hold fixture(t, "amd64"), which is reproducible,
// so -update rewrites them byte for byte unless the fixture changes.
var goldenArchives = []struct {
	file  string
	write func(t *testing.T) string
}{
	{"tiny-docker.tar", func(t *testing.T) string {
		return testimage.WriteDockerArchive(t, fixture(t, "amd64"), "vigil.test/tiny:1")
	}},
	{"tiny-oci.tar", func(t *testing.T) string { return testimage.WriteOCIArchive(t, fixture(t, "amd64")) }},
}

// TestGolden pins what Open reports for the testdata archives: Info and
// the layer descriptions are copied into every report, so a change to
// them must be deliberate. checkFixture checks the values themselves.
func TestGolden(t *testing.T) {
	for _, g := range goldenArchives {
		t.Run(g.file, func(t *testing.T) {
			archive := filepath.Join("testdata", g.file)
			if *update {
				b, err := os.ReadFile(g.write(t))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(archive, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Open(context.Background(), archive, Options{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkFixture(t, s)
			report := struct {
				Info   Info          `json:"info"`
				Layers []layers.Info `json:"layers"`
			}{Info: s.Info}
			for _, l := range s.Layers {
				report.Layers = append(report.Layers, l.Info)
			}
			got, err := json.MarshalIndent(report, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := archive + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(append(got, '\n'), want) {
				t.Errorf("Open(%s) reports\n%s\nwant (%s)\n%s", archive, got, golden, want)
			}
		})
	}
}

// FuzzOpenArchive opens arbitrary bytes as a tar without a scheme, as a
// user pointing Vigil at a hostile file would, and reads every layer blob.
// Memory stays bounded by the input: metadata reads are size-checked and
// blobs are streamed.
func FuzzOpenArchive(f *testing.F) {
	for _, g := range goldenArchives {
		b, err := os.ReadFile(filepath.Join("testdata", g.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "input.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		s, err := Open(context.Background(), p, Options{TempDir: tmp})
		if err != nil {
			return
		}
		defer s.Close()
		for _, l := range s.Layers {
			rc, err := l.Open()
			if err != nil {
				continue
			}
			io.Copy(io.Discard, io.LimitReader(rc, int64(len(data))+1))
			rc.Close()
		}
	})
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"registry:alpine:3", "alpine", "oci-dir:/x:name", "docker:x", "localhost:5000/a@sha256:00", "dir:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		scheme, arg, err := parseRef(ref)
		if err == nil && scheme != "" && ref != scheme+":"+arg {
			t.Errorf("parseRef(%q) = %q %q", ref, scheme, arg)
		}
	})
}
