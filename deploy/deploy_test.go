package deploy

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/admission"
	"github.com/vigilsec/vigil/policy"
)

func TestManifests(t *testing.T) {
	b, err := os.ReadFile("vigil-admission.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		out, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		docs[m["kind"].(string)] = out
	}
	for _, k := range []string{"Namespace", "Deployment", "Service", "ValidatingWebhookConfiguration", "ConfigMap"} {
		if docs[k] == nil {
			t.Fatalf("no %s in vigil-admission.yaml", k)
		}
	}

	var vwc admissionregv1.ValidatingWebhookConfiguration
	if err := sigyaml.UnmarshalStrict(docs["ValidatingWebhookConfiguration"], &vwc); err != nil {
		t.Fatal(err)
	}
	wh := vwc.Webhooks[0]
	if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregv1.Fail {
		t.Error("the webhook must fail closed")
	}
	if wh.ClientConfig.Service == nil || *wh.ClientConfig.Service.Path != admission.ValidatePath {
		t.Errorf("webhook path is not %s", admission.ValidatePath)
	}
	var resources []string
	for _, r := range wh.Rules {
		resources = append(resources, r.Resources...)
	}
	for _, r := range []string{"pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"} {
		if !slices.Contains(resources, r) {
			t.Errorf("webhook does not send %s", r)
		}
	}

	var dep appsv1.Deployment
	if err := sigyaml.UnmarshalStrict(docs["Deployment"], &dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe.HTTPGet.Path != admission.HealthPath {
		t.Errorf("readiness probe path %s", c.ReadinessProbe.HTTPGet.Path)
	}
	if c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("the webhook should itself pass the read-only-root-filesystem rule")
	}
}

// TestShippedPolicyCompiles keeps the ConfigMap's policy valid.
func TestShippedPolicyCompiles(t *testing.T) {
	b, err := os.ReadFile("vigil-admission.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var m struct {
			Kind     string                `yaml:"kind"`
			Metadata struct{ Name string } `yaml:"metadata"`
			Data     map[string]string     `yaml:"data"`
		}
		if err := dec.Decode(&m); err != nil {
			break
		}
		if m.Kind == "ConfigMap" && m.Metadata.Name == "vigil-policy" {
			if _, err := policy.Parse("vigil-policy/policy.yaml", []byte(m.Data["policy.yaml"])); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no vigil-policy ConfigMap")
}
