package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/testimage"
)

// blobPath is where an OCI layout keeps the blob h.
func blobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// tamper rewrites one blob of a layout in place, keeping its size.
func tamper(t *testing.T, dir string, h v1.Hash, from, to string) {
	t.Helper()
	p := blobPath(dir, h)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(from) != len(to) || !bytes.Contains(b, []byte(from)) {
		t.Fatalf("cannot tamper with %s: %q not found or lengths differ", h, from)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(from), []byte(to), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// archive tars a layout directory into an oci-archive.
func archive(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tampered.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testimage.TarDir(f, dir); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLies opens layouts whose blobs do not match the digests naming them.
func TestLies(t *testing.T) {
	img := fixture(t, "amd64")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	md, _ := img.Digest()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		err    string
	}{
		{
			name:   "config digest lies",
			damage: func(t *testing.T, dir string) { tamper(t, dir, m.Config.Digest, `"amd64"`, `"arm64"`) },
			err:    "names config " + m.Config.Digest.String() + " but the config has digest",
		},
		{
			name:   "manifest digest lies",
			damage: func(t *testing.T, dir string) { tamper(t, dir, md, `"schemaVersion":2`, `"schemaVersion":3`) },
			err:    "manifest " + md.String() + ": content has digest",
		},
		{
			name: "config size lies",
			damage: func(t *testing.T, dir string) {
				if err := os.WriteFile(blobPath(dir, m.Config.Digest), []byte("{}"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			err: "blob " + m.Config.Digest.String() + " is 2 bytes, its descriptor says",
		},
		{
			name: "config missing",
			damage: func(t *testing.T, dir string) {
				if err := os.Remove(blobPath(dir, m.Config.Digest)); err != nil {
					t.Fatal(err)
				}
			},
			err: "blob " + m.Config.Digest.String(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testimage.WriteOCILayout(t, img)
			tt.damage(t, dir)
			for _, ref := range []string{"oci-dir:" + dir, "oci-archive:" + archive(t, dir)} {
				_, err := Open(context.Background(), ref, Options{TempDir: t.TempDir()})
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("%s: error %v, want one containing %q", ref, err, tt.err)
				}
			}
		})
	}
}

// TestMissingLayer removes the top layer's blob from each kind of source:
// the error, from Open or from the blob's Open, must name the layer.
func TestMissingLayer(t *testing.T) {
	img := fixture(t, "amd64")
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	missing, _ := ls[1].Digest()
	diffID, _ := ls[1].DiffID()

	dir := testimage.WriteOCILayout(t, img)
	if err := os.Remove(blobPath(dir, missing)); err != nil {
		t.Fatal(err)
	}

	host := testimage.Registry(t)
	testimage.Push(t, host, "gone:1", img)
	req, err := http.NewRequest(http.MethodDelete, "http://"+host+"/v2/gone/blobs/"+missing.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting the blob: %s", resp.Status)
	}

	dockerTar := withoutEntry(t, testimage.WriteDockerArchive(t, img, "vigil.test/app:1"), missing.Hex)

	tests := []struct{ ref, err string }{
		{"oci-dir:" + dir, missing.String()},
		{"oci-archive:" + archive(t, dir), missing.String()},
		{"registry:" + host + "/gone:1", missing.String()},
		// docker save names layer files by digest.
		{"docker-archive:" + dockerTar, missing.Hex},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			s, err := Open(context.Background(), tt.ref, Options{TempDir: t.TempDir()})
			if err == nil {
				defer s.Close()
				if _, err = s.Layers[0].Open(); err != nil {
					t.Fatalf("layer 0 is present but: %v", err)
				}
				var rc io.ReadCloser
				if rc, err = s.Layers[1].Open(); err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one naming %s (diff_id %s)", err, tt.err, diffID)
			}
		})
	}
}

// withoutEntry copies the tar at p leaving out entries whose name contains
// drop.
func withoutEntry(t *testing.T, p, drop string) string {
	t.Helper()
	in, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out := filepath.Join(t.TempDir(), "without.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(f)
	dropped := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(h.Name, drop) {
			dropped = true
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if !dropped {
		t.Fatalf("no entry of %s contains %s", p, drop)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOCIArchiveHostile feeds oci-archives whose entries try to leave the
// unpack directory or smuggle links; each must fail with an error naming
// the entry, and leave nothing behind.
func TestOCIArchiveHostile(t *testing.T) {
	layoutDir := testimage.WriteOCILayout(t, fixture(t, "amd64"))
	tests := []struct {
		name  string
		extra tar.Header
		err   string
	}{
		{"dot-dot", tar.Header{Name: "../escaped", Typeflag: tar.TypeReg}, `entry "../escaped" points outside the archive`},
		{"dot-dot inside", tar.Header{Name: "blobs/../../escaped", Typeflag: tar.TypeReg}, `entry "blobs/../../escaped" points outside`},
		{"absolute", tar.Header{Name: "/tmp/escaped", Typeflag: tar.TypeReg}, `entry "/tmp/escaped" points outside`},
		{"symlink blob", tar.Header{Name: "blobs/sha256/aaaa", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}, "entry blobs/sha256/aaaa: type '2' is not allowed"},
		{"hardlink blob", tar.Header{Name: "blobs/sha256/bbbb", Typeflag: tar.TypeLink, Linkname: "oci-layout"}, "entry blobs/sha256/bbbb: type '1' is not allowed"},
		{"symlinked blobs dir", tar.Header{Name: "blobs", Typeflag: tar.TypeSymlink, Linkname: "/"}, "entry blobs: type '2' is not allowed"},
		{"huge size", tar.Header{Name: "blobs/sha256/cccc", Typeflag: tar.TypeReg, Size: 1 << 40}, "more than the archive holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The hostile entry comes first, so it is met before the
			// real layout; a lying size has no data or layout after it.
			layout := layoutDir
			if tt.extra.Size >= 1<<20 {
				layout = ""
			}
			p := archiveWith(t, tt.extra, layout)
			tmp := filepath.Join(t.TempDir(), "unpack")
			if err := os.Mkdir(tmp, 0o700); err != nil {
				t.Fatal(err)
			}
			_, err := Open(context.Background(), "oci-archive:"+p, Options{TempDir: tmp})
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left %v in the temp dir", left)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(tmp), "escaped")); err == nil {
				t.Error("an entry escaped the unpack directory")
			}
		})
	}
}

// TestOCIArchiveSkipsForeign reads a tar that holds an OCI layout among
// other files, as docker save has written since Docker 25.
func TestOCIArchiveSkipsForeign(t *testing.T) {
	img := fixture(t, "amd64")
	dir := testimage.WriteOCILayout(t, img)
	if err := os.WriteFile(filepath.Join(dir, "repositories"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := archiveWith(t, tar.Header{Name: "legacy/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../blobs/sha256/x"}, dir)
	s, err := Open(context.Background(), "oci-archive:"+p, Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Layers[0].Open(); err == nil {
		t.Error("layer still readable after Close removed the unpacked layout")
	}
}

// archiveWith writes a tar holding first, with zeroed data when it is a
// small regular file, then the OCI layout in layoutDir (if any).
func archiveWith(t *testing.T, first tar.Header, layoutDir string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	first.Mode = 0o644
	if err := tw.WriteHeader(&first); err != nil {
		t.Fatal(err)
	}
	if first.Typeflag == tar.TypeReg && first.Size < 1<<20 {
		tw.Write(make([]byte, first.Size))
	}
	tw.Flush()
	if layoutDir == "" {
		buf.Write(make([]byte, 1024))
	} else if err := testimage.TarDir(&buf, layoutDir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "archive.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
