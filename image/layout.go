package image

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func openOCIDir(arg string, plat v1.Platform) (*Source, error) {
	dir, ref := splitName(arg)
	src, err := openLayout(dir, ref, plat)
	if err != nil {
		return nil, fmt.Errorf("oci-dir:%s: %w", dir, err)
	}
	return src, nil
}

// openLayout opens the image of the OCI layout in dir named ref (an
// org.opencontainers.image.ref.name), or the only one, or the one for plat.
func openLayout(dir, ref string, plat v1.Platform) (*Source, error) {
	fi, err := os.Stat(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("not an OCI layout: %w", err)
	}
	if fi.Size() > maxManifest {
		return nil, fmt.Errorf("index.json is %d bytes, over the %d limit", fi.Size(), maxManifest)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	top, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	d, err := chooseLayoutEntry(top, ref, plat)
	if err != nil {
		return nil, err
	}
	// go-containerregistry reads layout blobs whole and unchecked: make
	// sure each is the size its descriptor says, which source bounds.
	check := func(d v1.Descriptor) error {
		fi, err := os.Stat(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
		if err != nil {
			return fmt.Errorf("blob %s: %w", d.Digest, err)
		}
		if fi.Size() != d.Size {
			return fmt.Errorf("blob %s is %d bytes, its descriptor says %d", d.Digest, fi.Size(), d.Size)
		}
		return nil
	}
	var im image
	if d.MediaType.IsIndex() {
		child, err := indexAt(idx, d, check)
		if err != nil {
			return nil, err
		}
		if im, err = fromIndex(child, d.Digest, plat, check); err != nil {
			return nil, err
		}
	} else if im, err = imageAt(idx, d, check); err != nil {
		return nil, err
	}
	return im.source(dir)
}

func chooseLayoutEntry(top *v1.IndexManifest, ref string, plat v1.Platform) (v1.Descriptor, error) {
	var names []string
	var named []v1.Descriptor
	for _, d := range top.Manifests {
		if n := d.Annotations[annotationRefName]; n != "" {
			names = append(names, n)
			if n == ref {
				named = append(named, d)
			}
		}
	}
	slices.Sort(names)
	switch {
	case ref != "" && len(named) == 1:
		return named[0], nil
	case ref != "" && len(named) > 1:
		return v1.Descriptor{}, fmt.Errorf("%d manifests are named %q", len(named), ref)
	case ref != "":
		return v1.Descriptor{}, fmt.Errorf("no manifest named %q; names: %s", ref, strings.Join(names, ", "))
	case len(top.Manifests) == 1:
		return top.Manifests[0], nil
	case len(top.Manifests) == 0:
		return v1.Descriptor{}, fmt.Errorf("index.json lists no manifests")
	}
	d, err := pick(top, plat)
	if err != nil && len(names) > 0 {
		return v1.Descriptor{}, fmt.Errorf("%w; or name one as PATH:NAME (names: %s)", err, strings.Join(names, ", "))
	}
	return d, err
}
