package workload

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// NoteImageDefaults is the note FromImageConfig attaches: nothing says how
// the image will really be run.
const NoteImageDefaults = "assumed from image config: no deployment file given, so the image's own defaults (User, ExposedPorts, Env) stand for how it runs"

// FromImageConfig is the workload an image describes for itself, as
// `docker run IMAGE` would run it: its User, ExposedPorts and Env names.
// cfg may be nil (a dir: source has no config).
func FromImageConfig(cfg *v1.ConfigFile) Workload {
	w := Workload{Source: "image config", Format: FormatImage, Kind: "image", Notes: []string{NoteImageDefaults}}
	c := Container{Path: "config"}
	if cfg != nil {
		c.User = cfg.Config.User
		c.RunAsUser, c.RunAsGroup = numericUser(c.User)
		for _, e := range cfg.Config.Env {
			k, _, _ := strings.Cut(e, "=")
			c.Env = append(c.Env, k)
		}
		ports := make([]string, 0, len(cfg.Config.ExposedPorts))
		for p := range cfg.Config.ExposedPorts {
			ports = append(ports, p)
		}
		slices.Sort(ports)
		for _, p := range ports {
			num, proto, _ := strings.Cut(p, "/")
			if proto == "" {
				proto = "tcp"
			}
			lo, hi, err := portRange(num)
			if err != nil {
				w.Notes = append(w.Notes, fmt.Sprintf("config.ExposedPorts: %q ignored: %v", p, err))
				continue
			}
			c.Ports = append(c.Ports, Port{Port: lo, EndPort: hi, Protocol: strings.ToLower(proto), Field: "config.ExposedPorts[" + p + "]"})
		}
	}
	w.Containers = []Container{c}
	return w
}

// numericUser returns the ids of a "user[:group]" value that are numbers;
// names need the image's /etc/passwd to resolve.
func numericUser(u string) (uid, gid *int64) {
	user, group, _ := strings.Cut(u, ":")
	if n, err := strconv.ParseInt(user, 10, 64); err == nil {
		uid = &n
	}
	if n, err := strconv.ParseInt(group, 10, 64); err == nil {
		gid = &n
	}
	return uid, gid
}
