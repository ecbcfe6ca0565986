package config_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/hygiene/config"
	"github.com/vigilsec/vigil/hygiene/internal/hygienetest"
	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/workload"
)

// want is an issue a case expects: its rule, severity and field path.
type want struct {
	rule  string
	sev   hygiene.Severity
	field string
}

func (w want) String() string { return fmt.Sprintf("%s %s %s", w.rule, w.sev, w.field) }

func key(is hygiene.Issue) want { return want{is.Rule, is.Severity, is.Field} }

// checkIssues asserts every wanted issue is present and no issue of a
// rule in absent is.
func checkIssues(t *testing.T, issues []hygiene.Issue, wants []want, absent []string) {
	t.Helper()
	got := map[want]bool{}
	for _, is := range issues {
		got[key(is)] = true
		if slices.Contains(absent, is.Rule) {
			t.Errorf("unexpected %s %s at %s: %s", is.Rule, is.Severity, is.Field, is.Message)
		}
		if is.Title == "" || is.Message == "" || is.Remediation == "" {
			t.Errorf("%s lacks a title, message or remediation: %+v", is.Rule, is)
		}
		if !strings.HasPrefix(is.Rule, "vigil/config/") {
			t.Errorf("rule id %q outside vigil/config/", is.Rule)
		}
	}
	for _, w := range wants {
		if !got[w] {
			var have []string
			for _, is := range issues {
				if is.Rule == w.rule {
					have = append(have, key(is).String())
				}
			}
			t.Errorf("missing %v; issues of that rule: %q", w, have)
		}
	}
}

func run(t *testing.T, in *hygiene.Input) []hygiene.Issue {
	t.Helper()
	issues, err := config.New().Run(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return issues
}

// TestWorkloads lints the workload package's test files as Load reads them.
func TestWorkloads(t *testing.T) {
	const dpl = "spec.template.spec.containers"
	tests := []struct {
		file      string
		imageUser string
		wants     []want
		absent    []string
	}{
		{"compose-isolated.yaml", "", nil, []string{
			"vigil/config/root-user", "vigil/config/privileged", "vigil/config/cap-add", "vigil/config/cap-drop-all",
			"vigil/config/seccomp", "vigil/config/apparmor", "vigil/config/privilege-escalation",
			"vigil/config/writable-rootfs", "vigil/config/no-memory-limit", "vigil/config/no-cpu-limit",
			"vigil/config/host-network", "vigil/config/latest-tag", "vigil/config/host-path", "vigil/config/sensitive-mount",
		}},
		{"compose-web.yaml", "", []want{
			{"vigil/config/privileged", hygiene.Critical, "services.web.privileged"},
			{"vigil/config/cap-add", hygiene.High, "services.web.cap_add"},
			{"vigil/config/host-pid", hygiene.High, "services.web.pid"},
			{"vigil/config/host-network", hygiene.High, "services.db.network_mode"},
			{"vigil/config/host-ipc", hygiene.High, "services.db.ipc"},
			{"vigil/config/sensitive-mount", hygiene.Critical, "services.web.volumes[0]"}, // docker.sock
			{"vigil/config/sensitive-mount", hygiene.High, "services.web.volumes[3]"},     // /etc
			{"vigil/config/host-path", hygiene.Low, "services.web.volumes[1]"},            // ./html
			{"vigil/config/latest-tag", hygiene.Medium, "services.web.image"},             // nginx
			{"vigil/config/exposed-port", hygiene.High, "services.web.ports[1]"},          // 22
			{"vigil/config/exposed-port", hygiene.Critical, "services.web.ports[4]"},      // 2375
			{"vigil/config/exposed-port", hygiene.Info, "services.web.ports"},
			{"vigil/config/no-memory-limit", hygiene.Medium, "services.db.deploy.resources.limits.memory"},
			// web sets no user and the image has none; db runs as postgres.
			{"vigil/config/root-user", hygiene.Medium, "services.web.user"},
			{"vigil/config/privilege-escalation", hygiene.Low, "services.db.security_opt"},
		}, []string{"vigil/config/selinux"}},
		{"deployment.yaml", "", []want{
			{"vigil/config/privileged", hygiene.Critical, dpl + "[1].securityContext.privileged"},
			{"vigil/config/latest-tag", hygiene.Medium, dpl + "[1].image"},
			{"vigil/config/writable-rootfs", hygiene.Low, "spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem"},
			{"vigil/config/no-memory-limit", hygiene.Medium, dpl + "[1].resources.limits.memory"},
			{"vigil/config/exposed-port", hygiene.Info, dpl + "[0].ports"},
			// web drops ALL and adds back only NET_BIND_SERVICE, as PSS restricted allows.
		}, []string{"vigil/config/root-user", "vigil/config/seccomp", "vigil/config/selinux", "vigil/config/host-network", "vigil/config/apparmor", "vigil/config/cap-add"}},
		{"cronjob.yaml", "app", []want{
			{"vigil/config/cap-add", hygiene.High, "spec.jobTemplate.spec.template.spec.containers[0].securityContext.capabilities.add"},
			{"vigil/config/cap-drop-all", hygiene.Low, "spec.jobTemplate.spec.template.spec.containers[0].securityContext.capabilities.drop"},
			{"vigil/config/seccomp", hygiene.Medium, "spec.jobTemplate.spec.template.spec.containers[0].securityContext.seccompProfile"},
			{"vigil/config/privilege-escalation", hygiene.Medium, "spec.jobTemplate.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"},
			{"vigil/config/latest-tag", hygiene.Medium, "spec.jobTemplate.spec.template.spec.containers[0].image"},
		}, []string{"vigil/config/root-user", "vigil/config/host-path"}}, // the image's USER app applies
		{"cronjob.yaml", "root", []want{
			{"vigil/config/root-user", hygiene.Medium, "spec.jobTemplate.spec.template.spec.containers[0].securityContext.runAsUser"},
		}, nil},
		{"pod-hostnetwork.yaml", "", []want{
			{"vigil/config/host-network", hygiene.High, "spec.hostNetwork"},
			{"vigil/config/host-pid", hygiene.High, "spec.hostPID"},
			{"vigil/config/sensitive-mount", hygiene.High, "spec.volumes[0].hostPath.path"},     // / read-only
			{"vigil/config/sensitive-mount", hygiene.Critical, "spec.volumes[1].hostPath.path"}, // docker.sock
			{"vigil/config/root-user", hygiene.Medium, "spec.containers[0].securityContext.runAsUser"},
		}, []string{"vigil/config/host-ipc"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.imageUser, func(t *testing.T) {
			ws, err := workload.Load(filepath.Join("..", "..", "workload", "testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			in := &hygiene.Input{Workloads: ws, Source: &image.Source{Config: &v1.ConfigFile{Config: v1.Config{User: tt.imageUser}}}}
			// Issues about the image config itself are TestImageConfig's.
			issues := slices.DeleteFunc(run(t, in), func(is hygiene.Issue) bool { return strings.HasPrefix(is.Field, "config.") })
			checkIssues(t, issues, tt.wants, tt.absent)
			for _, is := range issues {
				t.Logf("%s %s %s: %s", is.Severity, is.Rule, is.Field, is.Message)
			}
		})
	}
}

// runcConfig returns the config.json `runc spec ARGS` writes.
func runcConfig(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("runc", append([]string{"spec"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runc spec %v: %v\n%s", args, err, out)
	}
	return filepath.Join(dir, "config.json")
}

// TestOCI lints the config.json runc generates, as root and rootless.
func TestOCI(t *testing.T) {
	testimage.Require(t, "runc")
	tests := []struct {
		args   []string
		wants  []want
		absent []string
	}{
		// Root, no seccomp, no MAC profile, no limits; but a read-only
		// root, noNewPrivileges and a private network namespace.
		{nil, []want{
			{"vigil/config/root-user", hygiene.Medium, "process.user"},
			{"vigil/config/seccomp", hygiene.High, "linux.seccomp"},
			{"vigil/config/apparmor", hygiene.Low, "process.apparmorProfile"},
			{"vigil/config/no-memory-limit", hygiene.Medium, "linux.resources.memory.limit"},
			// runc keeps AUDIT_WRITE and KILL; PSS restricted allows neither.
			{"vigil/config/cap-drop-all", hygiene.Low, "process.capabilities.bounding"},
		}, []string{"vigil/config/writable-rootfs", "vigil/config/privilege-escalation", "vigil/config/host-network", "vigil/config/cap-add"}},
		// Root inside a user namespace is a lesser risk; the host network is not.
		{[]string{"--rootless"}, []want{
			{"vigil/config/root-user", hygiene.Low, "process.user"},
			{"vigil/config/host-network", hygiene.High, "linux.namespaces"},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			ws, err := workload.Load(runcConfig(t, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			checkIssues(t, run(t, &hygiene.Input{Workloads: ws}), tt.wants, tt.absent)
		})
	}
}

// small is a one-layer image with cf's Config and History applied.
func small(t *testing.T, files []testimage.File, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	img := testimage.Build(t, nil, []v1.Layer{testimage.LayerFromFiles(t, files)}, []string{"COPY . / # buildkit"}, nil)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestImageConfig(t *testing.T) {
	files := []testimage.File{{Path: "app", Type: testimage.Dir}, {Path: "app/run", Mode: 0o755, Body: "#!/bin/sh\n"}}
	healthy := &v1.HealthConfig{Test: []string{"CMD", "/app/run", "--check"}}
	tests := []struct {
		name   string
		edit   func(*v1.ConfigFile)
		wants  []want
		absent []string
	}{
		{"no-user", func(cf *v1.ConfigFile) {}, []want{
			{"vigil/config/root-user", hygiene.Medium, "config.User"},
			{"vigil/config/no-healthcheck", hygiene.Low, "config.Healthcheck"},
		}, []string{"vigil/config/exposed-port", "vigil/config/add-url"}},
		{"root-uid", func(cf *v1.ConfigFile) { cf.Config.User = "0:1000"; cf.Config.Healthcheck = healthy }, []want{
			{"vigil/config/root-user", hygiene.Medium, "config.User"},
		}, []string{"vigil/config/no-healthcheck"}},
		{"app-user", func(cf *v1.ConfigFile) { cf.Config.User = "app"; cf.Config.Healthcheck = healthy }, nil,
			[]string{"vigil/config/root-user", "vigil/config/no-healthcheck"}},
		{"healthcheck-none", func(cf *v1.ConfigFile) {
			cf.Config.User = "1000"
			cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}}
		}, []want{{"vigil/config/no-healthcheck", hygiene.Low, "config.Healthcheck"}}, nil},
		{"add-url", func(cf *v1.ConfigFile) {
			cf.History = append(cf.History,
				v1.History{CreatedBy: "ADD https://example.com/tool.tar.gz /opt/ # buildkit", EmptyLayer: true},
				v1.History{CreatedBy: "/bin/sh -c #(nop) ADD --chown=app git@github.com:acme/x.git /src", EmptyLayer: true},
				v1.History{CreatedBy: "/bin/sh -c #(nop) ADD file:0123abcd in / ", EmptyLayer: true},
				v1.History{CreatedBy: "RUN curl https://example.com/x | sh # buildkit", EmptyLayer: true},
			)
		}, []want{
			{"vigil/config/add-url", hygiene.Medium, "history[1].created_by"},
			{"vigil/config/add-url", hygiene.Medium, "history[2].created_by"},
		}, nil},
		{"exposed", func(cf *v1.ConfigFile) {
			cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "22/tcp": {}, "2375/tcp": {}}
		}, []want{
			{"vigil/config/exposed-port", hygiene.Info, "config.ExposedPorts"},
			{"vigil/config/exposed-port", hygiene.High, "config.ExposedPorts[22/tcp]"},
			{"vigil/config/exposed-port", hygiene.Critical, "config.ExposedPorts[2375/tcp]"},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, all := hygienetest.Scan(t, small(t, files, tt.edit), config.New())
			issues := all["config"]
			checkIssues(t, issues, tt.wants, tt.absent)
			n := 0
			for _, is := range issues {
				if is.Rule == "vigil/config/add-url" {
					n++
				}
			}
			if want := len(slices.DeleteFunc(slices.Clone(tt.wants), func(w want) bool { return w.rule != "vigil/config/add-url" })); n != want {
				t.Errorf("%d add-url issues, want %d (ADD file: and RUN curl are not ADD from a URL)", n, want)
			}
		})
	}
}

func TestFilesystem(t *testing.T) {
	files := []testimage.File{
		{Path: "usr", Type: testimage.Dir},
		{Path: "usr/local", Type: testimage.Dir},
		{Path: "usr/local/bin", Type: testimage.Dir},
		{Path: "usr/local/bin/helper", Mode: 0o755 | fs.ModeSetuid, Body: "#!/bin/sh\n"},
		{Path: "usr/local/bin/group-tool", Mode: 0o755 | fs.ModeSetgid, Body: "#!/bin/sh\n", GID: 42},
		{Path: "usr/local/bin/open-door", Mode: 0o777 | fs.ModeSetuid, Body: "#!/bin/sh\n"},
		{Path: "usr/local/bin/plain", Mode: 0o755, Body: "#!/bin/sh\n"},
		{Path: "shared", Type: testimage.Dir, Mode: 0o777},
		{Path: "scratch", Type: testimage.Dir, Mode: 0o777 | fs.ModeSticky},
		{Path: "group-shared", Type: testimage.Dir, Mode: 0o775},
	}
	_, all := hygienetest.Scan(t, small(t, files, func(cf *v1.ConfigFile) {}), config.New())
	tests := []struct {
		path string
		rule string
		sev  hygiene.Severity // "" for no issue
	}{
		{"/usr/local/bin/helper", "vigil/config/setuid", hygiene.Medium},
		{"/usr/local/bin/group-tool", "vigil/config/setuid", hygiene.Medium},
		{"/usr/local/bin/open-door", "vigil/config/setuid", hygiene.Critical},
		{"/usr/local/bin/plain", "", ""},
		{"/shared", "vigil/config/world-writable-dir", hygiene.Medium},
		{"/scratch", "", ""},
		{"/group-shared", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var got []hygiene.Issue
			for _, is := range all["config"] {
				if is.Path == tt.path {
					got = append(got, is)
				}
			}
			if tt.rule == "" {
				if len(got) != 0 {
					t.Errorf("unexpected issues: %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Rule != tt.rule || got[0].Severity != tt.sev {
				t.Fatalf("got %+v, want one %s at %s", got, tt.rule, tt.sev)
			}
			if got[0].Layer == nil || got[0].Layer.Index != 0 {
				t.Errorf("Layer = %+v, want layer 0", got[0].Layer)
			}
		})
	}
}

// TestNoInventory: without an inventory a setuid file's owner is unknown,
// which is not the same as "added by hand".
func TestNoInventory(t *testing.T) {
	files := []testimage.File{{Path: "bin", Type: testimage.Dir}, {Path: "bin/tool", Mode: 0o755 | fs.ModeSetuid}}
	in, _ := hygienetest.Scan(t, small(t, files, func(*v1.ConfigFile) {}))
	in.Inventory = nil
	var got []hygiene.Issue
	for _, is := range run(t, in) {
		if is.Rule == "vigil/config/setuid" {
			got = append(got, is)
		}
	}
	if len(got) != 1 || got[0].Severity != hygiene.Low || !strings.Contains(got[0].Message, "unknown") {
		t.Errorf("got %+v, want one low setuid issue saying the owner is unknown", got)
	}
}

func TestCanceled(t *testing.T) {
	ws, err := workload.Load(filepath.Join("..", "..", "workload", "testdata", "compose-web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := config.New().Run(ctx, &hygiene.Input{Workloads: ws}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestCleanDebian: a fresh debootstrap has no world-writable directory
// without the sticky bit, and its setuid and setgid programs are exactly
// those find(1) sees, each reported at Info with the package owning it, as
// dpkg-query says.
func TestCleanDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian root filesystem")
	}
	testimage.Require(t, "find", "dpkg-query")
	rootfs := testimage.Debootstrap(t, "bookworm", "minbase")
	out, err := exec.Command("find", rootfs, "-xdev", "-type", "f", "(", "-perm", "-4000", "-o", "-perm", "-2000", ")").Output()
	if err != nil {
		t.Fatal(err)
	}
	var wantPaths []string
	for p := range strings.FieldsSeq(string(out)) {
		wantPaths = append(wantPaths, strings.TrimPrefix(p, rootfs))
	}
	slices.Sort(wantPaths)
	if len(wantPaths) == 0 {
		t.Fatal("find saw no setuid program in Debian: the comparison would be empty")
	}

	in, all := hygienetest.Scan(t, testimage.DebianImage(t), config.New())
	pkgOf := map[string]string{}
	for _, c := range in.Inventory.Components {
		pkgOf[c.Ref] = c.Name
	}
	var gotPaths []string
	for _, is := range all["config"] {
		switch is.Rule {
		case "vigil/config/setuid":
			gotPaths = append(gotPaths, is.Path)
			if is.Severity != hygiene.Info {
				t.Errorf("%s at %s on a clean base: %s", is.Path, is.Severity, is.Message)
			}
			if want := dpkgOwner(t, rootfs, is.Path); pkgOf[is.Component] != want {
				t.Errorf("%s: owner %q, dpkg-query says %q", is.Path, pkgOf[is.Component], want)
			}
		case "vigil/config/root-user", "vigil/config/no-healthcheck":
			// The image sets neither USER nor HEALTHCHECK.
		default:
			t.Errorf("false alarm: %s %s %s: %s", is.Rule, is.Severity, is.Path, is.Message)
		}
	}
	slices.Sort(gotPaths)
	if !slices.Equal(gotPaths, wantPaths) {
		t.Errorf("setuid/setgid files:\ngot  %q\nwant %q", gotPaths, wantPaths)
	}
}

// dpkgOwner asks dpkg-query which package installed p, trying the path as
// dpkg recorded it before merged /usr (/bin/su for /usr/bin/su).
func dpkgOwner(t *testing.T, rootfs, p string) string {
	t.Helper()
	for _, q := range []string{p, strings.TrimPrefix(p, "/usr")} {
		out, err := exec.Command("dpkg-query", "--admindir="+filepath.Join(rootfs, "var/lib/dpkg"), "-S", q).Output()
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(out)) {
			pkg, file, ok := strings.Cut(strings.TrimSpace(line), ": ")
			if ok && file == q {
				pkg, _, _ = strings.Cut(pkg, ":") // drop :amd64
				return pkg
			}
		}
	}
	return ""
}
