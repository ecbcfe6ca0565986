package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Build returns base (an empty linux/amd64 image when nil) with layers
// appended; history[i], when present, is the created_by of layers[i], and
// labels are merged into the config's labels.
func Build(t testing.TB, base v1.Image, layers []v1.Layer, history []string, labels map[string]string) v1.Image {
	t.Helper()
	if base == nil {
		var err error
		base, err = mutate.ConfigFile(empty.Image, &v1.ConfigFile{
			OS:           "linux",
			Architecture: "amd64",
			Created:      v1.Time{Time: Epoch},
			RootFS:       v1.RootFS{Type: "layers"},
			Config:       v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: Epoch}}}
		if i < len(history) {
			adds[i].History.CreatedBy = history[i]
		}
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if len(labels) > 0 {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		cf = cf.DeepCopy()
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		for k, v := range labels {
			cf.Config.Labels[k] = v
		}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatalf("Build: %v", err)
		}
	}
	return img
}

// WriteDockerArchive writes img as `docker save` would, tagged tag, to a file
// in a test temporary directory (so tests may damage it) and returns its path.
func WriteDockerArchive(t testing.TB, img v1.Image, tag string) string {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatalf("WriteDockerArchive: %v", err)
	}
	p := filepath.Join(t.TempDir(), "docker-archive.tar")
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatalf("WriteDockerArchive: %v", err)
	}
	return p
}

// WriteOCILayout writes img as an OCI image layout in a test temporary
// directory and returns the directory.
func WriteOCILayout(t testing.TB, img v1.Image) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "oci")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatalf("WriteOCILayout: %v", err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatalf("WriteOCILayout: %v", err)
	}
	return dir
}

// WriteOCIArchive writes img as an oci-archive (a tar of an OCI layout, as
// skopeo and buildah write them) and returns its path.
func WriteOCIArchive(t testing.TB, img v1.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "oci-archive.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := TarDir(f, WriteOCILayout(t, img)); err != nil {
		t.Fatalf("WriteOCIArchive: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TarDir writes the regular files and directories under dir to w as a
// plain tar with names relative to dir, which is how an OCI layout is
// archived.
func TarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: Epoch})
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: int64(len(b)), ModTime: Epoch}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// Registry starts go-containerregistry's in-memory registry on 127.0.0.1,
// stopped when the test ends, and returns its host:port.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Push uploads img to host/repo (repo may carry a tag) over plain HTTP and
// returns the pushed reference by digest.
func Push(t testing.TB, host, repo string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if err := remote.Write(ref, img, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("Push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String()).String()
}

// DockerRegistry starts Debian's docker-registry (the CNCF distribution
// registry, as run by Docker Hub and most private registries) on a free
// 127.0.0.1 port with storage in a test temporary directory, stopped when
// the test ends, and returns its host:port.
func DockerRegistry(t testing.TB) string {
	t.Helper()
	Require(t, "docker-registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	config := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command("docker-registry", "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	// Poll until it answers; the port was free a moment ago, but another
	// process could take it first, which the exit check reports.
	for range 100 {
		select {
		case err := <-exited:
			t.Fatalf("docker-registry exited: %v\n%s", err, logs.Bytes())
		default:
		}
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return host
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("docker-registry did not answer on %s\n%s", host, logs.Bytes())
	return ""
}
