package admission

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kjson "sigs.k8s.io/json"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/policy"
	"github.com/vigilsec/vigil/trust"
	"github.com/vigilsec/vigil/workload"
)

// fixture is a registry with a signed non-root image, an unsigned one and
// a signed root one, and a webhook served over HTTPS on 127.0.0.1.
type fixture struct {
	host                      string
	signed, unsigned, rootImg string // image references by digest
	signedTag                 string
	registryHits              atomic.Int64
	url                       string
	handler                   *Handler
	client                    *http.Client
	// roots trusts the webhook's certificate; accepted counts the
	// connections its server accepted.
	roots    *x509.CertPool
	accepted *atomic.Int64
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.registryHits.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.host = strings.TrimPrefix(srv.URL, "http://")

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := trust.NewSigner("test.key", key)
	if err != nil {
		t.Fatal(err)
	}
	nonRoot := func() v1.Image {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf.Config.User = "10001"
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	push := func(repo string, img v1.Image, sign bool) string {
		ref := testimage.Push(t, f.host, repo, img)
		if sign {
			d, err := name.NewDigest(ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := trust.Sign(context.Background(), d, signer, nil); err != nil {
				t.Fatal(err)
			}
		}
		return ref
	}
	f.signed = push("app:1", nonRoot(), true)
	f.signedTag = f.host + "/app:1"
	f.unsigned = push("other:1", nonRoot(), false)
	root, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.rootImg = push("root:1", root, true)

	p, err := policy.Load("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Policy: p, Keys: []*trust.PublicKey{signer.Pub}}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
	f.url, f.roots, f.accepted = serveTLS(t, h)
	f.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots, MinVersion: tls.VersionTLS12}}}
	return f
}

// serveTLS runs the webhook's own server with a certificate made for
// 127.0.0.1 and returns its validate URL, a pool trusting its certificate
// and the count of connections it accepted.
func serveTLS(t testing.TB, h http.Handler) (string, *x509.CertPool, *atomic.Int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "vigil-admission.vigil.svc"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"vigil-admission.vigil.svc"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer("127.0.0.1:0", h, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	// Handshakes a benchmark's client abandons when it closes are not news.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l, n: new(atomic.Int64)}
	go srv.ServeTLS(cl, "", "")
	t.Cleanup(func() { srv.Close() })
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return "https://" + l.Addr().String() + ValidatePath, pool, cl.n
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func secure() *corev1.SecurityContext {
	no := false
	return &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
}

func podSpecWith(images ...string) corev1.PodSpec {
	var s corev1.PodSpec
	for i, im := range images {
		s.Containers = append(s.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: im, SecurityContext: secure()})
	}
	return s
}

// review builds an AdmissionReview for obj as the API server sends it.
func review(t testing.TB, obj k8sruntime.Object, op admissionv1.Operation) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	gvk := map[string]metav1.GroupVersionKind{
		"*v1.Pod":         {Version: "v1", Kind: "Pod"},
		"*v1.Deployment":  {Group: "apps", Version: "v1", Kind: "Deployment"},
		"*v1.StatefulSet": {Group: "apps", Version: "v1", Kind: "StatefulSet"},
		"*v1.DaemonSet":   {Group: "apps", Version: "v1", Kind: "DaemonSet"},
		"*v1.ReplicaSet":  {Group: "apps", Version: "v1", Kind: "ReplicaSet"},
		"*v1.Job":         {Group: "batch", Version: "v1", Kind: "Job"},
		"*v1.CronJob":     {Group: "batch", Version: "v1", Kind: "CronJob"},
		"*v1.ConfigMap":   {Version: "v1", Kind: "ConfigMap"},
	}[fmt.Sprintf("%T", obj)]
	rv := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("uid-" + gvk.Kind),
			Kind:      gvk,
			Resource:  metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"},
			Namespace: "prod",
			Operation: op,
			Object:    k8sruntime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(rv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) post(t testing.TB, body []byte, query string) (int, *admissionv1.AdmissionResponse) {
	t.Helper()
	resp, err := f.client.Post(f.url+query, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if out.Response == nil {
		t.Fatal("response without a response")
	}
	return resp.StatusCode, out.Response
}

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "prod"} }

func tpl(spec corev1.PodSpec) corev1.PodTemplateSpec { return corev1.PodTemplateSpec{Spec: spec} }

func TestReview(t *testing.T) {
	f := newFixture(t, nil)
	yes := true
	privileged := podSpecWith(f.signed)
	privileged.Containers[0].SecurityContext.Privileged = &yes
	addCaps := podSpecWith(f.signed)
	addCaps.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
	debug := podSpecWith(f.signed)
	debug.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: f.unsigned, SecurityContext: secure()}}}
	initUnsigned := podSpecWith(f.signed)
	initUnsigned.InitContainers = []corev1.Container{{Name: "init", Image: f.unsigned, SecurityContext: secure()}}

	for _, tc := range []struct {
		name    string
		obj     k8sruntime.Object
		op      admissionv1.Operation
		allowed bool
		want    []string // in the denial message, or in warnings when allowed
	}{
		{"signed non-root pod", &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.signed)}, admissionv1.Create, true, nil},
		{"tag resolves to the signed digest", &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.signedTag)}, admissionv1.Create, true, []string{"digest-pinning"}},
		{"unsigned image in a deployment", &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Template: tpl(podSpecWith(f.unsigned))}}, admissionv1.Create, false, []string{"required-signer", "no verified signature"}},
		{"root image in a statefulset", &appsv1.StatefulSet{ObjectMeta: meta("s"), Spec: appsv1.StatefulSetSpec{Template: tpl(podSpecWith(f.rootImg))}}, admissionv1.Update, false, []string{"non-root"}},
		{"privileged daemonset", &appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{Template: tpl(privileged)}}, admissionv1.Create, false, []string{"not-privileged"}},
		{"added capability in a replicaset", &appsv1.ReplicaSet{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Template: tpl(addCaps)}}, admissionv1.Create, false, []string{"SYS_ADMIN"}},
		{"unsigned init container in a job", &batchv1.Job{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Template: tpl(initUnsigned)}}, admissionv1.Create, false, []string{"container init", "required-signer"}},
		{"unsigned ephemeral container", &corev1.Pod{ObjectMeta: meta("p"), Spec: debug}, admissionv1.Update, false, []string{"container debugger", "required-signer"}},
		{"signed cronjob", &batchv1.CronJob{ObjectMeta: meta("cj"), Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tpl(podSpecWith(f.signed))}}}}, admissionv1.Create, true, nil},
		{"missing image", &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.host + "/nope@sha256:" + strings.Repeat("0", 64))}, admissionv1.Create, false, []string{"fail-closed", "nope"}},
		{"unsupported kind", &corev1.ConfigMap{ObjectMeta: meta("cm")}, admissionv1.Create, false, []string{"unsupported kind"}},
		{"delete is allowed", &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.unsigned)}, admissionv1.Delete, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, resp := f.post(t, review(t, tc.obj, tc.op), "")
			if code != http.StatusOK || !strings.HasPrefix(string(resp.UID), "uid-") {
				t.Fatalf("status %d uid %q", code, resp.UID)
			}
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed %v, want %v: %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			text := strings.Join(resp.Warnings, "\n")
			if !resp.Allowed {
				if resp.Result == nil || resp.Result.Code != http.StatusForbidden {
					t.Fatalf("denial without a 403 status: %+v", resp.Result)
				}
				text = resp.Result.Message
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q does not mention %q", text, w)
				}
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	f := newFixture(t, nil)
	good := review(t, &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.signed)}, admissionv1.Create)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not json", "{", "decode admission review"},
		{"v1beta1", strings.Replace(string(good), "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1), "want admission.k8s.io/v1"},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "no request"},
		{"no uid", strings.Replace(string(good), `"uid":"uid-Pod"`, `"uid":""`, 1), "no uid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, resp := f.post(t, []byte(tc.body), "")
			if code != http.StatusBadRequest || resp.Allowed || !strings.Contains(resp.Result.Message, tc.want) {
				t.Fatalf("status %d allowed %v result %+v", code, resp.Allowed, resp.Result)
			}
		})
	}
	// A well-formed review whose object is not what it claims is answered
	// by its UID, denied as undecidable.
	for _, tc := range []struct{ name, from, to, want string }{
		{"containers not a list", `"containers":[`, `"containers":7,"x":[`, "decode Pod"},
		{"pod claimed to be a deployment", `"kind":"Pod"}`, `"kind":"Deployment","group":"apps"}`, "has no pod template"},
		{"no object", `"object":{`, `"object":null,"x":{`, "no object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.from, tc.to, 1)
			if bad == string(good) {
				t.Fatal("replacement did not apply")
			}
			code, resp := f.post(t, []byte(bad), "")
			if code != http.StatusOK || resp.UID != "uid-Pod" || resp.Allowed || !strings.Contains(resp.Result.Message, tc.want) ||
				!strings.Contains(resp.Result.Message, "fail-closed") {
				t.Fatalf("status %d uid %q allowed %v result %+v", code, resp.UID, resp.Allowed, resp.Result)
			}
		})
	}
}

// TestRecord checks that recorded inputs replay to the same decision.
func TestRecord(t *testing.T) {
	type rec struct {
		in *policy.Input
		d  *policy.Decision
	}
	ch := make(chan rec, 10)
	f := newFixture(t, func(c *Config) {
		c.Record = func(in *policy.Input, d *policy.Decision) { ch <- rec{in, d} }
	})
	f.post(t, review(t, &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.rootImg)}, admissionv1.Create), "")
	r := <-ch
	if r.in.Container.Name != "c0" || r.in.Workload.Kind != "Pod" || len(r.in.Signatures) != 1 || r.d.Allowed() {
		t.Fatalf("recorded %+v -> %+v", r.in, r.d)
	}
	b, err := json.Marshal(r.in)
	if err != nil {
		t.Fatal(err)
	}
	in, err := policy.ReadInput(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(p.Evaluate(t.Context(), in))
	want, _ := json.Marshal(r.d)
	if !bytes.Equal(got, want) {
		t.Fatalf("replayed decision %s, recorded %s", got, want)
	}
}

// TestCache checks that a second decision for the same digest asks the
// registry nothing.
func TestCache(t *testing.T) {
	f := newFixture(t, nil)
	body := review(t, &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.signed)}, admissionv1.Create)
	if _, resp := f.post(t, body, ""); !resp.Allowed {
		t.Fatalf("denied: %+v", resp.Result)
	}
	before := f.registryHits.Load()
	if _, resp := f.post(t, body, ""); !resp.Allowed {
		t.Fatalf("denied: %+v", resp.Result)
	}
	if n := f.registryHits.Load() - before; n != 0 {
		t.Fatalf("cached decision made %d registry requests", n)
	}
}

// TestDecisionCache checks that pods of one template share a decision,
// although their names differ, and that what the rules read does not.
func TestDecisionCache(t *testing.T) {
	f := newFixture(t, nil)
	yes := true
	privileged := podSpecWith(f.signed)
	privileged.Containers[0].SecurityContext.Privileged = &yes
	for i, tc := range []struct {
		pod       string
		spec      corev1.PodSpec
		allowed   bool
		decisions int // cached after this request
	}{
		{"web-1", podSpecWith(f.signed), true, 1},
		{"web-2", podSpecWith(f.signed), true, 1},
		{"web-3", privileged, false, 2},
		{"web-4", privileged, false, 2},
		{"web-5", podSpecWith(f.signed, f.signedTag), true, 3}, // the tag's input differs: pinned, tag
	} {
		if _, resp := f.post(t, review(t, &corev1.Pod{ObjectMeta: meta(tc.pod), Spec: tc.spec}, admissionv1.Create), ""); resp.Allowed != tc.allowed {
			t.Fatalf("%d %s: allowed %v, want %v: %+v", i, tc.pod, resp.Allowed, tc.allowed, resp.Result)
		}
		f.handler.mu.Lock()
		n := f.handler.decisions.order.Len()
		f.handler.mu.Unlock()
		if n != tc.decisions {
			t.Errorf("%d %s: %d decisions cached, want %d", i, tc.pod, n, tc.decisions)
		}
	}
}

// TestDecisionCacheAge checks that a cached decision follows the image's
// age: a rule on input.image.ageDays is decided again when a day passes,
// even though the image's facts are still cached.
func TestDecisionCacheAge(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p, err := policy.Parse("age.yaml", []byte("rules:\n  - name: fresh\n    action: deny\n    expression: input.image.ageDays < 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.Now, c.CacheTTL, c.Policy = clock, 48*time.Hour, p })
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: now.Add(-12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	body := review(t, &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(testimage.Push(t, f.host, "aging:1", img))}, admissionv1.Create)
	for _, tc := range []struct {
		after   time.Duration
		allowed bool
	}{
		{0, true},
		{6 * time.Hour, true},  // 18 hours old, cached
		{7 * time.Hour, false}, // 25 hours old
	} {
		mu.Lock()
		now = now.Add(tc.after)
		mu.Unlock()
		if _, resp := f.post(t, body, ""); resp.Allowed != tc.allowed {
			t.Fatalf("after %v more: allowed %v, want %v: %+v", tc.after, resp.Allowed, tc.allowed, resp.Result)
		}
	}
}

// TestTagTTL checks that a tag's resolution is reused for TagTTL and then
// looked up again, so a re-pushed tag is judged as the image it now names.
func TestTagTTL(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, func(c *Config) { c.Now, c.TagTTL = clock, time.Minute })
	body := review(t, &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(f.signedTag)}, admissionv1.Create)
	if _, resp := f.post(t, body, ""); !resp.Allowed {
		t.Fatalf("signed image denied: %+v", resp.Result)
	}
	// The tag now names an unsigned image.
	unsigned, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	testimage.Push(t, f.host, "app:1", unsigned)
	for _, tc := range []struct {
		after   time.Duration
		allowed bool
	}{
		{30 * time.Second, true}, // still the digest it resolved to
		{61 * time.Second, false},
	} {
		mu.Lock()
		now = now.Add(tc.after)
		mu.Unlock()
		if _, resp := f.post(t, body, ""); resp.Allowed != tc.allowed {
			t.Fatalf("after %v: allowed %v, want %v: %+v", tc.after, resp.Allowed, tc.allowed, resp.Result)
		}
	}
}

// TestFailurePolicy checks fail-closed (default) and fail-open on an
// unreachable registry, and that the request's timeout is honoured.
func TestFailurePolicy(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(func() {
		hang.CloseClientConnections()
		hang.Close()
	})
	hung := strings.TrimPrefix(hang.URL, "http://") + "/slow@sha256:" + strings.Repeat("1", 64)

	closed := newFixture(t, nil)
	body := review(t, &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(hung)}, admissionv1.Create)
	start := time.Now()
	_, resp := closed.post(t, body, "?timeout=2s")
	if resp.Allowed || !strings.Contains(resp.Result.Message, "deadline exceeded") {
		t.Fatalf("hung registry: allowed %v %+v", resp.Allowed, resp.Result)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("answered after %v, past the request's 2s timeout", d)
	}

	open := newFixture(t, func(c *Config) { c.FailOpen = true })
	_, resp = open.post(t, body, "?timeout=2s")
	if !resp.Allowed || len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "fail-open") {
		t.Fatalf("fail-open: allowed %v warnings %v", resp.Allowed, resp.Warnings)
	}
	// Fail-open never overrides a policy denial.
	_, resp = open.post(t, review(t, &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpecWith(open.unsigned)}, admissionv1.Create), "")
	if resp.Allowed {
		t.Fatal("fail-open allowed a policy denial")
	}
}

// TestDecodeAsAPIServer checks that reviews decode as the API server's
// own decoder (sigs.k8s.io/json) reads the object: field names matched
// case-sensitively, the last of repeated names winning, invalid UTF-8
// replaced.
func TestDecodeAsAPIServer(t *testing.T) {
	const head = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":`
	for _, tc := range []struct{ name, object string }{
		{"plain", `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x","securityContext":{"privileged":true}}]}}`},
		{"case-sensitive", `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x","SecurityContext":{"privileged":true}}]}}`},
		{"repeated name", `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x","image":"y","securityContext":{"privileged":false},"securityContext":{"privileged":true}}]}}`},
		{"invalid UTF-8", "{\"metadata\":{\"name\":\"p\xff\"},\"spec\":{\"containers\":[{\"name\":\"a\xfe\",\"image\":\"x\"}]}}"},
		{"ephemeral", `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"}],"ephemeralContainers":[{"name":"d","image":"y","targetContainerName":"a"}]}}`},
		{"pod resources", `{"metadata":{"name":"p","labels":{"app":"w"}},"spec":{"hostPID":true,"securityContext":{"runAsUser":7},"containers":[{"name":"a","image":"x","resources":{"limits":{"cpu":"0.5","memory":"1Gi"}}}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := decodeReview(strings.NewReader(head + tc.object + "}}"))
			if err != nil {
				t.Fatal(err)
			}
			m, spec, err := podSpec(req)
			if err != nil {
				t.Fatal(err)
			}
			var pod corev1.Pod
			if err := kjson.UnmarshalCaseSensitivePreserveInts([]byte(tc.object), &pod); err != nil {
				t.Fatal(err)
			}
			if m.Name != pod.Name || !reflect.DeepEqual(m.Labels, pod.Labels) {
				t.Errorf("metadata %+v, API server reads %+v", m, pod.ObjectMeta)
			}
			for _, e := range pod.Spec.EphemeralContainers {
				pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container(e.EphemeralContainerCommon))
			}
			want := workload.FromPodSpec("Pod", "", m.Name, pod.Spec, nil)
			got := workload.FromPodSpec("Pod", "", m.Name, *spec, nil)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nAPI server reads\n%+v", got, want)
			}
		})
	}
}

func FuzzDecodeReview(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"x"}]}}}}`))
	f.Add([]byte(`{}`))
	f.Add(replicaSetPod(f, 0, "registry.example/app@sha256:"+strings.Repeat("a", 64)))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeReview(bytes.NewReader(b))
		if err != nil {
			return
		}
		podSpec(req) // must not panic
	})
}
