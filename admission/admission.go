// Package admission is Vigil's Kubernetes validating admission webhook. It
// answers AdmissionReview v1 requests for Pods and pod controllers
// (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs) by
// evaluating the same policy as the CI gate once per container image:
// tags are resolved to digests, signatures verified with the trusted keys,
// and what was learnt about a digest is cached, so a decision for a known
// image costs one policy evaluation.
//
// It fails closed: anything that stops a decision being made (a malformed
// review, an unknown kind, an unreachable registry, the request's timeout)
// denies with the reason. Config.FailOpen turns errors (never policy
// denials) into allowed-with-a-warning for clusters that prefer
// availability.
package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	// CacheSize bounds the number of cached digests; default 4096.
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
	// called concurrently.
	Record func(*policy.Input, *policy.Decision)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Handler is the webhook's http.Handler.
type Handler struct {
	cfg    Config
	images *imageCache
}

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
	return &Handler{cfg: cfg, images: newImageCache(cfg)}, nil
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

	review, err := decodeReview(r.Body)
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
	resp := h.Review(ctx, review.Request)
	writeReview(w, http.StatusOK, resp)
}

func decodeReview(body io.Reader) (*admissionv1.AdmissionReview, error) {
	lr := &io.LimitedReader{R: body, N: maxReviewBytes + 1}
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(lr).Decode(&review); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("admission review larger than %d bytes", maxReviewBytes)
		}
		return nil, fmt.Errorf("decode admission review: %w", err)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("decode admission review: got %s %s, want admission.k8s.io/v1 AdmissionReview", review.APIVersion, review.Kind)
	}
	if review.Request == nil {
		return nil, errors.New("decode admission review: no request")
	}
	if review.Request.UID == "" {
		return nil, errors.New("decode admission review: request has no uid")
	}
	return &review, nil
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

// Review decides one admission request.
func (h *Handler) Review(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
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
	var denials, errs []string
	for i := range wl.Containers {
		c := &wl.Containers[i]
		d, err := h.evaluate(ctx, &wl, i, meta)
		if err != nil {
			errs = append(errs, fmt.Sprintf("container %s (%s): %v", c.Name, c.Image, err))
			continue
		}
		for _, r := range d.Denied {
			denials = append(denials, fmt.Sprintf("container %s (%s): %s: %s", c.Name, c.Image, r.Rule, r.Message))
		}
		for _, r := range d.Warned {
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

func (h *Handler) evaluate(ctx context.Context, wl *workload.Workload, i int, meta *metav1.ObjectMeta) (*policy.Decision, error) {
	c := &wl.Containers[i]
	facts, err := h.images.get(ctx, c.Image)
	if err != nil {
		return nil, err
	}
	in := &policy.Input{
		Image:      policy.ImageInput(c.Image, facts.digest, facts.config, h.cfg.Now()),
		Signatures: facts.signatures,
		Provenance: facts.provenance,
	}
	in.Workload, in.Container = policy.WorkloadInput(wl, i)
	in.Workload.Labels, in.Workload.Annotations = meta.Labels, meta.Annotations
	d := h.cfg.Policy.Evaluate(ctx, in)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if h.cfg.Record != nil {
		h.cfg.Record(in, d)
	}
	return d, nil
}

// podSpec finds the pod template in the request's object.
func podSpec(req *admissionv1.AdmissionRequest) (*metav1.ObjectMeta, *corev1.PodSpec, error) {
	raw := req.Object.Raw
	if len(raw) == 0 {
		return nil, nil, errors.New("request has no object")
	}
	gvk := req.Kind
	decode := func(v any) error {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("decode %s: %w", gvk.Kind, err)
		}
		return nil
	}
	if gvk.Group == "" && gvk.Kind == "Pod" {
		var o corev1.Pod
		if err := decode(&o); err != nil {
			return nil, nil, err
		}
		// Ephemeral containers run images too; judge them like init
		// containers rather than let `kubectl debug` bypass policy.
		for _, e := range o.Spec.EphemeralContainers {
			o.Spec.InitContainers = append(o.Spec.InitContainers, corev1.Container(e.EphemeralContainerCommon))
		}
		return &o.ObjectMeta, &o.Spec, nil
	}
	if get, ok := controllers[gvk.Group+"/"+gvk.Kind]; ok {
		return get(decode)
	}
	return nil, nil, fmt.Errorf("unsupported kind %s/%s %s", gvk.Group, gvk.Version, gvk.Kind)
}

// controllers finds the pod template in each pod controller the webhook
// is sent, keyed by "group/Kind".
var controllers = map[string]func(func(any) error) (*metav1.ObjectMeta, *corev1.PodSpec, error){
	"apps/Deployment": template(func(o *appsv1.Deployment) (*metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return &o.ObjectMeta, &o.Spec.Template
	}),
	"apps/StatefulSet": template(func(o *appsv1.StatefulSet) (*metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return &o.ObjectMeta, &o.Spec.Template
	}),
	"apps/DaemonSet": template(func(o *appsv1.DaemonSet) (*metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return &o.ObjectMeta, &o.Spec.Template
	}),
	"apps/ReplicaSet": template(func(o *appsv1.ReplicaSet) (*metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return &o.ObjectMeta, &o.Spec.Template
	}),
	"batch/Job": template(func(o *batchv1.Job) (*metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return &o.ObjectMeta, &o.Spec.Template
	}),
	"batch/CronJob": template(func(o *batchv1.CronJob) (*metav1.ObjectMeta, *corev1.PodTemplateSpec) {
		return &o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template
	}),
}

func template[T any](get func(*T) (*metav1.ObjectMeta, *corev1.PodTemplateSpec)) func(func(any) error) (*metav1.ObjectMeta, *corev1.PodSpec, error) {
	return func(decode func(any) error) (*metav1.ObjectMeta, *corev1.PodSpec, error) {
		var o T
		if err := decode(&o); err != nil {
			return nil, nil, err
		}
		meta, tpl := get(&o)
		// Annotations on the template (AppArmor, seccomp in older
		// clusters) are the pod's; the controller's own carry no security
		// settings.
		m := *meta
		m.Annotations = tpl.Annotations
		if len(tpl.Labels) > 0 {
			m.Labels = tpl.Labels
		}
		return &m, &tpl.Spec, nil
	}
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
