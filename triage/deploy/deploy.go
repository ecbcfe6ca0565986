// Package deploy judges findings by how the image is deployed: the Docker
// Compose files, Kubernetes manifests and OCI runtime configs the user gave
// with --context, normalised by package workload.
//
// One fact suppresses: a container with no network at all (Compose
// network_mode: none, an OCI config whose new network namespace has no
// interfaces) cannot be reached by an attacker over the network, so a
// vulnerability whose every CVSS vector says attack vector Network is
// not_affected / vulnerable_code_cannot_be_controlled_by_adversary. Other
// hardening — a non-root user, a read-only root filesystem, dropped
// capabilities — does not make a CVE unexploitable by itself, so it is
// recorded as evidence and shown in the report's context, never used to
// hide a finding. With no --context the image's own config (its exposed
// ports and user) stands in, and the report says that it was assumed.
package deploy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/triage"
	"github.com/vigilsec/vigil/vex"
	"github.com/vigilsec/vigil/workload"
)

// Summary is what the deployment says about the image's exposure.
type Summary struct {
	// Assumed is true when no deployment file was given and the image's
	// own config stands for how it runs.
	Assumed bool `json:"assumed,omitempty"`
	// Workloads are the deployments taken to run the image.
	Workloads []Exposure `json:"workloads"`
	// Notes say how workloads were chosen and what was assumed.
	Notes []string `json:"notes,omitempty"`
}

// Exposure is one workload's network exposure and hardening.
type Exposure struct {
	Source string `json:"source"`
	// Network is workload.NetworkNone, workload.NetworkHost or "" for the
	// runtime's default (bridge, pod) networking.
	Network string `json:"network,omitempty"`
	// Ports are the ports its containers listen on: "8080/tcp".
	Ports []string `json:"ports,omitempty"`
	// Hardening lists the settings that limit what an exploit can do:
	// "runs as non-root (uid 1000)", "read-only root filesystem",
	// "capabilities dropped: ALL".
	Hardening []string `json:"hardening,omitempty"`
}

// Exposed reports whether any workload serves on the network: it listens
// on a port, or shares the host's network. A container that only makes
// outgoing connections is reachable by the servers it talks to, but is not
// a service anyone can attack at will.
func (s *Summary) Exposed() bool {
	return slices.ContainsFunc(s.Workloads, func(e Exposure) bool {
		return e.Network == workload.NetworkHost || (e.Network != workload.NetworkNone && len(e.Ports) > 0)
	})
}

// noNetwork reports whether every workload runs without a network.
func (s *Summary) noNetwork() bool {
	return !s.Assumed && len(s.Workloads) > 0 && !slices.ContainsFunc(s.Workloads, func(e Exposure) bool { return e.Network != workload.NetworkNone })
}

// Summarize says how the image in in is deployed. Workloads whose
// containers name the scanned image are taken; when none does (an OCI
// config names no image, a Compose file may build it), every workload given
// is, and a note says so.
func Summarize(in *triage.Input) Summary {
	imageName := in.Image.Name
	if len(in.Workloads) == 0 {
		w := workload.FromImageConfig(in.Config)
		note := "no --context given: " + workload.NoteImageDefaults
		if in.Config == nil {
			note = "no --context given, and a directory has no image config: nothing is known of how it runs"
		}
		return Summary{Assumed: true, Workloads: []Exposure{exposure(&w)}, Notes: []string{note}}
	}
	var s Summary
	chosen := make([]*workload.Workload, 0, len(in.Workloads))
	for i := range in.Workloads {
		if runs(&in.Workloads[i], imageName) {
			chosen = append(chosen, &in.Workloads[i])
		}
	}
	if len(chosen) == 0 {
		for i := range in.Workloads {
			chosen = append(chosen, &in.Workloads[i])
		}
		s.Notes = append(s.Notes, fmt.Sprintf("no workload names image %q; all %d given are taken to run it", imageName, len(chosen)))
	}
	for _, w := range chosen {
		s.Workloads = append(s.Workloads, exposure(w))
	}
	return s
}

// runs reports whether a container of w, other than an init container,
// names the image (workload.Repository).
func runs(w *workload.Workload, imageName string) bool {
	return slices.ContainsFunc(w.Containers, func(c workload.Container) bool {
		return !c.Init && c.RunsImage(imageName)
	})
}

func exposure(w *workload.Workload) Exposure {
	e := Exposure{Source: w.Source, Network: w.Network}
	for _, c := range w.Containers {
		if c.Init {
			continue
		}
		for _, p := range c.Ports {
			s := strconv.Itoa(int(p.Port))
			if p.EndPort != 0 {
				s += "-" + strconv.Itoa(int(p.EndPort))
			}
			e.Ports = append(e.Ports, s+"/"+p.Protocol)
		}
		e.Hardening = append(e.Hardening, hardening(&c)...)
	}
	slices.Sort(e.Ports)
	e.Ports = slices.Compact(e.Ports)
	slices.Sort(e.Hardening)
	e.Hardening = slices.Compact(e.Hardening)
	return e
}

func hardening(c *workload.Container) []string {
	var h []string
	switch {
	case c.RunAsUser != nil && *c.RunAsUser != 0:
		h = append(h, "runs as non-root (uid "+strconv.FormatInt(*c.RunAsUser, 10)+")")
	case c.RunAsNonRoot != nil && *c.RunAsNonRoot:
		h = append(h, "runAsNonRoot: true")
	case c.RunAsUser == nil && c.User != "" && c.User != "root" && !strings.HasPrefix(c.User, "root:"):
		h = append(h, "runs as user "+c.User)
	}
	if c.ReadOnlyRootFilesystem != nil && *c.ReadOnlyRootFilesystem {
		h = append(h, "read-only root filesystem")
	}
	if len(c.CapDrop) > 0 {
		h = append(h, "capabilities dropped: "+strings.Join(c.CapDrop, ","))
	}
	if c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation {
		h = append(h, "no privilege escalation")
	}
	return h
}

// Provider is the deployment-context evidence provider.
type Provider struct{}

// Name implements triage.Provider.
func (Provider) Name() string { return "deploy" }

// Judge implements triage.Provider.
func (Provider) Judge(_ context.Context, in *triage.Input, findings []match.Finding) ([]triage.Judgement, error) {
	s := Summarize(in)
	if !s.noNetwork() {
		return nil, nil
	}
	var common []vex.Evidence
	for _, w := range s.Workloads {
		common = append(common, vex.Evidence{Kind: "context", Location: w.Source, Detail: "network: none — the container has no network interface besides loopback"})
		for _, h := range w.Hardening {
			common = append(common, vex.Evidence{Kind: "context", Location: w.Source, Detail: h})
		}
	}
	var js []triage.Judgement
	for i := range findings {
		f := &findings[i]
		if triage.Final(f.Verdict) {
			continue
		}
		vector, ok := networkOnly(f.CVSS)
		if !ok {
			continue
		}
		ev := append([]vex.Evidence{{Kind: "cvss", Location: vector.Source, Detail: "attack vector Network: " + vector.Vector}}, common...)
		js = append(js, triage.Judgement{Finding: i, Verdict: vex.Verdict{
			Status:        vex.NotAffected,
			Justification: vex.VulnerableCodeCannotBeControlledByAdversary,
			Impact:        "Exploiting it needs network access (CVSS attack vector Network), and every deployment given runs the container without a network.",
			Evidence:      ev,
		}})
	}
	return js, nil
}

// networkOnly returns the first vector when every known vector says the
// attack vector is Network. One vector saying Adjacent, Local or Physical
// keeps the finding: someone rated it reachable without the network.
func networkOnly(vs []match.CVSS) (match.CVSS, bool) {
	if len(vs) == 0 {
		return match.CVSS{}, false
	}
	for _, v := range vs {
		if v.AttackVector() != "N" {
			return match.CVSS{}, false
		}
	}
	return vs[0], true
}
