package policy

import (
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/vigilsec/vigil/workload"
)

func TestImageInput(t *testing.T) {
	now := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	h := v1.Hash{Algorithm: "sha256", Hex: "0123456789012345678901234567890123456789012345678901234567890123"}
	cfg := func(user string, created time.Time) *v1.ConfigFile {
		return &v1.ConfigFile{Created: v1.Time{Time: created}, Config: v1.Config{User: user}}
	}
	for _, tc := range []struct {
		name, ref           string
		cfg                 *v1.ConfigFile
		registry, repo, tag string
		pinned, nonRoot     bool
		age                 int
	}{
		{"docker hub tag", "nginx:1.27", cfg("", now.Add(-48*time.Hour)), "index.docker.io", "library/nginx", "1.27", false, false, 2},
		{"digest", "ghcr.io/acme/api@sha256:" + h.Hex, cfg("10001:10001", now), "ghcr.io", "acme/api", "", true, true, 0},
		{"root by name", "127.0.0.1:5000/x:1", cfg("root", time.Unix(0, 0)), "127.0.0.1:5000", "x", "1", false, false, -1},
		{"uid 0 with group", "r.io/x", cfg("0:1000", now.Add(time.Hour)), "r.io", "x", "latest", false, false, -1},
		{"named user", "r.io/x", cfg("app", now), "r.io", "x", "latest", false, true, 0},
		{"no config", "r.io/x", nil, "r.io", "x", "latest", false, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := ImageInput(tc.ref, h, tc.cfg, now)
			if im.Registry != tc.registry || im.Repository != tc.repo || im.Tag != tc.tag || im.Pinned != tc.pinned ||
				im.Config.NonRoot != tc.nonRoot || im.AgeDays != tc.age || im.Digest != h.String() {
				t.Errorf("got %+v", im)
			}
		})
	}
}

func TestWorkloadInput(t *testing.T) {
	yes, no := true, false
	uid := int64(1000)
	spec := corev1.PodSpec{
		HostPID: true,
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   &yes,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			SELinuxOptions: &corev1.SELinuxOptions{Type: "container_t"},
		},
		Containers: []corev1.Container{
			{Name: "app", Image: "app:1", SecurityContext: &corev1.SecurityContext{
				RunAsUser: &uid, AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}},
			}, Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}},
			{Name: "side", Image: "side:1", SecurityContext: &corev1.SecurityContext{Privileged: &yes}},
		},
	}
	w := workload.FromPodSpec("Deployment", "prod", "api", spec, nil)
	pw, c := WorkloadInput(&w, 0)
	if pw.Kind != "Deployment" || !pw.HostPID || len(pw.Containers) != 2 {
		t.Fatalf("workload %+v", pw)
	}
	if !c.RunAsNonRoot || c.RunAsUser != 1000 || c.AllowPrivilegeEscalation || !c.ReadOnlyRootFilesystem ||
		c.SeccompProfile != "RuntimeDefault" || c.SELinuxType != "container_t" || c.Limits["cpu"] != "500m" ||
		len(c.CapabilitiesAdd) != 1 || c.CapabilitiesAdd[0] != "NET_ADMIN" {
		t.Errorf("app container %+v", c)
	}
	side := pw.Containers[1]
	if !side.Privileged || !side.AllowPrivilegeEscalation || side.RunAsUser != -1 || side.ReadOnlyRootFilesystem {
		t.Errorf("side container %+v", side)
	}
	if _, c := WorkloadInput(&w, 5); c.Name != "" {
		t.Errorf("out of range container %+v", c)
	}
}

// TestWorkloadInputDefaults checks that what a file leaves unset reads as
// what its runtime does: Docker's default profiles for Compose, nothing for
// an OCI config, and a user named in the file replaces the image's.
func TestWorkloadInputDefaults(t *testing.T) {
	uid := int64(1000)
	for _, tc := range []struct {
		name              string
		format            string
		c                 workload.Container
		seccomp, apparmor string
		runAsUser         int64
		runAsNonRoot      bool
	}{
		{"compose unset", workload.FormatCompose, workload.Container{}, "RuntimeDefault", "RuntimeDefault", -1, false},
		{"compose unconfined", workload.FormatCompose, workload.Container{Seccomp: workload.ProfileUnconfined}, "Unconfined", "RuntimeDefault", -1, false},
		{"compose named user", workload.FormatCompose, workload.Container{User: "app"}, "RuntimeDefault", "RuntimeDefault", -1, true},
		{"compose root by name", workload.FormatCompose, workload.Container{User: "root"}, "RuntimeDefault", "RuntimeDefault", 0, false},
		{"compose uid", workload.FormatCompose, workload.Container{User: "1000", RunAsUser: &uid}, "RuntimeDefault", "RuntimeDefault", 1000, false},
		{"oci unset", workload.FormatOCI, workload.Container{}, "", "", -1, false},
		{"kubernetes unset", workload.FormatKubernetes, workload.Container{}, "", "", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := WorkloadInput(&workload.Workload{Format: tc.format, Containers: []workload.Container{tc.c}}, 0)
			if c.SeccompProfile != tc.seccomp || c.AppArmorProfile != tc.apparmor || c.RunAsUser != tc.runAsUser || c.RunAsNonRoot != tc.runAsNonRoot {
				t.Errorf("got %+v", c)
			}
		})
	}
}
