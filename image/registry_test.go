package image

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vigilsec/vigil/internal/testimage"
)

// TestInsecure serves the image over TLS with a certificate nobody
// trusts: Open must refuse it unless Options.Insecure is set.
func TestInsecure(t *testing.T) {
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	ref, err := name.ParseReference(host + "/tls:1")
	if err != nil {
		t.Fatal(err)
	}
	img := fixture(t, "amd64")
	if err := remote.Write(ref, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), "registry:"+host+"/tls:1", Options{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate accepted without Insecure: %v", err)
	}
	s, err := Open(context.Background(), "registry:"+host+"/tls:1", Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, s)
}

// TestPlainHTTP pulls over plain HTTP with Insecure, the way a scan of a
// local registry runs.
func TestPlainHTTP(t *testing.T) {
	host := testimage.Registry(t)
	testimage.Push(t, host, "plain:1", fixture(t, "amd64"))
	s, err := Open(context.Background(), host+"/plain:1", Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, s)
}

// TestDistributionRegistry pushes to and pulls from the registry Docker
// Hub and most private registries run, not only go-containerregistry's.
func TestDistributionRegistry(t *testing.T) {
	host := testimage.DockerRegistry(t)
	img := fixture(t, "amd64")
	byDigest := testimage.Push(t, host, "vigil/app:1", img)
	d, _ := img.Digest()
	for _, ref := range []string{host + "/vigil/app:1", "registry:" + byDigest} {
		s, err := Open(context.Background(), ref, Options{Insecure: true})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if s.Info.Digest != d.String() {
			t.Errorf("%s: digest %s, want %s", ref, s.Info.Digest, d)
		}
		checkFixture(t, s)
	}
	if _, err := Open(context.Background(), host+"/vigil/absent:1", Options{Insecure: true}); err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
		t.Errorf("absent image: %v", err)
	}
}
