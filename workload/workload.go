// Package workload is Vigil's one model of how a container is deployed: its
// user, privileges, capabilities, confinement profiles, namespaces, mounts,
// resources and ports, whichever file said so. Docker Compose files,
// Kubernetes manifests, OCI runtime configs (config.json), a pod spec under
// admission review and the image's own config all normalise to Workload, so
// triage ("no network: a network-only CVE cannot be reached"), the config lint,
// the policy engine and the admission webhook each read one shape.
//
// A pointer or empty string means "not set": the consumer decides what the
// runtime's default is, because it differs between formats (Docker applies a
// seccomp profile by default, Kubernetes historically does not).
package workload

import (
	"path"
	"strings"
)

// Formats a Workload can come from.
const (
	FormatCompose    = "compose"
	FormatKubernetes = "kubernetes"
	FormatOCI        = "oci"
	FormatImage      = "image"
)

// Network modes.
const (
	NetworkNone = "none"
	NetworkHost = "host"
)

// Profile values of Seccomp and AppArmor, as Kubernetes names them; a local
// profile is ProfileLocalhost + ":" + its path or name.
const (
	ProfileRuntimeDefault = "RuntimeDefault"
	ProfileLocalhost      = "Localhost"
	ProfileUnconfined     = "Unconfined"
)

// Workload is one deployable unit: a Compose service, a Kubernetes pod
// template, an OCI bundle, or an image run with its defaults.
type Workload struct {
	// Source is the file and the object in it: "compose.yaml#services.web",
	// "deploy.yaml#Deployment/default/web", "config.json".
	Source string `json:"source"`
	// Format is one of the Format constants; it decides Field paths and
	// what an unset value means.
	Format    string `json:"format"`
	Kind      string `json:"kind"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Path is the field path of the pod spec ("spec.template.spec"), the
	// Compose service ("services.web"), or "" for OCI.
	Path string `json:"path,omitempty"`

	HostNetwork bool `json:"hostNetwork,omitempty"`
	HostPID     bool `json:"hostPID,omitempty"`
	HostIPC     bool `json:"hostIPC,omitempty"`
	// Network is NetworkNone when the container has no network at all
	// (Compose network_mode: none, an OCI config with a network namespace
	// and no path, which runc leaves without interfaces; Kubernetes cannot
	// express it), NetworkHost, or "" (default or bridge networking, and
	// Compose's "service:<name>" / "container:<name>", which join another
	// container's network).
	Network string `json:"network,omitempty"`
	// UserNamespace is true when the container's uids are mapped to
	// unprivileged host uids (Kubernetes hostUsers: false, an OCI user
	// namespace), so root inside is not root on the host. Docker's daemon
	// wide userns-remap cannot be seen from a Compose file.
	UserNamespace bool `json:"userNamespace,omitempty"`
	// Volumes are the host paths the workload mounts (hostPath volumes,
	// bind mounts).
	Volumes    []Volume    `json:"volumes,omitempty"`
	Containers []Container `json:"containers"`
	// Notes say what was assumed or left out.
	Notes []string `json:"notes,omitempty"`
	// Set records, for workload-level settings that came from somewhere
	// other than their usual place, the field path that set them.
	Set map[Attr]string `json:"set,omitempty"`
}

// Volume is a host path mounted into the workload.
type Volume struct {
	// Name is the Kubernetes volume name; empty for bind mounts.
	Name     string `json:"name,omitempty"`
	HostPath string `json:"hostPath"`
	// ReadOnly is true when every mount of it is read-only.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Field is where it is declared: "spec.volumes[0].hostPath",
	// "services.web.volumes[1]", "mounts[6]".
	Field string `json:"field"`
}

// Container is one container of a workload.
type Container struct {
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"`
	// Init is true for Kubernetes init containers.
	Init bool `json:"init,omitempty"`
	// Path is the container's field path: "spec.containers[0]",
	// "services.web", "config", or "" for OCI, whose fields are all
	// top-level ("process.user", "linux.seccomp").
	Path string `json:"path,omitempty"`

	// User is as written ("app", "1000:1000"); RunAsUser and RunAsGroup
	// are numeric ids when known.
	User         string `json:"user,omitempty"`
	RunAsUser    *int64 `json:"runAsUser,omitempty"`
	RunAsGroup   *int64 `json:"runAsGroup,omitempty"`
	RunAsNonRoot *bool  `json:"runAsNonRoot,omitempty"`

	Privileged               *bool `json:"privileged,omitempty"`
	AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation,omitempty"`
	ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem,omitempty"`
	// CapAdd and CapDrop are upper case without the CAP_ prefix, as
	// Kubernetes writes them ("NET_ADMIN", "ALL").
	CapAdd  []string `json:"capAdd,omitempty"`
	CapDrop []string `json:"capDrop,omitempty"`

	// Seccomp and AppArmor are ProfileRuntimeDefault,
	// ProfileLocalhost+":"+path, ProfileUnconfined, or "" when not set.
	Seccomp  string `json:"seccomp,omitempty"`
	AppArmor string `json:"appArmor,omitempty"`
	// SELinux is the label as set: "type:spc_t,level:s0" for Kubernetes
	// options, "disable" for Docker's label=disable, the full label for OCI.
	SELinux string `json:"selinux,omitempty"`

	Resources Resources `json:"resources,omitzero"`
	Ports     []Port    `json:"ports,omitempty"`
	// Env holds variable names only: values may be secrets.
	Env    []string `json:"env,omitempty"`
	Mounts []Mount  `json:"mounts,omitempty"`
	// Set records, for settings that came from somewhere other than their
	// usual place (a pod-level securityContext, an annotation, mem_limit
	// instead of deploy.resources), the field path that set them.
	Set map[Attr]string `json:"set,omitempty"`
}

// Resources are CPU and memory requests and limits as written ("500m",
// "1Gi", "0.5"); "" when not set. OCI values are converted: memory in bytes,
// CPU in cores from quota/period.
type Resources struct {
	CPURequest    string `json:"cpuRequest,omitempty"`
	CPULimit      string `json:"cpuLimit,omitempty"`
	MemoryRequest string `json:"memoryRequest,omitempty"`
	MemoryLimit   string `json:"memoryLimit,omitempty"`
}

// Port is a port the container listens on, and where the host publishes it.
type Port struct {
	Port int32 `json:"port"`
	// EndPort is the last port of a Compose range ("3000-3005"); 0 for one port.
	EndPort int32 `json:"endPort,omitempty"`
	// Protocol is lower case: "tcp", "udp", "sctp".
	Protocol string `json:"protocol"`
	// HostPort is the published port or range as written; "" when not published.
	HostPort string `json:"hostPort,omitempty"`
	HostIP   string `json:"hostIP,omitempty"`
	Field    string `json:"field,omitempty"`
}

// Contains reports whether port n is p's port or in its range.
func (p Port) Contains(n int32) bool {
	if p.EndPort == 0 {
		return p.Port == n
	}
	return p.Port <= n && n <= p.EndPort
}

// Mount is a filesystem mounted into a container.
type Mount struct {
	// Type is "bind", "volume", "tmpfs", "hostPath" or a Kubernetes
	// volume source ("configMap", "emptyDir", ...).
	Type        string `json:"type"`
	Source      string `json:"source,omitempty"` // host path, volume name
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
	Field       string `json:"field,omitempty"`
}

// Attr names a setting, for Field.
type Attr string

// Settings Field can place.
const (
	AttrUser                     Attr = "user"
	AttrRunAsNonRoot             Attr = "runAsNonRoot"
	AttrPrivileged               Attr = "privileged"
	AttrAllowPrivilegeEscalation Attr = "allowPrivilegeEscalation"
	AttrReadOnlyRootFilesystem   Attr = "readOnlyRootFilesystem"
	AttrCapAdd                   Attr = "capAdd"
	AttrCapDrop                  Attr = "capDrop"
	AttrSeccomp                  Attr = "seccomp"
	AttrAppArmor                 Attr = "appArmor"
	AttrSELinux                  Attr = "selinux"
	AttrCPULimit                 Attr = "cpuLimit"
	AttrMemoryLimit              Attr = "memoryLimit"
	AttrPorts                    Attr = "ports"
	AttrImage                    Attr = "image"
	AttrHostNetwork              Attr = "hostNetwork"
	AttrHostPID                  Attr = "hostPID"
	AttrHostIPC                  Attr = "hostIPC"
	AttrNetwork                  Attr = "network"
)

// fields are where each format keeps a setting, relative to the container
// path (or, for workload-level settings, the workload path). A missing
// entry means the format cannot express it.
var fields = map[string]map[Attr]string{
	FormatKubernetes: {
		AttrUser:                     "securityContext.runAsUser",
		AttrRunAsNonRoot:             "securityContext.runAsNonRoot",
		AttrPrivileged:               "securityContext.privileged",
		AttrAllowPrivilegeEscalation: "securityContext.allowPrivilegeEscalation",
		AttrReadOnlyRootFilesystem:   "securityContext.readOnlyRootFilesystem",
		AttrCapAdd:                   "securityContext.capabilities.add",
		AttrCapDrop:                  "securityContext.capabilities.drop",
		AttrSeccomp:                  "securityContext.seccompProfile",
		AttrAppArmor:                 "securityContext.appArmorProfile",
		AttrSELinux:                  "securityContext.seLinuxOptions",
		AttrCPULimit:                 "resources.limits.cpu",
		AttrMemoryLimit:              "resources.limits.memory",
		AttrPorts:                    "ports",
		AttrImage:                    "image",
		AttrHostNetwork:              "hostNetwork",
		AttrHostPID:                  "hostPID",
		AttrHostIPC:                  "hostIPC",
	},
	FormatCompose: {
		AttrUser:                     "user",
		AttrPrivileged:               "privileged",
		AttrAllowPrivilegeEscalation: "security_opt",
		AttrReadOnlyRootFilesystem:   "read_only",
		AttrCapAdd:                   "cap_add",
		AttrCapDrop:                  "cap_drop",
		AttrSeccomp:                  "security_opt",
		AttrAppArmor:                 "security_opt",
		AttrSELinux:                  "security_opt",
		AttrCPULimit:                 "deploy.resources.limits.cpus",
		AttrMemoryLimit:              "deploy.resources.limits.memory",
		AttrPorts:                    "ports",
		AttrImage:                    "image",
		AttrHostNetwork:              "network_mode",
		AttrNetwork:                  "network_mode",
		AttrHostPID:                  "pid",
		AttrHostIPC:                  "ipc",
	},
	FormatOCI: {
		AttrUser:                     "process.user",
		AttrAllowPrivilegeEscalation: "process.noNewPrivileges",
		AttrReadOnlyRootFilesystem:   "root.readonly",
		AttrCapAdd:                   "process.capabilities.bounding",
		AttrCapDrop:                  "process.capabilities.bounding",
		AttrSeccomp:                  "linux.seccomp",
		AttrAppArmor:                 "process.apparmorProfile",
		AttrSELinux:                  "process.selinuxLabel",
		AttrCPULimit:                 "linux.resources.cpu",
		AttrMemoryLimit:              "linux.resources.memory.limit",
		AttrHostNetwork:              "linux.namespaces",
		AttrNetwork:                  "linux.namespaces",
		AttrHostPID:                  "linux.namespaces",
		AttrHostIPC:                  "linux.namespaces",
	},
	FormatImage: {
		AttrUser:  "User",
		AttrPorts: "ExposedPorts",
	},
}

// workloadAttrs are set on the workload, not on each container.
var workloadAttrs = map[Attr]bool{AttrHostNetwork: true, AttrHostPID: true, AttrHostIPC: true, AttrNetwork: true}

// Field returns the field path of setting a for container c (ignored for
// workload-level settings such as AttrHostNetwork): where it was set, or
// where it would be set when it is not. It returns "" when the format
// cannot express the setting.
func (w *Workload) Field(c int, a Attr) string {
	if workloadAttrs[a] {
		if p, ok := w.Set[a]; ok {
			return p
		}
		return join(w.Path, fields[w.Format][a])
	}
	if c < 0 || c >= len(w.Containers) {
		return ""
	}
	ct := &w.Containers[c]
	if p, ok := ct.Set[a]; ok {
		return p
	}
	rel, ok := fields[w.Format][a]
	if !ok {
		return ""
	}
	return join(ct.Path, rel)
}

func join(base, rel string) string {
	switch {
	case rel == "":
		return ""
	case base == "":
		return rel
	}
	return base + "." + rel
}

// set records in m that a came from field path p.
func set(m *map[Attr]string, a Attr, p string) {
	if *m == nil {
		*m = map[Attr]string{}
	}
	(*m)[a] = p
}

// Repository is the last path element of an image reference's repository,
// registry, tag and digest aside; "" for "". It is how a deployment file's
// containers are matched with a scanned image: "app:1" in a Compose file is
// "registry.example/team/app@sha256:..." as far as the file can tell.
func Repository(ref string) string {
	if ref == "" {
		return ""
	}
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return path.Base(ref)
}

// RunsImage reports whether c names the image, by Repository.
func (c *Container) RunsImage(image string) bool {
	want := Repository(image)
	return want != "" && Repository(c.Image) == want
}
