package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/scan"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/workload"
)

// TestPolicyGate runs the `scan --policy` gate over scan results: a
// critical finding denies unless triage cleared it, and the output names
// the rule and the finding.
func TestPolicyGate(t *testing.T) {
	host := testimage.Registry(t)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := testimage.Push(t, host, "app:1", img)
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("rules:\n  - use: no-critical-or-kev\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	crit := match.Finding{ID: "CVE-2024-0001", Severity: match.SeverityCritical, Component: match.ComponentRef{Name: "openssl"}}
	cleared := crit
	cleared.Verdict = &vex.Verdict{Status: vex.NotAffected, Justification: vex.VulnerableCodeNotInExecutePath, By: "triage/test"}
	for _, tc := range []struct {
		name    string
		finding match.Finding
		denied  bool
	}{
		{"critical finding denies", crit, true},
		{"triaged finding passes", cleared, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runGate(t, pol, ref, &scan.Result{Findings: []match.Finding{tc.finding}})
			if got := errors.Is(err, errPolicy); got != tc.denied {
				t.Fatalf("denied %v (%v), want %v\n%s", got, err, tc.denied, out)
			}
			if tc.denied && !strings.Contains(out, "DENY  no-critical-or-kev: blocking findings: CVE-2024-0001 in openssl") {
				t.Errorf("output does not name the rule and finding:\n%s", out)
			}
		})
	}
}

// TestPolicyGateContext runs the gate with --context files as package
// workload reads them: each container that runs the scanned image is
// judged with its security context, the others are not, and a file that
// names no image has all its containers judged, with a note.
func TestPolicyGateContext(t *testing.T) {
	host := testimage.Registry(t)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.Config.User = "" // runs as root unless the deployment says otherwise
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref := testimage.Push(t, host, "team/app:1", img)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	rules := "rules:\n  - use: non-root\n  - use: not-privileged\n  - use: no-added-capabilities\n  - use: seccomp\n"
	if err := os.WriteFile(pol, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	image := host + "/team/app:1"
	for _, tc := range []struct {
		name, file, content string
		denied              bool
		want, not           []string
	}{
		{"compose service privileged, other service ignored", "compose.yaml",
			"services:\n  api:\n    image: " + image + "\n    privileged: true\n    cap_add: [SYS_ADMIN]\n  db:\n    image: postgres:16\n",
			true, []string{"compose.yaml#services.api, container api:", "DENY  not-privileged", "DENY  no-added-capabilities: container api adds capabilities SYS_ADMIN", "DENY  non-root"},
			[]string{"services.db", "DENY  seccomp"}},
		{"compose service with a named user and Docker's default seccomp", "named.yaml",
			"services:\n  api:\n    image: " + image + "\n    user: app\n",
			false, []string{"named.yaml#services.api, container api:", "allowed"}, []string{"DENY"}},
		{"deployment hardened, its init container runs as root", "deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      initContainers:
        - name: migrate
          image: ` + ref + `
          securityContext: {runAsNonRoot: false, runAsUser: 0}
      containers:
        - name: api
          image: ` + image + `
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        - name: proxy
          image: envoyproxy/envoy:v1.31
          securityContext: {privileged: true}
`, true, []string{"Deployment/prod/api, container migrate:", "DENY  non-root: container migrate runs as root", "Deployment/prod/api, container api:"},
			[]string{"container proxy", "not-privileged"}},
		{"OCI config names no image", "config.json",
			`{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["/app"],"cwd":"/"},"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}`,
			true, []string{"no --context workload names image", "config.json:\n", "DENY  seccomp", "DENY  non-root"}, []string{"config.json, container"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := workload.Load(file(tc.file, tc.content))
			if err != nil {
				t.Fatal(err)
			}
			out, err := runGate(t, pol, ref, &scan.Result{}, ws...)
			if got := errors.Is(err, errPolicy); got != tc.denied || (err != nil && !got) {
				t.Fatalf("denied %v (%v), want %v\n%s", got, err, tc.denied, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("output says %q:\n%s", w, out)
				}
			}
		})
	}
}

// runGate runs `vigil scan --policy pol` on the result res of ref, deployed
// as ws say, and returns what it printed.
func runGate(t *testing.T, pol, ref string, res *scan.Result, ws ...workload.Workload) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetErr(&out)
	cmd.SetContext(t.Context())
	g := policyGate{}
	g.register(cmd.Flags())
	if err := cmd.Flags().Set("policy", pol); err != nil {
		t.Fatal(err)
	}
	err := g.run(cmd, &registryFlags{}, ref, res, ws...)
	return out.String(), err
}
