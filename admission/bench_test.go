//go:build unix

package admission

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// inFlight is the load: 100 admission requests in flight at once.
const inFlight = 100

// BenchmarkCachedDecision is the benchmark: decisions for cached
// digests over HTTPS with inFlight requests in flight at all times, as a
// ReplicaSet scaling up sends them: every request is a new pod (its own
// generated name and uid) of one template whose three images are cached.
// The client is set up as the API server's webhook client
// (apiServerClient), so connections are kept alive and reused.
//
// "vigil" is the webhook; "floor" is the same client, TLS and HTTP server
// with a handler that allows without reading anything, which is what the
// harness itself costs on this machine: the client runs in the same
// process and shares its CPUs. Each prints p50, p99 and max latency of
// the round trip and (server-) of the decision inside the webhook
// (serverTimes), requests per second, the connections the server accepted
// while measuring, and the CPU time (user and system, both sides) per
// request, which is the figure least disturbed by other load on the
// machine. With inFlight requests always in flight, the round trip is
// inFlight over the throughput, whatever the decision costs. Run it alone,
// a few times:
//
//	go test ./admission -run '^$' -bench CachedDecision -benchtime 20000x -count 3
func BenchmarkCachedDecision(b *testing.B) {
	b.Run("vigil", func(b *testing.B) {
		f := newFixture(b, nil)
		var at serverTimes
		url, roots, accepted := serveTLS(b, at.wrap(f.handler))
		load(b, url, roots, accepted, &at, func(i int) []byte {
			// Three containers, as a pod with an init container and a
			// sidecar has, one referenced by tag.
			return replicaSetPod(b, i, f.signed, f.signedTag, f.signed)
		})
	})
	b.Run("floor", func(b *testing.B) {
		allow := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u","allowed":true}}` + "\n")
		var at serverTimes
		url, roots, accepted := serveTLS(b, at.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(allow)
		})))
		load(b, url, roots, accepted, &at, func(i int) []byte { return replicaSetPod(b, i, "a", "b", "c") })
	})
}

// load sends b.N reviews (body(i) for the i-th) to url with inFlight
// in flight at all times, each expected to be allowed, and reports the
// figures BenchmarkCachedDecision describes.
func load(b *testing.B, url string, roots *x509.CertPool, accepted *atomic.Int64, at *serverTimes, body func(int) []byte) {
	bodies := make([][]byte, 512)
	for i := range bodies {
		bodies[i] = body(i)
	}
	client := apiServerClient(roots)
	url += "?timeout=10s" // the API server sends timeoutSeconds
	post := func(body []byte) error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || out.Response == nil || !out.Response.Allowed {
			return fmt.Errorf("status %d response %+v", resp.StatusCode, out.Response)
		}
		return nil
	}
	// Fill the cache: the decisions measured are for cached digests.
	if err := post(bodies[0]); err != nil {
		b.Fatal(err)
	}

	// run sends n reviews with inFlight in flight and returns each one's
	// latency.
	run := func(n int) [][]time.Duration {
		lat := make([][]time.Duration, inFlight)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range inFlight {
			wg.Go(func() {
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					t0 := time.Now()
					if err := post(bodies[int(i)%len(bodies)]); err != nil {
						b.Error(err)
						return
					}
					lat[w] = append(lat[w], time.Since(t0))
				}
			})
		}
		wg.Wait()
		return lat
	}
	// Warm up: the API server's connections to a webhook under steady
	// load are open already. Measured from cold, the first inFlight
	// requests wait for inFlight TLS handshakes at once, which is the
	// start of a benchmark, not a decision's latency.
	run(10 * inFlight)
	at.reset()

	conns, cpu := accepted.Load(), cpuTime(b)
	b.ResetTimer()
	start := time.Now()
	lat := run(b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	cpu = cpuTime(b) - cpu

	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	quantiles(b, "", all)
	quantiles(b, "server-", at.reset())
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(accepted.Load()-conns), "new-conns")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-us/req")
}

// quantiles reports the median, 99th percentile and maximum of d as
// prefix+"p50-ms" and so on.
func quantiles(b *testing.B, prefix string, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(d[len(d)/2]), prefix+"p50-ms")
	b.ReportMetric(ms(d[min(len(d)-1, len(d)*99/100)]), prefix+"p99-ms")
	b.ReportMetric(ms(d[len(d)-1]), prefix+"max-ms")
}

// serverTimes records how long the server's handler took for each
// request: from the request's headers read to the response handed to the
// connection's buffer, so reading and decoding the body, the decision and
// encoding the answer. What it leaves out is TLS, the HTTP framing and the
// wait for a CPU before the handler runs, which on a machine whose CPUs
// the client shares is mostly the client's doing.
type serverTimes struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *serverTimes) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(t0)
		s.mu.Lock()
		s.d = append(s.d, d)
		s.mu.Unlock()
	})
}

// reset returns the times recorded so far and forgets them.
func (s *serverTimes) reset() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	s.d = nil
	return d
}

// cpuTime is the CPU time, user and system, the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCachedReview measures the handler alone (decode, policy,
// encode) for the pods BenchmarkCachedDecision sends, without TLS or the
// network: the CPU one decision costs the webhook.
func BenchmarkCachedReview(b *testing.B) {
	f := newFixture(b, nil)
	bodies := make([][]byte, 512)
	for i := range bodies {
		bodies[i] = replicaSetPod(b, i, f.signed, f.signedTag, f.signed)
	}
	h := f.handler
	b.ReportAllocs()
	cpu := cpuTime(b)
	i := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(bodies[i%len(bodies)])))
		if !strings.Contains(w.Body.String(), `"allowed":true`) {
			b.Fatalf("denied: %s", w.Body)
		}
		i++
	}
	// Wall time per op is at the mercy of other load on the machine; CPU
	// time (garbage collection included) much less so.
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(i), "cpu-us/op")
}

// apiServerClient is an HTTP client set up as kube-apiserver's webhook
// client is: client-go's transport (k8s.io/client-go/transport/cache.go:
// keep-alive, 25 idle connections per host, 10s TLS handshake timeout)
// restricted to HTTP/1.1, which k8s.io/apiserver/pkg/util/webhook/client.go
// forces so that concurrent requests spread over a webhook's replicas
// (kubernetes issue 75791). Under load it keeps a pool of connections;
// a connection is only opened when none is free.
func apiServerClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 25,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}}
}
