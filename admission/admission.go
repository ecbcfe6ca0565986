// Package admission is Vigil's Kubernetes validating admission webhook. It
// answers AdmissionReview v1 requests for Pods and pod controllers
// (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs) by
// evaluating the same policy as the CI gate once per container image:
// tags are resolved to digests, signatures verified with the trusted keys,
// and what was learnt about a digest is cached, so a decision for a known
// image costs one policy evaluation, and none when a pod of the same
// template was judged before (decisions are cached by what the policy's
// rules read of their input).
//
// It fails closed: anything that stops a decision being made (a malformed
// review, an unknown kind, an unreachable registry, the request's timeout)
// denies with the reason. Config.FailOpen turns errors (never policy
// denials) into allowed-with-a-warning for clusters that prefer
// availability.
package admission

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vigilsec/vigil/policy"
	"github.com/vigilsec/vigil/trust"
	"github.com/vigilsec/vigil/workload"
)

// maxReviewBytes bounds a request body: the API server caps objects at
// 3 MiB, and a review carries the object (twice for updates).
const maxReviewBytes = 7 << 20

// defaultTimeout applies when the API server sends no ?timeout= (it sends
// the webhook's timeoutSeconds; 10s is Kubernetes' default).
const defaultTimeout = 10 * time.Second

// maxTimeout is Kubernetes' ceiling on timeoutSeconds; a larger ?timeout=
// is not from an API server and must not hold a connection open.
const maxTimeout = 30 * time.Second

// timeoutMargin is kept back from the API server's timeout so that our
// denial, with its reason, arrives before the API server gives up on us.
const timeoutMargin = 500 * time.Millisecond

// Config configures a Handler.
type Config struct {
	Policy *policy.Policy
	// Keys are the trusted signing keys; signatures are not looked up
	// when empty.
	Keys []*trust.PublicKey
	// Keyless, when set, also trusts Sigstore bundles signed by its
	// identity.
	Keyless *trust.Keyless
	// Remote are options for registry access (auth, transport, platform).
	Remote []remote.Option
	// CacheTTL is how long facts about a digest (config, signatures) are
	// kept; a digest's content never changes, but its signatures can.
	// Default 5 minutes.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached digests, and of cached
	// decisions; default 4096.
	CacheSize int
	// TagTTL is how long a tag's resolution to a digest is reused;
	// default 30 seconds, so a re-pushed tag is seen within that time.
	TagTTL time.Duration
	// FailOpen allows, with a warning, when a decision cannot be made.
	// The default (false) denies: an attacker who can break the registry
	// connection must not be able to skip the policy.
	FailOpen bool
	// Record, when set, is given every input evaluated and its decision,
	// so that decisions can be replayed with `vigil policy test`. It is
	// called concurrently, and must not modify the decision: a cached one
	// is shared.
	Record func(*policy.Input, *policy.Decision)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Handler is the webhook's http.Handler.
type Handler struct {
	cfg    Config
	images *imageCache

	// decisions are the policy's decisions by the key of their input
	// (policy.AppendKey): the pods of one template differ only in what
	// the rules do not read (their names), so all but the first of a
	// ReplicaSet's pods skip the policy.
	mu        sync.Mutex
	decisions *lru[decisionKey, *policy.Decision]
}

// decisionKey is the SHA-256 of an input's key, so that the cache's size
// does not depend on how large what the rules read is.
type decisionKey [sha256.Size]byte

// keyBufs recycles the buffers input keys are built in.
var keyBufs = sync.Pool{New: func() any { return new([]byte) }}

// NewHandler returns a handler for cfg.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Policy == nil {
		return nil, errors.New("admission: no policy")
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 5 * time.Minute
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 4096
	}
	if cfg.TagTTL == 0 {
		cfg.TagTTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, images: newImageCache(cfg), decisions: newLRU[decisionKey, *policy.Decision](cfg.CacheSize)}, nil
}

// ServeHTTP answers one AdmissionReview.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "admission reviews are POSTed", http.StatusMethodNotAllowed)
		return
	}
	timeout := defaultTimeout
	if t := r.URL.Query().Get("timeout"); t != "" {
		if d, err := time.ParseDuration(t); err == nil && d > 0 {
			timeout = min(d, maxTimeout)
		}
	}
	if timeout > 2*timeoutMargin {
		timeout -= timeoutMargin
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()

	req, err := decodeReview(r.Body)
	if err != nil {
		// Without a request there is no UID to answer to; the API server
		// treats the error status as a webhook failure, and the shipped
		// failurePolicy (Fail) denies.
		writeReview(w, http.StatusBadRequest, &admissionv1.AdmissionResponse{
			Allowed: false,
			Result:  &metav1.Status{Code: http.StatusBadRequest, Message: "vigil: " + err.Error()},
		})
		return
	}
	writeReview(w, http.StatusOK, h.review(ctx, req))
}

// envelope is the part of an AdmissionReview v1 the webhook reads. Its object
// is decoded in the same pass as the envelope, and only as far as the
// policy input needs: decoding the typed object whole (managed fields,
// status, the controller's own spec, probes, volumes, env) was most of what
// a decision for a cached image cost (BenchmarkCachedReview). What is read
// keeps its k8s.io/api types, which package workload reads.
type envelope struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Request    *request `json:"request"`
}

type request struct {
	UID       types.UID               `json:"uid"`
	Kind      metav1.GroupVersionKind `json:"kind"`
	Namespace string                  `json:"namespace"`
	Operation admissionv1.Operation   `json:"operation"`
	Object    *object                 `json:"object"`
	// objectErr is why Object could not be decoded; the request is still
	// answered, by its UID, as one no decision could be made for.
	objectErr error
}

// object is any kind the webhook judges. Their pod templates sit in
// different places: a Pod's spec is a pod spec, pod controllers have
// spec.template, a CronJob spec.jobTemplate.spec.template. None of the
// controllers' spec fields shares a name with a pod spec field, so one
// struct decodes them all and podSpec picks the place the kind says.
type object struct {
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		podSpecFields
		Template    *podTemplate `json:"template"`
		JobTemplate *struct {
			Spec struct {
				Template *podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
}

type podTemplate struct {
	Metadata objectMeta    `json:"metadata"`
	Spec     podSpecFields `json:"spec"`
}

// podSpecFields are the fields of a corev1.PodSpec that the policy input
// is made from (policy.WorkloadInput): host namespaces and the security
// contexts and resources of the containers. The rest (volumes, probes,
// env, ports) is skipped, not decoded; the API server has validated it.
type podSpecFields struct {
	HostNetwork         bool                       `json:"hostNetwork"`
	HostPID             bool                       `json:"hostPID"`
	HostIPC             bool                       `json:"hostIPC"`
	HostUsers           *bool                      `json:"hostUsers"`
	SecurityContext     *corev1.PodSecurityContext `json:"securityContext"`
	InitContainers      []containerFields          `json:"initContainers"`
	Containers          []containerFields          `json:"containers"`
	EphemeralContainers []containerFields          `json:"ephemeralContainers"`
}

// containerFields are the fields of a corev1.Container (or
// EphemeralContainer) the policy input is made from.
type containerFields struct {
	Name            string                      `json:"name"`
	Image           string                      `json:"image"`
	SecurityContext *corev1.SecurityContext     `json:"securityContext"`
	Resources       corev1.ResourceRequirements `json:"resources"`
}

// podSpec is s as a corev1.PodSpec. A Pod's ephemeral containers run
// images too; they are judged like init containers rather than let
// `kubectl debug` bypass policy. (Pod templates cannot have any.)
func (s *podSpecFields) podSpec(ephemeral bool) *corev1.PodSpec {
	spec := &corev1.PodSpec{
		HostNetwork:     s.HostNetwork,
		HostPID:         s.HostPID,
		HostIPC:         s.HostIPC,
		HostUsers:       s.HostUsers,
		SecurityContext: s.SecurityContext,
		InitContainers:  make([]corev1.Container, 0, len(s.InitContainers)+len(s.EphemeralContainers)),
		Containers:      make([]corev1.Container, 0, len(s.Containers)),
	}
	for _, c := range s.InitContainers {
		spec.InitContainers = append(spec.InitContainers, c.container())
	}
	if ephemeral {
		for _, c := range s.EphemeralContainers {
			spec.InitContainers = append(spec.InitContainers, c.container())
		}
	}
	for _, c := range s.Containers {
		spec.Containers = append(spec.Containers, c.container())
	}
	return spec
}

func (c *containerFields) container() corev1.Container {
	return corev1.Container{Name: c.Name, Image: c.Image, SecurityContext: c.SecurityContext, Resources: c.Resources}
}

// objectMeta is what the policy input carries of an object's metadata.
type objectMeta struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// decodeOptions make encoding/json/v2 (the go-json-experiment module is its
// mirror until Go 1.27) read a review as the API server's own decoder does
// (sigs.k8s.io/json): field names case-sensitively, a repeated name's last
// value winning, invalid UTF-8 replaced rather than refused. v2 is used
// because it decodes and skips in one pass, where encoding/json first
// scans the whole body to validate it and then scans it again to decode;
// with the pod spec trimmed to what the policy reads, those scans were
// most of the cost of decoding (BenchmarkCachedReview).
var decodeOptions = jsonv2.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// bodies recycles request body buffers: every review is read whole
// before it is decoded.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func decodeReview(body io.Reader) (*request, error) {
	buf := bodies.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // a rare huge review is not kept
			buf.Reset()
			bodies.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(body, maxReviewBytes+1)); err != nil {
		return nil, fmt.Errorf("read admission review: %w", err)
	}
	if buf.Len() > maxReviewBytes {
		return nil, fmt.Errorf("admission review larger than %d bytes", maxReviewBytes)
	}
	var rv envelope
	if err := jsonv2.Unmarshal(buf.Bytes(), &rv, decodeOptions); err != nil {
		// A review whose object alone does not decode is still answered,
		// so that the fail-open choice applies to it like to any other
		// failure to decide.
		var env struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Request    *struct {
				UID  types.UID               `json:"uid"`
				Kind metav1.GroupVersionKind `json:"kind"`
			} `json:"request"`
		}
		if jsonv2.Unmarshal(buf.Bytes(), &env, decodeOptions) != nil || env.Request == nil {
			return nil, fmt.Errorf("decode admission review: %w", err)
		}
		rv = envelope{APIVersion: env.APIVersion, Kind: env.Kind, Request: &request{
			UID: env.Request.UID, Kind: env.Request.Kind,
			objectErr: fmt.Errorf("decode %s: %w", env.Request.Kind.Kind, err),
		}}
	}
	if rv.APIVersion != "admission.k8s.io/v1" || rv.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("decode admission review: got %s %s, want admission.k8s.io/v1 AdmissionReview", rv.APIVersion, rv.Kind)
	}
	if rv.Request == nil {
		return nil, errors.New("decode admission review: no request")
	}
	if rv.Request.UID == "" {
		return nil, errors.New("decode admission review: request has no uid")
	}
	return rv.Request, nil
}

func writeReview(w http.ResponseWriter, status int, resp *admissionv1.AdmissionResponse) {
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Response: resp,
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out) // the client went away; nothing to do
}

// maxParallel bounds the containers of one request judged at once: their
// images are looked up concurrently when not cached, and one pod must not
// open more registry connections than this.
const maxParallel = 8

// review decides one admission request.
func (h *Handler) review(ctx context.Context, req *request) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID}
	if req.Operation == admissionv1.Delete || req.Operation == admissionv1.Connect {
		resp.Allowed = true
		return resp
	}
	meta, spec, err := podSpec(req)
	if err != nil {
		return h.failed(resp, err)
	}
	wl := workload.FromPodSpec(req.Kind.Kind, req.Namespace, meta.Name, *spec, meta.Annotations)
	if len(wl.Containers) == 0 {
		// Every real pod has a container; none means the object is not
		// what its kind says, and allowing it would judge nothing.
		return h.failed(resp, fmt.Errorf("%s %s has no containers", req.Kind.Kind, meta.Name))
	}
	pw, _ := policy.WorkloadInput(&wl, -1)
	pw.Labels, pw.Annotations = meta.Labels, meta.Annotations
	type outcome struct {
		d   *policy.Decision
		err error
	}
	outs := make([]outcome, len(wl.Containers))
	eval := func(i int) { outs[i].d, outs[i].err = h.evaluate(ctx, &pw, i) }
	if h.images.allCached(wl.Containers, h.cfg.Now()) {
		// A cached decision is CPU work only: goroutines would add their
		// cost and nothing else.
		for i := range outs {
			eval(i)
		}
	} else {
		// Looking images up is registry round trips; do a pod's at once.
		var g errgroup.Group
		g.SetLimit(maxParallel)
		for i := range outs {
			g.Go(func() error { eval(i); return nil })
		}
		_ = g.Wait() // errors are per container, in outs
	}
	var denials, errs []string
	for i, o := range outs {
		c := &wl.Containers[i]
		if o.err != nil {
			errs = append(errs, fmt.Sprintf("container %s (%s): %v", c.Name, c.Image, o.err))
			continue
		}
		for _, r := range o.d.Denied {
			denials = append(denials, fmt.Sprintf("container %s (%s): %s: %s", c.Name, c.Image, r.Rule, r.Message))
		}
		for _, r := range o.d.Warned {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("vigil: container %s: %s: %s", c.Name, r.Rule, r.Message))
		}
	}
	if len(denials) > 0 {
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: "vigil denied: " + strings.Join(append(denials, errs...), "; "),
		}
		return resp
	}
	if len(errs) > 0 {
		return h.failed(resp, errors.New(strings.Join(errs, "; ")))
	}
	resp.Allowed = true
	return resp
}

// failed answers a request no decision could be made for.
func (h *Handler) failed(resp *admissionv1.AdmissionResponse, err error) *admissionv1.AdmissionResponse {
	if h.cfg.FailOpen {
		resp.Allowed = true
		resp.Warnings = append(resp.Warnings, "vigil: allowed without a decision (fail-open): "+err.Error())
		return resp
	}
	resp.Allowed = false
	resp.Result = &metav1.Status{
		Code:    http.StatusForbidden,
		Reason:  metav1.StatusReasonForbidden,
		Message: "vigil could not decide, denying (fail-closed): " + err.Error(),
	}
	return resp
}

// evaluate judges container i of the workload wl, whose policy form is
// pw (shared by the pod's containers, and only read).
func (h *Handler) evaluate(ctx context.Context, pw *policy.Workload, i int) (*policy.Decision, error) {
	c := &pw.Containers[i]
	facts, image, err := h.images.get(ctx, c.Image, h.cfg.Now())
	if err != nil {
		return nil, err
	}
	in := &policy.Input{
		Image:        image,
		Signatures:   facts.signatures,
		Attestations: facts.attestations,
		Provenance:   facts.provenance,
		Workload:     *pw,
		Container:    *c,
	}
	d, err := h.decide(ctx, in)
	if err != nil {
		return nil, err
	}
	if h.cfg.Record != nil {
		h.cfg.Record(in, d)
	}
	return d, nil
}

// decide returns the policy's decision for in, from the cache when an
// input with the same key was decided before. Nothing but in goes into a
// decision, so a cached one is the decision: an image's age (in days) and
// its verified signatures are part of the input, and when they change so
// does the key. Decisions are kept for CacheTTL all the same, like what
// they were made from. A decision cut short by ctx is not kept.
func (h *Handler) decide(ctx context.Context, in *policy.Input) (*policy.Decision, error) {
	buf := keyBufs.Get().(*[]byte)
	*buf = h.cfg.Policy.AppendKey((*buf)[:0], in)
	key := decisionKey(sha256.Sum256(*buf))
	if cap(*buf) <= 64<<10 { // a rare huge key is not kept
		keyBufs.Put(buf)
	}
	now := h.cfg.Now()
	h.mu.Lock()
	d, ok := h.decisions.get(key, now)
	h.mu.Unlock()
	if ok {
		return d, nil
	}
	d = h.cfg.Policy.Evaluate(ctx, in)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	h.mu.Lock()
	h.decisions.put(key, d, now.Add(h.cfg.CacheTTL))
	h.mu.Unlock()
	return d, nil
}

// podSpec finds the pod template in the request's object, where its kind
// keeps it.
func podSpec(req *request) (*objectMeta, *corev1.PodSpec, error) {
	if req.objectErr != nil {
		return nil, nil, req.objectErr
	}
	o := req.Object
	if o == nil {
		return nil, nil, errors.New("request has no object")
	}
	gvk := req.Kind
	var tpl *podTemplate
	switch gvk.Group + "/" + gvk.Kind {
	case "/Pod":
		return &o.Metadata, o.Spec.podSpec(true), nil
	case "apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "apps/ReplicaSet", "batch/Job":
		tpl = o.Spec.Template
	case "batch/CronJob":
		if o.Spec.JobTemplate != nil {
			tpl = o.Spec.JobTemplate.Spec.Template
		}
	default:
		return nil, nil, fmt.Errorf("unsupported kind %s/%s %s", gvk.Group, gvk.Version, gvk.Kind)
	}
	if tpl == nil {
		return nil, nil, fmt.Errorf("%s %s has no pod template", gvk.Kind, o.Metadata.Name)
	}
	// Annotations on the template (AppArmor, seccomp in older clusters)
	// are the pod's; the controller's own carry no security settings.
	m := objectMeta{Name: o.Metadata.Name, Labels: o.Metadata.Labels, Annotations: tpl.Metadata.Annotations}
	if len(tpl.Metadata.Labels) > 0 {
		m.Labels = tpl.Metadata.Labels
	}
	return &m, tpl.Spec.podSpec(false), nil
}

// parseImage parses a container image reference as the kubelet does:
// Docker Hub and "latest" by default.
func parseImage(ref string) (name.Reference, error) {
	if ref == "" {
		return nil, errors.New("container has no image")
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	return r, nil
}
