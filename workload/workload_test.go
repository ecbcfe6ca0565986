package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigilsec/vigil/internal/testimage"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files from the current output")

// golden compares v, as indented JSON, with testdata/golden/name.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to refresh, then review the diff):\n%s", p, got)
	}
}

type loaded struct {
	Workloads []Workload `json:"workloads"`
	Warnings  []string   `json:"warnings,omitempty"`
}

func load(t *testing.T, path string) loaded {
	t.Helper()
	var l loaded
	ws, err := LoadWarn(path, func(err error) { l.Warnings = append(l.Warnings, err.Error()) })
	if err != nil {
		t.Fatal(err)
	}
	l.Workloads = ws
	return l
}

func find(t *testing.T, ws []Workload, name string) *Workload {
	t.Helper()
	for i := range ws {
		if ws[i].Name == name {
			return &ws[i]
		}
	}
	t.Fatalf("no workload %q", name)
	return nil
}

func container(t *testing.T, w *Workload, name string) *Container {
	t.Helper()
	for i := range w.Containers {
		if w.Containers[i].Name == name {
			return &w.Containers[i]
		}
	}
	t.Fatalf("%s: no container %q", w.Source, name)
	return nil
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestLoad checks the facts each test file is about, then the whole
// result against its golden file.
func TestLoad(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, l loaded)
	}{
		{"compose-isolated.yaml", func(t *testing.T, l loaded) {
			w := find(t, l.Workloads, "worker")
			c := container(t, w, "worker")
			if w.Network != NetworkNone || w.HostNetwork {
				t.Errorf("network_mode none: Network %q HostNetwork %v", w.Network, w.HostNetwork)
			}
			if w.Source != "testdata/compose-isolated.yaml#services.worker" || w.Namespace != "shop" {
				t.Errorf("Source %q Namespace %q", w.Source, w.Namespace)
			}
			if deref(c.AllowPrivilegeEscalation) != false || deref(c.RunAsUser) != int64(10001) || deref(c.ReadOnlyRootFilesystem) != true {
				t.Errorf("no-new-privileges, user or read_only lost: %+v", c)
			}
			if c.Seccomp != "Localhost:./seccomp/worker.json" || c.AppArmor != ProfileRuntimeDefault {
				t.Errorf("Seccomp %q AppArmor %q", c.Seccomp, c.AppArmor)
			}
			if c.Resources != (Resources{CPULimit: "0.50", MemoryLimit: "256M", MemoryRequest: "128M"}) {
				t.Errorf("Resources %+v", c.Resources)
			}
			if !slices.Equal(c.Env, []string{"API_TOKEN", "QUEUE_URL"}) {
				t.Errorf("Env %q: want names only", c.Env)
			}
			if len(w.Volumes) != 0 {
				t.Errorf("tmpfs taken for a host volume: %+v", w.Volumes)
			}
		}},
		{"compose-web.yaml", func(t *testing.T, l loaded) {
			web := find(t, l.Workloads, "web")
			c := container(t, web, "web")
			if web.Network != "" || web.HostNetwork || !web.HostPID {
				t.Errorf("web: Network %q HostNetwork %v HostPID %v", web.Network, web.HostNetwork, web.HostPID)
			}
			if deref(c.Privileged) != true || !slices.Equal(c.CapAdd, []string{"NET_ADMIN", "SYS_TIME"}) || c.Seccomp != ProfileUnconfined || c.SELinux != "type:container_runtime_t,level:s0:c100,c200" {
				t.Errorf("web security settings: %+v", c)
			}
			wantPorts := []Port{
				{Port: 80, Protocol: "tcp", HostPort: "80"},
				{Port: 22, Protocol: "tcp", HostPort: "2222", HostIP: "127.0.0.1"},
				{Port: 53, Protocol: "udp", HostPort: "5353", HostIP: "::1"},
				{Port: 9000, EndPort: 9005, Protocol: "tcp"},
				{Port: 2375, Protocol: "tcp", HostPort: "2375", HostIP: "0.0.0.0"},
			}
			for i := range c.Ports {
				c.Ports[i].Field = ""
			}
			if !slices.Equal(c.Ports, wantPorts) {
				t.Errorf("ports:\ngot  %+v\nwant %+v", c.Ports, wantPorts)
			}
			var hosts []string
			for _, v := range web.Volumes {
				hosts = append(hosts, v.HostPath)
			}
			if !slices.Equal(hosts, []string{"/var/run/docker.sock", "./html", "/etc"}) {
				t.Errorf("bind mounts %q; the named volume cache is not a host path", hosts)
			}
			if c.Resources.MemoryLimit != "512m" || web.Field(0, AttrMemoryLimit) != "services.web.mem_limit" {
				t.Errorf("mem_limit: %q at %q", c.Resources.MemoryLimit, web.Field(0, AttrMemoryLimit))
			}
			if len(web.Notes) != 1 || !strings.Contains(web.Notes[0], "security_opt[3]") {
				t.Errorf("an option the model does not know should be a note naming it: %q", web.Notes)
			}
			db := find(t, l.Workloads, "db")
			if db.Network != NetworkHost || !db.HostNetwork || !db.HostIPC {
				t.Errorf("db: Network %q HostNetwork %v HostIPC %v", db.Network, db.HostNetwork, db.HostIPC)
			}
		}},
		{"deployment.yaml", func(t *testing.T, l loaded) {
			if len(l.Workloads) != 1 || len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], `"Service"`) {
				t.Fatalf("want the Deployment and a warning about the Service: %d workloads, warnings %q", len(l.Workloads), l.Warnings)
			}
			w := &l.Workloads[0]
			if w.Source != "testdata/deployment.yaml#Deployment/default/web" {
				t.Errorf("Source %q", w.Source)
			}
			web, mig, side := container(t, w, "web"), container(t, w, "migrate"), container(t, w, "sidecar")
			// The container's runAsUser wins; the pod's fills the rest.
			if deref(web.RunAsUser) != int64(2000) || deref(web.RunAsGroup) != int64(3000) || deref(web.RunAsNonRoot) != true {
				t.Errorf("web user: %v %v %v", deref(web.RunAsUser), deref(web.RunAsGroup), deref(web.RunAsNonRoot))
			}
			// Init containers come first: web is Containers[1].
			if got := w.Field(1, AttrUser); got != "spec.template.spec.containers[0].securityContext.runAsUser" {
				t.Errorf("web runAsUser field %q", got)
			}
			if !mig.Init || deref(mig.RunAsUser) != int64(1000) || w.Field(0, AttrUser) != "spec.template.spec.securityContext.runAsUser" {
				t.Errorf("migrate: Init %v user %v field %q", mig.Init, deref(mig.RunAsUser), w.Field(0, AttrUser))
			}
			if web.Seccomp != "Localhost:profiles/web.json" || mig.Seccomp != ProfileRuntimeDefault || web.AppArmor != ProfileRuntimeDefault {
				t.Errorf("seccomp web %q migrate %q apparmor web %q", web.Seccomp, mig.Seccomp, web.AppArmor)
			}
			if side.AppArmor != "Localhost:k8s-sidecar" || mig.AppArmor != "" {
				t.Errorf("AppArmor annotation: sidecar %q migrate %q", side.AppArmor, mig.AppArmor)
			}
			if web.SELinux != "level:s0:c123,c456" || deref(side.Privileged) != true {
				t.Errorf("SELinux %q privileged %v", web.SELinux, deref(side.Privileged))
			}
			if web.Resources != (Resources{CPURequest: "250m", CPULimit: "1", MemoryRequest: "128Mi", MemoryLimit: "256Mi"}) {
				t.Errorf("Resources %+v", web.Resources)
			}
			if !slices.Equal(web.CapDrop, []string{"ALL"}) || !slices.Equal(web.Env, []string{"DATABASE_PASSWORD"}) {
				t.Errorf("CapDrop %q Env %q", web.CapDrop, web.Env)
			}
		}},
		{"cronjob.yaml", func(t *testing.T, l loaded) {
			w := find(t, l.Workloads, "backup")
			if w.Kind != "CronJob" || w.Namespace != "ops" || w.Path != "spec.jobTemplate.spec.template.spec" {
				t.Errorf("Kind %q Namespace %q Path %q", w.Kind, w.Namespace, w.Path)
			}
			if got := w.Field(0, AttrCapAdd); got != "spec.jobTemplate.spec.template.spec.containers[0].securityContext.capabilities.add" {
				t.Errorf("cap_add field %q", got)
			}
			c := container(t, w, "backup")
			if len(w.Volumes) != 0 || len(c.Mounts) != 1 || c.Mounts[0].Type != "persistentVolumeClaim" {
				t.Errorf("a PVC is not a host path: Volumes %+v Mounts %+v", w.Volumes, c.Mounts)
			}
		}},
		{"pod-hostnetwork.yaml", func(t *testing.T, l loaded) {
			w := find(t, l.Workloads, "node-agent")
			if !w.HostNetwork || w.Network != NetworkHost || !w.HostPID || w.HostIPC {
				t.Errorf("namespaces: %+v", w)
			}
			want := []Volume{
				{Name: "root", HostPath: "/", ReadOnly: true, Field: "spec.volumes[0].hostPath.path"},
				{Name: "docker", HostPath: "/var/run/docker.sock", Field: "spec.volumes[1].hostPath.path"},
			}
			if !slices.Equal(w.Volumes, want) {
				t.Errorf("Volumes\ngot  %+v\nwant %+v", w.Volumes, want)
			}
			if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], "items[1]") {
				t.Errorf("the ConfigMap in the List should be skipped with a warning naming it: %q", l.Warnings)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			l := load(t, filepath.Join("testdata", tt.file))
			tt.check(t, l)
			golden(t, strings.TrimSuffix(tt.file, ".yaml")+".json", l)
		})
	}
}

// runcSpec writes the config.json `runc spec` generates (rootless when
// asked) to a temporary directory, after edit changes it.
func runcSpec(t *testing.T, rootless bool, edit func(*specs.Spec)) string {
	t.Helper()
	testimage.Require(t, "runc")
	dir := t.TempDir()
	args := []string{"spec"}
	if rootless {
		args = append(args, "--rootless")
	}
	cmd := exec.Command("runc", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runc %v: %v\n%s", args, err, out)
	}
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	if b, err = json.Marshal(&s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func setNetNS(path string, keep bool) func(*specs.Spec) {
	return func(s *specs.Spec) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(ns specs.LinuxNamespace) bool {
			return ns.Type == specs.NetworkNamespace
		})
		if keep {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: path})
		}
	}
}

func TestLoadOCI(t *testing.T) {
	tests := []struct {
		name        string
		rootless    bool
		edit        func(*specs.Spec)
		network     string
		hostNetwork bool
	}{
		// runc spec makes a network namespace and configures nothing in it.
		{"runc-default", false, func(*specs.Spec) {}, NetworkNone, false},
		// runc spec --rootless leaves out the network namespace: a rootless
		// container without slirp shares the host network.
		{"runc-rootless", true, func(*specs.Spec) {}, NetworkHost, true},
		{"runc-netns-path", false, setNetNS("/var/run/netns/cni-1234", true), "", false},
		{"runc-host-network", false, setNetNS("", false), NetworkHost, true},
		{"runc-hardened", false, func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000}
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_NET_ADMIN", "CAP_KILL"}}
			s.Process.ApparmorProfile = "vigil-test"
			s.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}}}
			limit, quota, period := int64(64<<20), int64(50000), uint64(100000)
			s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
			s.Linux.Resources.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "ro"}})
		}, NetworkNone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := Load(runcSpec(t, tt.rootless, tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != 1 || len(ws[0].Containers) != 1 {
				t.Fatalf("want one workload with one container, got %+v", ws)
			}
			w := ws[0]
			if w.Network != tt.network || w.HostNetwork != tt.hostNetwork {
				t.Errorf("Network %q HostNetwork %v, want %q %v", w.Network, w.HostNetwork, tt.network, tt.hostNetwork)
			}
			if w.HostPID || w.HostIPC {
				t.Errorf("runc spec has pid and ipc namespaces: HostPID %v HostIPC %v", w.HostPID, w.HostIPC)
			}
			if w.UserNamespace != tt.rootless {
				t.Errorf("UserNamespace %v: only runc spec --rootless makes a user namespace", w.UserNamespace)
			}
			// The temporary directory differs on every run.
			if !strings.HasSuffix(w.Source, "/config.json") {
				t.Errorf("Source %q does not name the file", w.Source)
			}
			w.Source = "config.json"
			golden(t, tt.name+".json", w)
		})
	}
	t.Run("facts", func(t *testing.T) {
		ws, err := Load(runcSpec(t, false, tests[len(tests)-1].edit))
		if err != nil {
			t.Fatal(err)
		}
		c := ws[0].Containers[0]
		if deref(c.RunAsUser) != int64(1000) || c.User != "1000:1000" {
			t.Errorf("user %q %v", c.User, deref(c.RunAsUser))
		}
		if !slices.Equal(c.CapAdd, []string{"NET_ADMIN"}) || !slices.Contains(c.CapDrop, "CHOWN") || slices.Contains(c.CapDrop, "KILL") {
			t.Errorf("capabilities against Docker's defaults: add %q drop %q", c.CapAdd, c.CapDrop)
		}
		if c.Seccomp != "Localhost:linux.seccomp" || c.AppArmor != "Localhost:vigil-test" || c.SELinux == "" {
			t.Errorf("profiles: %q %q %q", c.Seccomp, c.AppArmor, c.SELinux)
		}
		if c.Resources.MemoryLimit != "67108864" || c.Resources.CPULimit != "0.5" {
			t.Errorf("resources %+v", c.Resources)
		}
		if deref(c.ReadOnlyRootFilesystem) != true || deref(c.AllowPrivilegeEscalation) != false {
			t.Errorf("runc spec sets root.readonly and noNewPrivileges: %v %v", deref(c.ReadOnlyRootFilesystem), deref(c.AllowPrivilegeEscalation))
		}
		if v := ws[0].Volumes; len(v) != 1 || v[0].HostPath != "/srv/data" || !v[0].ReadOnly {
			t.Errorf("bind mount: %+v; proc, tmpfs and the like are not host paths", v)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // all must appear in the error
	}{
		{"bad-type.yaml", "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    securityContext: {privileged: \"yes\"}\n",
			[]string{"bad-type.yaml", "document 1", "(Pod)", "privileged"}},
		{"no-kind.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nmetadata: {name: q}\n", []string{"no-kind.yaml", "document 1", "no kind"}},
		{"bad-port.yaml", "services:\n  web:\n    ports: [\"80:80:80:80\"]\n", []string{"bad-port.yaml", "services.web", "ports[0]", "too many colons"}},
		{"bad-range.yaml", "services:\n  web:\n    ports: [\"90-80\"]\n", []string{"ports[0]", "LOW-HIGH"}},
		{"bad-opt.yaml", "services:\n  web:\n    security_opt: [\"no-new-privileges=maybe\"]\n", []string{"services.web", "security_opt[0]", "maybe"}},
		// Each alias expands to ten of the previous: 10^9 strings if decoded naively.
		{"laughs.yaml", "services:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n", []string{"laughs.yaml", "alias"}},
		{"bad-privileged.yaml", "services:\n  web:\n    privileged: maybe\n", []string{"bad-privileged.yaml", "privileged"}},
		{"config.json", `{"ociVersion": "1.0.2", "process": {"user": {"uid": "root"}}}`, []string{"config.json", "oci config", "uid"}},
		{"other.yaml", "hello: world\n", []string{"other.yaml", "not a Compose file"}},
		{"list.yaml", "- a\n- b\n", []string{"list.yaml", "not a mapping"}},
		{"comments.yaml", "# nothing\n", []string{"comments.yaml", "no YAML document"}},
		{"blank.yaml", "\n  \n", []string{"blank.yaml", "empty file"}},
		{"syntax.yaml", "services:\n  web: [\n", []string{"syntax.yaml", "document 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tt.name)
			if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("too-large", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "big.yaml")
		if err := os.WriteFile(p, bytes.Repeat([]byte("#"), MaxFileSize+1), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want ErrNotExist", err)
		}
	})
}

// TestKubeCaseSensitive: the API server ignores "hostnetwork"; so must Vigil,
// or a manifest could hide hostNetwork: true from it with a second,
// differently cased key (which sorts after it in the JSON the YAML becomes).
func TestKubeCaseSensitive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pod.yaml")
	body := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  hostnetwork: false\n  containers: [{name: c}]\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !ws[0].HostNetwork {
		t.Error("hostnetwork: false overrode hostNetwork: true")
	}
}

func TestFromImageConfig(t *testing.T) {
	cfg := &v1.ConfigFile{Config: v1.Config{
		User:         "1001:0",
		Env:          []string{"PATH=/usr/bin", "PASSWORD=hunter2"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}, "22": {}, "bogus/tcp": {}},
	}}
	w := FromImageConfig(cfg)
	c := w.Containers[0]
	if deref(c.RunAsUser) != int64(1001) || deref(c.RunAsGroup) != int64(0) || w.Field(0, AttrUser) != "config.User" {
		t.Errorf("user %v:%v at %q", deref(c.RunAsUser), deref(c.RunAsGroup), w.Field(0, AttrUser))
	}
	want := []Port{
		{Port: 22, Protocol: "tcp", Field: "config.ExposedPorts[22]"},
		{Port: 53, Protocol: "udp", Field: "config.ExposedPorts[53/udp]"},
		{Port: 8080, Protocol: "tcp", Field: "config.ExposedPorts[8080/tcp]"},
	}
	if !slices.Equal(c.Ports, want) {
		t.Errorf("ports\ngot  %+v\nwant %+v", c.Ports, want)
	}
	if !slices.Equal(c.Env, []string{"PATH", "PASSWORD"}) {
		t.Errorf("Env %q", c.Env)
	}
	if len(w.Notes) != 2 || w.Notes[0] != NoteImageDefaults || !strings.Contains(w.Notes[1], "bogus") {
		t.Errorf("Notes %q", w.Notes)
	}
	if w := FromImageConfig(nil); len(w.Containers) != 1 || w.Containers[0].User != "" {
		t.Errorf("nil config: %+v", w)
	}
}

// TestFromPodSpec checks that admission (a decoded PodSpec) and Load of the
// same object agree.
func TestFromPodSpec(t *testing.T) {
	ws, err := Load(filepath.Join("testdata", "pod-hostnetwork.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec := corev1.PodSpec{
		HostNetwork: true,
		HostPID:     true,
		Containers: []corev1.Container{{
			Name: "agent", Image: "quay.io/example/agent:0.9",
			Ports: []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9100}},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "root", MountPath: "/host", ReadOnly: true},
				{Name: "docker", MountPath: "/var/run/docker.sock"},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
			{Name: "docker", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock", Type: new(corev1.HostPathSocket)}}},
		},
	}
	got := FromPodSpec("Pod", "kube-system", "node-agent", spec, nil)
	want := ws[0]
	if got.UserNamespace {
		t.Error("hostUsers unset means the host's users, not a user namespace")
	}
	spec.HostUsers = new(false)
	if !FromPodSpec("Pod", "", "p", spec, nil).UserNamespace {
		t.Error("hostUsers: false is a user namespace")
	}
	spec.HostUsers = nil
	want.Source = strings.TrimPrefix(want.Source, "testdata/pod-hostnetwork.yaml#")
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("FromPodSpec\n%s\nLoad\n%s", g, w)
	}
}

// fuzzSeeds adds the test files whose names match glob, and extra.
func fuzzSeeds(f *testing.F, glob string, extra ...string) {
	files, _ := filepath.Glob(filepath.Join("testdata", glob))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, e := range extra {
		f.Add([]byte(e))
	}
}

// fuzzParser runs one format's parser on every document of data, as parse
// would after detection, and checks what it returns is usable.
func fuzzParser(t *testing.T, data []byte, p func(docs []document) ([]Workload, error)) {
	if len(data) > MaxFileSize {
		return
	}
	docs, err := documents(data)
	if err != nil {
		return
	}
	ws, err := p(docs)
	if err != nil && ws != nil {
		t.Errorf("workloads returned with error %v", err)
	}
	for i := range ws {
		for c := range ws[i].Containers {
			for _, a := range []Attr{AttrUser, AttrPrivileged, AttrSeccomp, AttrHostNetwork, AttrPorts} {
				ws[i].Field(c, a)
			}
		}
	}
}

func FuzzCompose(f *testing.F) {
	fuzzSeeds(f, "compose-*.yaml", "services:\n  a:\n    ports: [\"[::1]:1-2:3-4/udp\", 80]\n    volumes: [\"/a:/b:ro,z\", {type: bind, source: /, target: /h}]\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParser(t, data, func(docs []document) ([]Workload, error) { return parseCompose("fuzz.yaml", docs[0].json) })
	})
}

func FuzzKube(f *testing.F) {
	fuzzSeeds(f, "*.yaml", "kind: List\nitems: [{kind: Pod, spec: {containers: [{name: a}]}}]\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParser(t, data, func(docs []document) ([]Workload, error) { return parseKube("fuzz.yaml", docs, func(error) {}) })
	})
}

func FuzzOCI(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.2","linux":{"namespaces":[{"type":"network","path":"/x"}]}}`))
	if _, err := exec.LookPath("runc"); err == nil {
		for _, args := range [][]string{{"spec"}, {"spec", "--rootless"}} {
			dir := f.TempDir()
			cmd := exec.Command("runc", args...)
			cmd.Dir = dir
			if cmd.Run() == nil {
				if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzParser(t, data, func(docs []document) ([]Workload, error) {
			w, err := parseOCI("config.json", docs[0].json)
			if err != nil {
				return nil, err
			}
			return []Workload{w}, nil
		})
	})
}

func TestRepository(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"", ""},
		{"app", "app"},
		{"app:1", "app"},
		{"registry.example:5000/team/app:1.2", "app"},
		{"registry.example:5000/team/app", "app"},
		{"team/app@sha256:0123", "app"},
		{"team/app:1@sha256:0123", "app"},
	}
	for _, tt := range tests {
		if got := Repository(tt.ref); got != tt.want {
			t.Errorf("Repository(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}
