package admission

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"
)

// Paths the server answers on; deploy/ points the webhook configuration
// at ValidatePath.
const (
	ValidatePath = "/validate"
	HealthPath   = "/healthz"
)

// NewServer returns an HTTPS server for h on addr. The certificate and key
// are re-read when their files change, so a rotated certificate (as
// cert-manager writes into a mounted Secret) is served without a restart.
func NewServer(addr string, h http.Handler, certFile, keyFile string) (*http.Server, error) {
	cl := &certLoader{certFile: certFile, keyFile: keyFile}
	if _, err := cl.get(nil); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(ValidatePath, h)
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return &http.Server{
		Addr:    addr,
		Handler: mux,
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: cl.get,
		},
		ReadHeaderTimeout: 5 * time.Second,
		// Requests carry their own deadline (?timeout=, at most 30s in
		// Kubernetes); these only stop idle or stalled connections.
		ReadTimeout:  35 * time.Second,
		WriteTimeout: 35 * time.Second,
		IdleTimeout:  90 * time.Second,
	}, nil
}

type certLoader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
}

func (c *certLoader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	st, err := os.Stat(c.certFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert != nil && st.ModTime().Equal(c.modTime) {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		if c.cert != nil {
			return c.cert, nil // a half-written rotation: keep serving the old one
		}
		return nil, fmt.Errorf("tls certificate %s, key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.modTime = &cert, st.ModTime()
	return c.cert, nil
}
