package config

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/workload"
)

// baselineCaps are the capabilities PSS baseline allows adding (Docker's
// default set); restricted allows only NET_BIND_SERVICE.
var baselineCaps = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
	"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

// dangerousCaps each come close to root on the host (module loading, mount,
// ptrace of other processes, raw devices, eBPF, network configuration).
var dangerousCaps = []string{
	"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "DAC_READ_SEARCH",
	"NET_ADMIN", "BPF", "PERFMON", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG", "SYS_TIME",
}

// runtimeSockets give whoever can write them control of the container
// runtime, so of the host.
var runtimeSockets = []string{"docker.sock", "containerd.sock", "crio.sock", "podman.sock", "dockershim.sock", "cri-dockerd.sock"}

// sensitiveDirs are host directories that must not be mounted: the CIS
// Docker 5.5 list plus runtime and kubelet state and root's home. Their
// subdirectories are sensitive too.
var sensitiveDirs = []string{
	"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/root",
	"/var/run", "/run", "/var/lib/docker", "/var/lib/containerd", "/var/lib/kubelet", "/etc/kubernetes",
}

// sensitiveTree lists the sensitive directories whose whole tree is
// sensitive; "/", "/usr", "/run" and "/var/run" are sensitive only
// themselves, or every host path would be.
var sensitiveTree = []string{"/boot", "/dev", "/etc", "/proc", "/sys", "/root", "/var/lib/docker", "/var/lib/containerd", "/var/lib/kubelet"}

// allowedSELinuxTypes are the types PSS baseline allows.
var allowedSELinuxTypes = []string{"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

// riskyPorts are services that must not be reachable in a container.
var riskyPorts = []struct {
	port    int32
	service string
	sev     hygiene.Severity
}{
	{21, "FTP (cleartext credentials)", hygiene.Medium},
	{22, "SSH (a remote shell into the container)", hygiene.High},
	{23, "Telnet (cleartext remote shell)", hygiene.High},
	{111, "rpcbind", hygiene.Medium},
	{445, "SMB", hygiene.Medium},
	{512, "rexec", hygiene.High},
	{513, "rlogin", hygiene.High},
	{514, "rsh", hygiene.High},
	{2375, "the Docker API without TLS (root on the host for anyone who reaches it)", hygiene.Critical},
	{2376, "the Docker API", hygiene.High},
	{2379, "etcd", hygiene.High},
	{3389, "RDP", hygiene.High},
	{5900, "VNC", hygiene.High},
	{5985, "WinRM", hygiene.High},
	{5986, "WinRM", hygiene.High},
	{10250, "the kubelet API", hygiene.High},
}

// target names a container in messages.
func target(w *workload.Workload, c *workload.Container) string {
	if w.Format == workload.FormatImage || c.Name == "" || (w.Format == workload.FormatCompose && c.Name == w.Name) {
		return w.Source
	}
	return w.Source + " container " + c.Name
}

func workloadIssues(w *workload.Workload, imageUser string) []hygiene.Issue {
	var issues []hygiene.Issue
	for _, ns := range []struct {
		on   bool
		r    rule
		attr workload.Attr
		what string
	}{
		{w.HostNetwork, ruleHostNetwork, workload.AttrHostNetwork, "the host's network: it sees every interface and can bind any host port"},
		{w.HostPID, ruleHostPID, workload.AttrHostPID, "the host's process namespace: it sees, and may signal or trace, every host process"},
		{w.HostIPC, ruleHostIPC, workload.AttrHostIPC, "the host's IPC namespace: it can reach host shared memory"},
	} {
		if ns.on {
			issues = append(issues, ns.r.issue(hygiene.High, w.Field(0, ns.attr), w.Source+" shares "+ns.what))
		}
	}
	for _, v := range w.Volumes {
		issues = append(issues, volumeIssue(w, v))
	}
	for i := range w.Containers {
		issues = append(issues, containerIssues(w, i, imageUser)...)
		issues = append(issues, portIssues(w, i)...)
	}
	return issues
}

func volumeIssue(w *workload.Workload, v workload.Volume) hygiene.Issue {
	p := v.HostPath
	if strings.HasPrefix(p, "/") {
		p = path.Clean(p)
	}
	ro := ""
	if v.ReadOnly {
		ro = " read-only"
	}
	switch {
	case slices.Contains(runtimeSockets, path.Base(p)):
		return ruleSensitiveMount.issue(hygiene.Critical, v.Field,
			fmt.Sprintf("%s mounts the container runtime socket %s%s: whoever controls the container controls the host (a read-only mount does not stop writes to a socket)", w.Source, v.HostPath, ro))
	case sensitive(p):
		return ruleSensitiveMount.issue(hygiene.High, v.Field,
			fmt.Sprintf("%s mounts the host's %s%s", w.Source, v.HostPath, ro))
	}
	sev := hygiene.Low
	if w.Format == workload.FormatKubernetes && !v.ReadOnly {
		// hostPath ties the pod to a node and is forbidden by PSS
		// baseline; a Compose bind of the project directory is routine.
		sev = hygiene.Medium
	}
	return ruleHostPath.issue(sev, v.Field, fmt.Sprintf("%s mounts the host path %s%s", w.Source, v.HostPath, ro))
}

func sensitive(p string) bool {
	if slices.Contains(sensitiveDirs, p) {
		return true
	}
	for _, d := range sensitiveTree {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func containerIssues(w *workload.Workload, i int, imageUser string) []hygiene.Issue {
	c := &w.Containers[i]
	who := target(w, c)
	field := func(a workload.Attr) string { return w.Field(i, a) }
	var issues []hygiene.Issue
	add := func(r rule, sev hygiene.Severity, a workload.Attr, msg string) {
		issues = append(issues, r.issue(sev, field(a), who+" "+msg))
	}

	if root, why := runsAsRoot(w, c, imageUser); root {
		if w.UserNamespace {
			add(ruleRootUser, hygiene.Low, workload.AttrUser, "runs as root ("+why+"), though in a user namespace: root inside maps to an unprivileged host user")
		} else {
			add(ruleRootUser, hygiene.Medium, workload.AttrUser, "runs as root: "+why)
		}
	}
	privileged := c.Privileged != nil && *c.Privileged
	if privileged {
		add(rulePrivileged, hygiene.Critical, workload.AttrPrivileged,
			"is privileged: it has every capability and every host device, and no seccomp, AppArmor or SELinux confinement")
	}
	// PSS restricted allows adding NET_BIND_SERVICE, and only it.
	if added := slices.DeleteFunc(slices.Clone(c.CapAdd), func(cp string) bool { return cp == "NET_BIND_SERVICE" }); len(added) > 0 {
		sev := hygiene.Low
		for _, cp := range added {
			switch {
			case slices.Contains(dangerousCaps, cp):
				sev = hygiene.High
			case !slices.Contains(baselineCaps, cp) && sev != hygiene.High:
				sev = hygiene.Medium
			}
		}
		add(ruleCapAdd, sev, workload.AttrCapAdd, "adds capabilities "+strings.Join(added, ", "))
	}
	if kept := keptCaps(c); !privileged && len(kept) > 0 {
		add(ruleCapDropAll, hygiene.Low, workload.AttrCapDrop,
			"does not drop ALL capabilities: it keeps "+strings.Join(kept, ", "))
	}
	if !privileged {
		confinement(w, c, add)
	}
	if !privileged && (c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation) {
		sev, msg := hygiene.Medium, "allows privilege escalation: setuid programs and file capabilities can raise its privileges"
		switch {
		case c.AllowPrivilegeEscalation == nil && w.Format == workload.FormatCompose:
			sev, msg = hygiene.Low, "does not set no-new-privileges: setuid programs can raise its privileges"
		case c.AllowPrivilegeEscalation == nil:
			msg = "does not set allowPrivilegeEscalation: false, so setuid programs can raise its privileges"
		}
		add(rulePrivEsc, sev, workload.AttrAllowPrivilegeEscalation, msg)
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		add(ruleWritableRoot, hygiene.Low, workload.AttrReadOnlyRootFilesystem,
			"has a writable root filesystem: an intruder can modify its binaries and drop tools")
	}
	if c.Resources.MemoryLimit == "" {
		add(ruleMemory, hygiene.Medium, workload.AttrMemoryLimit, "has no memory limit: it can exhaust the host's memory")
	}
	if c.Resources.CPULimit == "" {
		add(ruleCPU, hygiene.Low, workload.AttrCPULimit, "has no CPU limit: it can starve its neighbours")
	}
	if msg := mutableImage(c.Image); msg != "" {
		add(ruleLatest, hygiene.Medium, workload.AttrImage, msg)
	}
	return issues
}

// confinement checks seccomp, AppArmor and SELinux. What an unset
// value means depends on the runtime: Docker and Podman apply their default
// seccomp and AppArmor profiles, Kubernetes runs unconfined unless the
// kubelet enables SeccompDefault, and a bare OCI config gets nothing.
func confinement(w *workload.Workload, c *workload.Container, add func(rule, hygiene.Severity, workload.Attr, string)) {
	switch {
	case c.Seccomp == workload.ProfileUnconfined:
		add(ruleSeccomp, hygiene.High, workload.AttrSeccomp, "runs without seccomp (unconfined): every system call is open to exploits of kernel bugs")
	case c.Seccomp == "" && w.Format == workload.FormatKubernetes:
		add(ruleSeccomp, hygiene.Medium, workload.AttrSeccomp, "sets no seccomp profile: unless the kubelet enables SeccompDefault it runs unconfined")
	case c.Seccomp == "" && w.Format == workload.FormatOCI:
		add(ruleSeccomp, hygiene.High, workload.AttrSeccomp, "has no linux.seccomp filter: every system call is allowed")
	}
	switch {
	case c.AppArmor == workload.ProfileUnconfined:
		add(ruleAppArmor, hygiene.Medium, workload.AttrAppArmor, "runs without AppArmor confinement (unconfined)")
	case c.AppArmor == "" && c.SELinux == "" && w.Format == workload.FormatOCI:
		add(ruleAppArmor, hygiene.Low, workload.AttrAppArmor, "sets neither an AppArmor profile nor an SELinux label")
	}
	switch {
	case c.SELinux == "disable":
		add(ruleSELinux, hygiene.Medium, workload.AttrSELinux, "disables SELinux labelling (label=disable)")
	case w.Format == workload.FormatKubernetes && c.SELinux != "":
		if msg := selinuxOverride(c.SELinux); msg != "" {
			add(ruleSELinux, hygiene.Medium, workload.AttrSELinux, msg)
		}
	}
}

// selinuxOverride checks Kubernetes seLinuxOptions ("type:spc_t,level:s0")
// against PSS baseline: no user or role, and only the container types.
func selinuxOverride(s string) string {
	for kv := range strings.SplitSeq(s, ",") {
		k, v, _ := strings.Cut(kv, ":")
		switch k {
		case "user", "role":
			return fmt.Sprintf("sets the SELinux %s to %q", k, v)
		case "type":
			if !slices.Contains(allowedSELinuxTypes, v) {
				return fmt.Sprintf("sets the SELinux type %q (spc_t and custom types escape container confinement)", v)
			}
		}
	}
	return ""
}

// runsAsRoot decides whether the container's process runs as uid 0: the
// workload's user when it sets one, the image's USER otherwise.
func runsAsRoot(w *workload.Workload, c *workload.Container, imageUser string) (bool, string) {
	if c.RunAsNonRoot != nil && *c.RunAsNonRoot && (c.RunAsUser == nil || *c.RunAsUser != 0) {
		return false, "" // the kubelet refuses to start it as root
	}
	if c.RunAsUser != nil {
		if *c.RunAsUser == 0 {
			return true, "its user is uid 0"
		}
		return false, ""
	}
	if c.User != "" {
		return rootUser(c.User)
	}
	if w.Format == workload.FormatImage {
		return false, "" // the image's own USER has its own issue
	}
	if root, why := rootUser(imageUser); root {
		return true, "it sets no user, and in the image " + why
	}
	return false, ""
}

// keptCaps are the capabilities beyond NET_BIND_SERVICE the container has
// when the runtime grants Docker's default set, as containerd and CRI-O do.
func keptCaps(c *workload.Container) []string {
	var have []string
	if !slices.Contains(c.CapDrop, "ALL") {
		for _, cp := range baselineCaps {
			if !slices.Contains(c.CapDrop, cp) {
				have = append(have, cp)
			}
		}
	}
	for _, cp := range c.CapAdd {
		if !slices.Contains(have, cp) {
			have = append(have, cp)
		}
	}
	return slices.DeleteFunc(have, func(cp string) bool { return cp == "NET_BIND_SERVICE" })
}

// mutableImage explains why an image reference may change under the
// workload: the latest tag or no tag. Pinned by digest, it cannot.
// References that do not parse (Compose "${TAG}" interpolation) are left
// alone.
func mutableImage(image string) string {
	if image == "" {
		return ""
	}
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	if _, ok := ref.(reference.Digested); ok {
		return ""
	}
	if t, ok := ref.(reference.Tagged); ok {
		if t.Tag() == "latest" {
			return fmt.Sprintf("uses image %s: the latest tag moves, so what runs is not what was scanned", image)
		}
		return ""
	}
	return fmt.Sprintf("uses image %s without a tag, which means latest: what runs is not what was scanned", image)
}

// portIssues lists what container i exposes (Info) and reports services
// that must not be exposed.
func portIssues(w *workload.Workload, i int) []hygiene.Issue {
	if i >= len(w.Containers) {
		return nil
	}
	c := &w.Containers[i]
	if len(c.Ports) == 0 {
		return nil
	}
	who := target(w, c)
	var issues []hygiene.Issue
	list := make([]string, len(c.Ports))
	for j, p := range c.Ports {
		list[j] = describePort(p)
		for _, r := range riskyPorts {
			if p.Contains(r.port) {
				issues = append(issues, rulePorts.issue(r.sev, p.Field,
					fmt.Sprintf("%s exposes port %d/%s, %s", who, r.port, p.Protocol, r.service)))
			}
		}
	}
	info := rulePorts.issue(hygiene.Info, w.Field(i, workload.AttrPorts), who+" exposes "+strings.Join(list, ", "))
	if w.Format == workload.FormatImage {
		info.Message += " (assumed from image config: EXPOSE declares, it does not publish)"
	}
	return append([]hygiene.Issue{info}, issues...)
}

func describePort(p workload.Port) string {
	s := strconv.Itoa(int(p.Port))
	if p.EndPort != 0 {
		s += "-" + strconv.Itoa(int(p.EndPort))
	}
	s += "/" + p.Protocol
	switch {
	case p.HostPort != "" && p.HostIP == "":
		s += " (published on host port " + p.HostPort + ", all interfaces)"
	case p.HostPort != "" && strings.Contains(p.HostIP, ":"):
		s += " (published on [" + p.HostIP + "]:" + p.HostPort + ")"
	case p.HostPort != "":
		s += " (published on " + p.HostIP + ":" + p.HostPort + ")"
	}
	return s
}
