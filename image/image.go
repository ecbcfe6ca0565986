// Package image turns what a user names ("registry:", "docker-archive:",
// "oci-archive:", "oci-dir:", "dir:", or a bare reference or tar path) into a
// Source: the image's metadata and its layers as blobs for the layer walk, or a
// root filesystem directory. It is the acquire stage of the pipeline and the
// only package that talks to registries and archive formats.
package image

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/layers"
)

// Info says what was scanned; it is copied into every report.
type Info struct {
	Ref    string `json:"ref"`              // as the user wrote it
	Scheme string `json:"scheme"`           // registry, docker-archive, oci-archive, oci-dir, dir
	Name   string `json:"name,omitempty"`   // canonical image name, or the path
	Digest string `json:"digest,omitempty"` // manifest digest
	Config string `json:"config,omitempty"` // config digest (the image ID)
	OS     string `json:"os,omitempty"`
	Arch   string `json:"arch,omitempty"`
	// BaseName and BaseDigest name the image this one was built on, from
	// the org.opencontainers.image.base.name / .digest manifest
	// annotations or, failing those, config labels.
	BaseName   string `json:"baseName,omitempty"`
	BaseDigest string `json:"baseDigest,omitempty"`
}

// Source is an opened image.
type Source struct {
	Info Info
	// Image is the ggcr image; nil for dir:.
	Image v1.Image
	// Config is the image config file; nil for dir:.
	Config *v1.ConfigFile
	// Manifest is the image manifest; nil for dir:.
	Manifest *v1.Manifest
	// Layers are the image's layers bottom first, with history attached;
	// empty for dir:.
	Layers []layers.Blob
	// Dir is the root filesystem directory for dir:; empty otherwise.
	Dir string

	closers []func() error
}

// Close releases temporary files the source holds (an unpacked oci-archive).
func (s *Source) Close() error {
	var first error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	s.closers = nil
	return first
}
