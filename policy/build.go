package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/workload"
)

// ImageInput describes an image for Input.Image: ref as the user or the pod
// wrote it, the digest it resolved to, and its config (nil when unknown).
// now is passed in so that recorded decisions replay.
func ImageInput(ref string, digest v1.Hash, cfg *v1.ConfigFile, now time.Time) Image {
	im := Image{Ref: ref, Digest: digest.String(), AgeDays: -1}
	if r, err := name.ParseReference(ref); err == nil {
		im.Registry = r.Context().RegistryStr()
		im.Repository = r.Context().RepositoryStr()
		switch r := r.(type) {
		case name.Tag:
			im.Tag = r.TagStr()
		case name.Digest:
			im.Pinned = true
		}
		// "repo:tag@sha256:..." parses as a digest and is pinned too.
	}
	if cfg == nil {
		return im
	}
	c := cfg.Config
	im.Config = Config{
		User:         c.User,
		NonRoot:      nonRootUser(c.User),
		Labels:       c.Labels,
		Env:          c.Env,
		OS:           cfg.OS,
		Architecture: cfg.Architecture,
	}
	for p := range c.ExposedPorts {
		im.Config.ExposedPorts = append(im.Config.ExposedPorts, p)
	}
	slices.Sort(im.Config.ExposedPorts) // map order would make recorded inputs differ
	im.AgeDays = AgeDays(cfg, now)
	return im
}

// AgeDays is Image.AgeDays: whole days from cfg's created time to now, or
// -1 when cfg is nil or has no usable created time.
func AgeDays(cfg *v1.ConfigFile, now time.Time) int {
	if cfg == nil {
		return -1
	}
	// Reproducible builds write the epoch (or nothing): that is not an age.
	if created := cfg.Created.Time; created.Unix() > 0 && !created.After(now) {
		return int(now.Sub(created).Hours() / 24)
	}
	return -1
}

// nonRootUser reports whether an image config User runs as someone other
// than root: by number, anything but 0; by name, anything but "root".
func nonRootUser(u string) bool {
	user, _, _ := strings.Cut(u, ":")
	return user != "" && user != "0" && user != "root"
}

// WorkloadInput converts a normalised workload and its container i to the
// policy's form, applying its runtime's defaults for what is unset, so rules
// read effective values: Kubernetes runs a container without seccomp or
// AppArmor unless told, Docker (Compose) with its default profiles, and an
// OCI runtime config gets exactly what it says.
func WorkloadInput(w *workload.Workload, i int) (Workload, Container) {
	out := Workload{
		Kind:        w.Kind,
		Namespace:   w.Namespace,
		Name:        w.Name,
		HostNetwork: w.HostNetwork || w.Network == workload.NetworkHost,
		HostPID:     w.HostPID,
		HostIPC:     w.HostIPC,
	}
	if out.Kind == "" {
		out.Kind = w.Format // a Compose service or OCI bundle still is a workload
	}
	for j := range w.Containers {
		out.Containers = append(out.Containers, containerInput(w.Format, &w.Containers[j]))
	}
	var c Container
	if i >= 0 && i < len(out.Containers) {
		c = out.Containers[i]
	}
	return out, c
}

func containerInput(format string, c *workload.Container) Container {
	out := Container{
		Name:                   c.Name,
		Image:                  c.Image,
		Init:                   c.Init,
		RunAsUser:              -1,
		RunAsNonRoot:           deref(c.RunAsNonRoot),
		Privileged:             deref(c.Privileged),
		ReadOnlyRootFilesystem: deref(c.ReadOnlyRootFilesystem),
		CapabilitiesAdd:        c.CapAdd,
		CapabilitiesDrop:       c.CapDrop,
		SeccompProfile:         profileKind(c.Seccomp),
		AppArmorProfile:        profileKind(c.AppArmor),
		SELinuxType:            selinuxType(c.SELinux),
		Limits:                 map[string]string{},
		Requests:               map[string]string{},
	}
	switch {
	case c.RunAsUser != nil:
		out.RunAsUser = *c.RunAsUser
	case c.User != "":
		// A user by name (Compose "user: app") replaces the image's: root
		// by name is uid 0, any other name is not root.
		if nonRootUser(c.User) {
			out.RunAsNonRoot = true
		} else {
			out.RunAsUser = 0
		}
	}
	if format == workload.FormatCompose {
		if out.SeccompProfile == "" {
			out.SeccompProfile = workload.ProfileRuntimeDefault
		}
		if out.AppArmorProfile == "" {
			out.AppArmorProfile = workload.ProfileRuntimeDefault
		}
	}
	// Kubernetes lets a process gain privileges unless told otherwise, and
	// always for a privileged container.
	out.AllowPrivilegeEscalation = c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation || out.Privileged
	put := func(m map[string]string, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(out.Limits, "cpu", c.Resources.CPULimit)
	put(out.Limits, "memory", c.Resources.MemoryLimit)
	put(out.Requests, "cpu", c.Resources.CPURequest)
	put(out.Requests, "memory", c.Resources.MemoryRequest)
	return out
}

func deref(b *bool) bool { return b != nil && *b }

// profileKind drops the path of "Localhost:<path>".
func profileKind(p string) string {
	kind, _, _ := strings.Cut(p, ":")
	return kind
}

// selinuxType finds the type in "type:spc_t,level:s0" (Kubernetes options)
// or "user:role:type:level" (a full label); Docker's "disable" has none.
func selinuxType(l string) string {
	if l == "" || l == "disable" {
		return ""
	}
	for _, kv := range strings.Split(l, ",") {
		if t, ok := strings.CutPrefix(kv, "type:"); ok {
			return t
		}
	}
	if parts := strings.Split(l, ":"); len(parts) >= 3 {
		return parts[2]
	}
	return ""
}
