package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The Compose structs are hand-written rather than taken from
// github.com/compose-spec/compose-go: that library pulls in Docker's API
// types, a YAML interpolation engine and dozens of modules to load a few
// fields, and resolves env files and includes on the host, which a scanner
// reading an attacker-supplied file must not do. These structs cover the
// v2/v3 keys that bear on security; everything else is ignored.

type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Image         string        `json:"image"`
	ContainerName string        `json:"container_name"`
	User          scalar        `json:"user"`
	Privileged    *bool         `json:"privileged"`
	ReadOnly      *bool         `json:"read_only"`
	CapAdd        []string      `json:"cap_add"`
	CapDrop       []string      `json:"cap_drop"`
	SecurityOpt   []string      `json:"security_opt"`
	NetworkMode   string        `json:"network_mode"`
	Pid           string        `json:"pid"`
	Ipc           string        `json:"ipc"`
	Ports         []composePort `json:"ports"`
	Volumes       []composeVol  `json:"volumes"`
	Environment   composeEnv    `json:"environment"`
	MemLimit      scalar        `json:"mem_limit"`
	MemRes        scalar        `json:"mem_reservation"`
	CPUs          scalar        `json:"cpus"`
	Deploy        struct {
		Resources struct {
			Limits       composeRes `json:"limits"`
			Reservations composeRes `json:"reservations"`
		} `json:"resources"`
	} `json:"deploy"`
}

type composeRes struct {
	CPUs   scalar `json:"cpus"`
	Memory scalar `json:"memory"`
}

// scalar is a Compose value that may be written as a string or a number
// ("user: 1000", "cpus: 0.5", "mem_limit: 1g").
type scalar string

func (s *scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = scalar(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %.40s", b)
	}
	*s = scalar(n)
	return nil
}

// composeEnv is the list ("A=1", "B") or mapping form of environment.
type composeEnv []string

func (e *composeEnv) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			*e = append(*e, k)
		}
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("environment: want a list or a mapping")
	}
	for k := range m {
		*e = append(*e, k)
	}
	slices.Sort(*e)
	return nil
}

// composePort is the short ("127.0.0.1:8080:80/udp", 80) or long syntax.
type composePort struct {
	Target    scalar `json:"target"`
	Published scalar `json:"published"`
	HostIP    string `json:"host_ip"`
	Protocol  string `json:"protocol"`
	short     string
}

func (p *composePort) UnmarshalJSON(b []byte) error {
	type plain composePort
	return shortOrLong(b, (*plain)(p), func(b []byte) error {
		var s scalar
		err := s.UnmarshalJSON(b)
		p.short = string(s)
		return err
	})
}

// shortOrLong decodes a Compose entry written either as a mapping (the
// long syntax, into long) or as a scalar (decoded by short).
func shortOrLong[T any](b []byte, long *T, short func([]byte) error) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, long)
	}
	return short(b)
}

// composeVol is the short ("/host:/ctr:ro", "data:/data") or long syntax.
type composeVol struct {
	Type     string `json:"type"`
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only"`
	short    string
}

func (v *composeVol) UnmarshalJSON(b []byte) error {
	type plain composeVol
	return shortOrLong(b, (*plain)(v), func(b []byte) error { return json.Unmarshal(b, &v.short) })
}

func parseCompose(name string, data []byte) ([]Workload, error) {
	var f composeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: compose: %w", name, err)
	}
	names := make([]string, 0, len(f.Services))
	for n := range f.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]Workload, 0, len(names))
	for _, n := range names {
		w, err := composeWorkload(f.Name, n, f.Services[n])
		if err != nil {
			return nil, fmt.Errorf("%s: services.%s: %w", name, n, err)
		}
		w.Source = name + "#" + w.Path
		out = append(out, w)
	}
	return out, nil
}

func composeWorkload(project, name string, s composeService) (Workload, error) {
	path := "services." + name
	w := Workload{Format: FormatCompose, Kind: "service", Name: name, Namespace: project, Path: path}
	switch s.NetworkMode {
	case "none":
		w.Network = NetworkNone
	case "host":
		w.Network, w.HostNetwork = NetworkHost, true
	}
	w.HostPID = s.Pid == "host"
	w.HostIPC = s.Ipc == "host"
	c := Container{
		Name:       s.ContainerName,
		Image:      s.Image,
		Path:       path,
		User:       string(s.User),
		Privileged: s.Privileged,
		CapAdd:     capNames(s.CapAdd),
		CapDrop:    capNames(s.CapDrop),
		Env:        s.Environment,
	}
	if c.Name == "" {
		c.Name = name
	}
	if s.ReadOnly != nil {
		c.ReadOnlyRootFilesystem = s.ReadOnly
	}
	c.RunAsUser, c.RunAsGroup = numericUser(c.User)
	for i, o := range s.SecurityOpt {
		known, err := securityOpt(&c, o)
		if err != nil {
			return w, fmt.Errorf("security_opt[%d]: %w", i, err)
		}
		if !known {
			w.Notes = append(w.Notes, fmt.Sprintf("%s.security_opt[%d]: %q not understood; ignored", path, i, o))
		}
	}
	lim, res := s.Deploy.Resources.Limits, s.Deploy.Resources.Reservations
	c.Resources = Resources{
		CPULimit:      string(lim.CPUs),
		MemoryLimit:   string(lim.Memory),
		CPURequest:    string(res.CPUs),
		MemoryRequest: string(res.Memory),
	}
	// The v2 keys, still accepted by docker compose.
	if c.Resources.CPULimit == "" && s.CPUs != "" {
		c.Resources.CPULimit = string(s.CPUs)
		set(&c.Set, AttrCPULimit, path+".cpus")
	}
	if c.Resources.MemoryLimit == "" && s.MemLimit != "" {
		c.Resources.MemoryLimit = string(s.MemLimit)
		set(&c.Set, AttrMemoryLimit, path+".mem_limit")
	}
	if c.Resources.MemoryRequest == "" {
		c.Resources.MemoryRequest = string(s.MemRes)
	}
	for i, p := range s.Ports {
		port, err := composePortOf(p)
		if err != nil {
			return w, fmt.Errorf("ports[%d]: %w", i, err)
		}
		port.Field = fmt.Sprintf("%s.ports[%d]", path, i)
		c.Ports = append(c.Ports, port)
	}
	for i, v := range s.Volumes {
		m, err := composeMount(v)
		if err != nil {
			return w, fmt.Errorf("volumes[%d]: %w", i, err)
		}
		m.Field = fmt.Sprintf("%s.volumes[%d]", path, i)
		c.Mounts = append(c.Mounts, m)
		if m.Type == "bind" {
			w.Volumes = append(w.Volumes, Volume{HostPath: m.Source, ReadOnly: m.ReadOnly, Field: m.Field})
		}
	}
	w.Containers = []Container{c}
	return w, nil
}

// securityOpt applies one Docker --security-opt value; Docker accepts both
// "key=value" and the older "key:value". Options that do not bear on the
// model (Podman's mask, unmask, proc-opts; Windows credentialspec) are not
// known; a known option with a bad value is an error.
func securityOpt(c *Container, o string) (known bool, err error) {
	k, v, ok := strings.Cut(o, "=")
	if !ok {
		k, v, ok = strings.Cut(o, ":")
	}
	switch k {
	case "no-new-privileges":
		nnp := true
		if ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return true, fmt.Errorf("no-new-privileges: %q is not a boolean", v)
			}
			nnp = b
		}
		c.AllowPrivilegeEscalation = new(!nnp)
	case "seccomp":
		c.Seccomp = dockerProfile(v)
	case "apparmor":
		c.AppArmor = dockerProfile(v)
	case "label":
		// One option per part: label=type:x, label=level:y.
		if c.SELinux != "" {
			v = c.SELinux + "," + v
		}
		c.SELinux = v
	default:
		return false, nil
	}
	return true, nil
}

// dockerProfile converts a Docker profile value: "unconfined", the builtin
// default ("docker-default" for AppArmor), or a profile file or name.
func dockerProfile(v string) string {
	switch v {
	case "unconfined":
		return ProfileUnconfined
	case "", "builtin", "docker-default":
		return ProfileRuntimeDefault
	}
	return ProfileLocalhost + ":" + v
}

// composePortOf parses a port entry; the short syntax is
// [[HOST_IP:][HOST_PORTS]:]CONTAINER_PORTS[/PROTOCOL], HOST_IP possibly in
// brackets (IPv6).
func composePortOf(p composePort) (Port, error) {
	if p.short == "" {
		port := Port{Protocol: strings.ToLower(p.Protocol), HostIP: p.HostIP, HostPort: string(p.Published)}
		if port.Protocol == "" {
			port.Protocol = "tcp"
		}
		lo, hi, err := portRange(string(p.Target))
		if err != nil {
			return Port{}, fmt.Errorf("target: %w", err)
		}
		port.Port, port.EndPort = lo, hi
		return port, nil
	}
	s, proto, _ := strings.Cut(p.short, "/")
	if proto == "" {
		proto = "tcp"
	}
	port := Port{Protocol: strings.ToLower(proto)}
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return Port{}, fmt.Errorf("%q: unterminated IPv6 host address", p.short)
		}
		port.HostIP, s = s[1:end], s[end+2:]
	}
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 1:
	case 2:
		port.HostPort = parts[0]
	case 3:
		if port.HostIP != "" {
			return Port{}, fmt.Errorf("%q: too many colons", p.short)
		}
		port.HostIP, port.HostPort = parts[0], parts[1]
	default:
		return Port{}, fmt.Errorf("%q: too many colons", p.short)
	}
	lo, hi, err := portRange(parts[len(parts)-1])
	if err != nil {
		return Port{}, fmt.Errorf("%q: %w", p.short, err)
	}
	port.Port, port.EndPort = lo, hi
	return port, nil
}

// portRange parses "80" or "3000-3005".
func portRange(s string) (lo, hi int32, err error) {
	a, b, isRange := strings.Cut(s, "-")
	l, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("port %q is not a number from 0 to 65535", s)
	}
	if !isRange {
		return int32(l), 0, nil
	}
	h, err := strconv.ParseUint(b, 10, 16)
	if err != nil || h < l {
		return 0, 0, fmt.Errorf("port range %q is not LOW-HIGH", s)
	}
	return int32(l), int32(h), nil
}

// composeMount parses a volume entry; the short syntax is
// SOURCE:TARGET[:MODE] or TARGET (an anonymous volume), and a SOURCE that
// is a path (/, ., ~) makes a bind mount.
func composeMount(v composeVol) (Mount, error) {
	if v.short == "" {
		if v.Target == "" {
			return Mount{}, fmt.Errorf("no target")
		}
		t := v.Type
		if t == "" {
			t = "volume"
		}
		return Mount{Type: t, Source: v.Source, Destination: v.Target, ReadOnly: v.ReadOnly}, nil
	}
	parts := strings.Split(v.short, ":")
	m := Mount{Type: "volume"}
	switch len(parts) {
	case 1:
		m.Destination = parts[0]
	case 2, 3:
		m.Source, m.Destination = parts[0], parts[1]
		if len(parts) == 3 {
			for _, opt := range strings.Split(parts[2], ",") {
				if opt == "ro" {
					m.ReadOnly = true
				}
			}
		}
	default:
		return Mount{}, fmt.Errorf("%q: want SOURCE:TARGET[:MODE]", v.short)
	}
	if m.Destination == "" {
		return Mount{}, fmt.Errorf("%q: no target", v.short)
	}
	if strings.HasPrefix(m.Source, "/") || strings.HasPrefix(m.Source, ".") || strings.HasPrefix(m.Source, "~") {
		m.Type = "bind"
	}
	return m, nil
}
