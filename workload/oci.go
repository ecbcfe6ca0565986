package workload

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerDefaultCaps is the capability set Docker, containerd and CRI-O give
// a container by default (moby's oci/caps/defaults.go). An OCI config lists
// capabilities in full, so CapAdd and CapDrop are computed against it to
// read the same as a Compose file or pod spec would.
var dockerDefaultCaps = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
	"NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

func parseOCI(name string, data []byte) (Workload, error) {
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return Workload{}, fmt.Errorf("%s: oci config: %w", name, err)
	}
	w := Workload{Source: name, Format: FormatOCI, Kind: "oci-bundle", Name: s.Hostname}
	c := Container{Name: s.Hostname}
	if p := s.Process; p != nil {
		c.User = p.User.Username
		if c.User == "" {
			c.User = fmt.Sprintf("%d:%d", p.User.UID, p.User.GID)
		}
		uid, gid := int64(p.User.UID), int64(p.User.GID)
		c.RunAsUser, c.RunAsGroup = &uid, &gid
		// noNewPrivileges is a plain bool: absent means escalation is allowed.
		c.AllowPrivilegeEscalation = new(!p.NoNewPrivileges)
		if caps := p.Capabilities; caps != nil {
			have := capNames(caps.Bounding)
			for _, x := range capNames(caps.Effective) {
				if !slices.Contains(have, x) {
					have = append(have, x)
				}
			}
			for _, x := range have {
				if !slices.Contains(dockerDefaultCaps, x) {
					c.CapAdd = append(c.CapAdd, x)
				}
			}
			if len(have) == 0 {
				c.CapDrop = []string{"ALL"}
			} else {
				for _, x := range dockerDefaultCaps {
					if !slices.Contains(have, x) {
						c.CapDrop = append(c.CapDrop, x)
					}
				}
			}
		} else {
			c.CapDrop = []string{"ALL"}
		}
		switch p.ApparmorProfile {
		case "":
		case "unconfined":
			c.AppArmor = ProfileUnconfined
		default:
			c.AppArmor = ProfileLocalhost + ":" + p.ApparmorProfile
		}
		c.SELinux = p.SelinuxLabel
		for _, e := range p.Env {
			k, _, _ := strings.Cut(e, "=")
			c.Env = append(c.Env, k)
		}
	}
	if s.Root != nil {
		c.ReadOnlyRootFilesystem = &s.Root.Readonly
	}
	// Without a linux section every namespace is the host's.
	host := map[specs.LinuxNamespaceType]bool{specs.NetworkNamespace: true, specs.PIDNamespace: true, specs.IPCNamespace: true}
	if l := s.Linux; l != nil {
		for _, ns := range l.Namespaces {
			if ns.Type == specs.UserNamespace {
				w.UserNamespace = true
			}
			if _, ok := host[ns.Type]; !ok {
				continue
			}
			host[ns.Type] = false
			// runc creates a new network namespace with only
			// loopback; with a path it joins one a CNI plugin or
			// engine has set up.
			if ns.Type == specs.NetworkNamespace && ns.Path == "" {
				w.Network = NetworkNone
			}
		}
		if sc := l.Seccomp; sc != nil {
			c.Seccomp = ProfileLocalhost + ":linux.seccomp"
			if (sc.DefaultAction == specs.ActAllow || sc.DefaultAction == specs.ActLog) && len(sc.Syscalls) == 0 {
				c.Seccomp = ProfileUnconfined
			}
		}
		if r := l.Resources; r != nil {
			if m := r.Memory; m != nil {
				if m.Limit != nil && *m.Limit > 0 {
					c.Resources.MemoryLimit = strconv.FormatInt(*m.Limit, 10)
				}
				if m.Reservation != nil && *m.Reservation > 0 {
					c.Resources.MemoryRequest = strconv.FormatInt(*m.Reservation, 10)
				}
			}
			if cpu := r.CPU; cpu != nil && cpu.Quota != nil && *cpu.Quota > 0 {
				period := uint64(100000) // the kernel's default CFS period
				if cpu.Period != nil && *cpu.Period > 0 {
					period = *cpu.Period
				}
				c.Resources.CPULimit = strconv.FormatFloat(float64(*cpu.Quota)/float64(period), 'f', -1, 64)
			}
		}
	}
	w.HostNetwork, w.HostPID, w.HostIPC = host[specs.NetworkNamespace], host[specs.PIDNamespace], host[specs.IPCNamespace]
	if w.HostNetwork {
		w.Network = NetworkHost
	}
	for i, m := range s.Mounts {
		mt := Mount{Type: m.Type, Source: m.Source, Destination: m.Destination, Field: fmt.Sprintf("mounts[%d]", i)}
		for _, o := range m.Options {
			switch o {
			case "ro":
				mt.ReadOnly = true
			case "bind", "rbind":
				mt.Type = "bind"
			}
		}
		c.Mounts = append(c.Mounts, mt)
		if mt.Type == "bind" {
			w.Volumes = append(w.Volumes, Volume{HostPath: m.Source, ReadOnly: mt.ReadOnly, Field: mt.Field})
		}
	}
	w.Containers = []Container{c}
	return w, nil
}
