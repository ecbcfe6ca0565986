// Package config lints how an image is built and how it is deployed: the
// image config (USER, HEALTHCHECK, ADD from URLs in the history, exposed
// ports), its filesystem (setuid and setgid files, world-writable
// directories without the sticky bit) and, when deployment files were given
// with --context, each workload's security settings (privileged, capabilities,
// seccomp, AppArmor, SELinux, read-only root, resource limits, host
// namespaces, host mounts, privilege escalation, image tags, ports).
//
// Every rule has a stable id "vigil/config/<check>" and cites the CIS Docker
// Benchmark and the Kubernetes Pod Security Standards (PSS) controls it
// implements, where they exist.
package config

import (
	"context"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/workload"
)

// Check is the configuration lint. It keeps no state: one Check may serve
// any number of scans, concurrently.
type Check struct{}

// New returns the configuration lint.
func New() Check { return Check{} }

// Name implements hygiene.Check.
func (Check) Name() string { return "config" }

// Run implements hygiene.Check. Each part runs on what the input has: the
// image config, the filesystem, the workloads.
func (Check) Run(ctx context.Context, in *hygiene.Input) ([]hygiene.Issue, error) {
	var issues []hygiene.Issue
	if in.Source != nil && in.Source.Config != nil {
		issues = append(issues, imageIssues(in.Source.Config)...)
		// The image's own ExposedPorts are what `docker run -P` publishes.
		img := workload.FromImageConfig(in.Source.Config)
		issues = append(issues, portIssues(&img, 0)...)
	}
	if in.FS != nil {
		fsIssues, err := filesystemIssues(ctx, in.FS, in.Inventory)
		if err != nil {
			return nil, err
		}
		issues = append(issues, fsIssues...)
	}
	var imageUser string
	if in.Source != nil && in.Source.Config != nil {
		imageUser = in.Source.Config.Config.User
	}
	for i := range in.Workloads {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The image's own defaults were linted above, from the config
		// itself; as a workload they would be reported twice.
		if in.Workloads[i].Format == workload.FormatImage {
			continue
		}
		issues = append(issues, workloadIssues(&in.Workloads[i], imageUser)...)
	}
	return issues, nil
}

// rule is what every issue of one rule shares.
type rule struct {
	id, title, remediation string
	refs                   []string
}

func (r rule) issue(sev hygiene.Severity, field, msg string) hygiene.Issue {
	return hygiene.Issue{
		Rule:        r.id,
		Severity:    sev,
		Title:       r.title,
		Message:     msg,
		Field:       field,
		Remediation: r.remediation,
		References:  r.refs,
	}
}

// pss is the Pod Security Standards page every PSS reference points into.
const pss = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

// The rules. Reference ids: "CIS-Docker-<section>" for the CIS Docker
// Benchmark v1.6, "PSS:<level>/<control>" for the Pod Security Standards.
var (
	ruleRootUser = rule{"vigil/config/root-user", "Runs as root",
		"Create a user in the image (RUN useradd ...; USER app) or set a non-zero runAsUser and runAsNonRoot: true.",
		[]string{"CIS-Docker-4.1", "PSS:restricted/running-as-non-root", pss}}
	ruleHealthcheck = rule{"vigil/config/no-healthcheck", "No HEALTHCHECK",
		"Add a HEALTHCHECK instruction, or liveness and readiness probes in Kubernetes.",
		[]string{"CIS-Docker-4.6"}}
	ruleAddURL = rule{"vigil/config/add-url", "ADD from a URL",
		"Download with RUN curl/wget and verify a checksum, or COPY a file fetched and checked outside the build.",
		[]string{"CIS-Docker-4.9"}}
	rulePorts = rule{"vigil/config/exposed-port", "Exposed ports",
		"Expose only the ports the service needs; never remote shells or management APIs.",
		[]string{"CIS-Docker-5.8"}}
	ruleSetuid = rule{"vigil/config/setuid", "setuid or setgid file",
		"Remove the file or its setuid/setgid bits (RUN chmod u-s,g-s FILE) unless the application needs it.",
		[]string{"CIS-Docker-4.8"}}
	ruleWorldWritable = rule{"vigil/config/world-writable-dir", "World-writable directory without the sticky bit",
		"chmod o-w the directory, or chmod +t it if it must be shared like /tmp.",
		nil}
	rulePrivileged = rule{"vigil/config/privileged", "Privileged container",
		"Remove privileged; grant the specific capabilities or devices needed instead.",
		[]string{"CIS-Docker-5.4", "PSS:baseline/privileged-containers", pss}}
	ruleCapAdd = rule{"vigil/config/cap-add", "Added capabilities",
		"Drop the capability; if one is truly needed, add only that one.",
		[]string{"CIS-Docker-5.3", "PSS:baseline/capabilities", pss}}
	ruleCapDropAll = rule{"vigil/config/cap-drop-all", "Capabilities not dropped",
		"Drop ALL capabilities and add back only NET_BIND_SERVICE if needed.",
		[]string{"CIS-Docker-5.3", "PSS:restricted/capabilities", pss}}
	ruleSeccomp = rule{"vigil/config/seccomp", "No seccomp profile",
		"Use the runtime default seccomp profile (seccompProfile.type: RuntimeDefault) or a custom one; never unconfined.",
		[]string{"CIS-Docker-5.21", "PSS:baseline/seccomp", "PSS:restricted/seccomp", pss}}
	ruleAppArmor = rule{"vigil/config/apparmor", "No AppArmor or SELinux confinement",
		"Keep the runtime's default AppArmor profile (or a custom one) and SELinux labelling.",
		[]string{"CIS-Docker-5.1", "CIS-Docker-5.2", "PSS:baseline/apparmor", pss}}
	ruleSELinux = rule{"vigil/config/selinux", "SELinux labelling disabled or overridden",
		"Do not disable labelling; use the default container_t type.",
		[]string{"CIS-Docker-5.2", "PSS:baseline/selinux", pss}}
	ruleWritableRoot = rule{"vigil/config/writable-rootfs", "Writable root filesystem",
		"Set readOnlyRootFilesystem: true (read_only: true in Compose) and mount writable volumes where needed.",
		[]string{"CIS-Docker-5.12"}}
	ruleMemory = rule{"vigil/config/no-memory-limit", "No memory limit",
		"Set a memory limit (resources.limits.memory, deploy.resources.limits.memory).",
		[]string{"CIS-Docker-5.10"}}
	ruleCPU = rule{"vigil/config/no-cpu-limit", "No CPU limit",
		"Set a CPU limit (resources.limits.cpu, deploy.resources.limits.cpus).",
		[]string{"CIS-Docker-5.11"}}
	ruleHostNetwork = rule{"vigil/config/host-network", "Shares the host network namespace",
		"Remove hostNetwork / network_mode: host; publish the ports needed instead.",
		[]string{"CIS-Docker-5.9", "PSS:baseline/host-namespaces", pss}}
	ruleHostPID = rule{"vigil/config/host-pid", "Shares the host PID namespace",
		"Remove hostPID / pid: host.",
		[]string{"CIS-Docker-5.15", "PSS:baseline/host-namespaces", pss}}
	ruleHostIPC = rule{"vigil/config/host-ipc", "Shares the host IPC namespace",
		"Remove hostIPC / ipc: host.",
		[]string{"CIS-Docker-5.16", "PSS:baseline/host-namespaces", pss}}
	ruleHostPath = rule{"vigil/config/host-path", "Mounts a host path",
		"Use a volume instead of a host path; if a host path is needed, mount it read-only.",
		[]string{"CIS-Docker-5.5", "PSS:baseline/hostpath-volumes", pss}}
	ruleSensitiveMount = rule{"vigil/config/sensitive-mount", "Mounts a sensitive host path",
		"Never mount the container runtime socket or host system directories into a container.",
		[]string{"CIS-Docker-5.5", "CIS-Docker-5.31", "PSS:baseline/hostpath-volumes", pss}}
	rulePrivEsc = rule{"vigil/config/privilege-escalation", "Privilege escalation allowed",
		"Set allowPrivilegeEscalation: false (security_opt: no-new-privileges:true in Compose).",
		[]string{"CIS-Docker-5.25", "PSS:restricted/privilege-escalation", pss}}
	ruleLatest = rule{"vigil/config/latest-tag", "Image without a fixed tag",
		"Pin the image by digest (name@sha256:...) or at least by a version tag.",
		nil}
)
