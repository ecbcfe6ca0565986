// Package hygiene finds what makes an image risky beyond known CVEs: personal
// e-mail addresses in its metadata, secrets in any layer, package files
// tampered with after installation, outdated or end-of-life bases, and risky
// configuration. Each kind of problem is one Check in a sub-package; they all
// report Issues with stable rule ids (the SARIF contract).
//
// Checks that must see file contents do it during the one layer walk, as
// Observers, so hygiene never reads a layer a second time.
package hygiene

import (
	"archive/tar"
	"context"
	"io"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/match"
	"github.com/vigilsec/vigil/workload"
)

// Severity of an issue.
type Severity string

// Severities, highest first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// Issue is one hygiene problem.
type Issue struct {
	// Rule is the stable rule id: "vigil/secret", "vigil/personal-email",
	// "vigil/modified-file", "vigil/eol-base", "vigil/outdated-base",
	// "vigil/config/<check>".
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Title is one line for tables; Message says what was found and where.
	Title   string `json:"title"`
	Message string `json:"message"`
	// Location says where: a file path (leading slash) and/or a metadata
	// field ("config.Labels.maintainer", "history[3].created_by").
	Path  string `json:"path,omitempty"`
	Field string `json:"field,omitempty"`
	// Layer is the layer that added what the issue is about; DeletedIn the
	// later layer that deleted it, when one did (the bytes still ship).
	Layer     *layers.Info `json:"layer,omitempty"`
	DeletedIn *layers.Info `json:"deletedIn,omitempty"`
	// Evidence is a redacted excerpt; never a secret in full.
	Evidence string `json:"evidence,omitempty"`
	// Remediation says what to do.
	Remediation string `json:"remediation,omitempty"`
	// References are benchmark ids and links ("CIS-DI-0001", "PSS:restricted").
	References []string `json:"references,omitempty"`
	// Component is inventory.Component.Ref when the issue is about a package.
	Component string `json:"component,omitempty"`
}

// Input is what checks may look at once the walk is done.
type Input struct {
	Source    *image.Source
	FS        layers.FS
	Inventory *inventory.Inventory
	// Findings are the vulnerability findings, when matching ran.
	Findings []match.Finding
	// Workloads say how the image is deployed, from --context files
	// (Compose, Kubernetes manifests, OCI config.json); empty when none
	// was given.
	Workloads []workload.Workload
}

// Check is one kind of hygiene problem.
type Check interface {
	// Name is the --scanners name: "secret", "email", "integrity", "base", "config".
	Name() string
	Run(ctx context.Context, in *Input) ([]Issue, error)
}

// Observer is implemented by checks that read file contents during the walk.
type Observer interface {
	// Begin is called for every regular file of every layer, including
	// files a later layer deletes. It returns where the file's contents
	// should be written, or nil when the check does not need them. The
	// sink is closed after the last byte.
	Begin(layer int, name string, hdr *tar.Header) io.WriteCloser
}
