package image

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/layers"
)

// Size limits for the metadata Open reads into memory. Registries refuse
// manifests over 4 MiB (the distribution spec's floor for what they must
// accept), and real configs stay far below the config limit even with long
// histories.
const (
	maxManifest = 4 << 20
	maxConfig   = 32 << 20
	// maxNesting bounds indexes pointing at indexes.
	maxNesting = 4
)

// Annotation and label keys naming an image's base.
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
	annotationRefName    = "org.opencontainers.image.ref.name"
)

// image is what every scheme but dir: boils down to.
type image struct {
	img v1.Image
	// digest is the manifest digest the image was reached by; the raw
	// manifest is checked against it. Zero for docker-archive, which has
	// no manifest of its own.
	digest v1.Hash
	// manifest replaces img.Manifest() when set: a docker-archive with
	// uncompressed layers is described as stored.
	manifest *v1.Manifest
	// open opens layer i as stored; nil means the compressed blob.
	open func(i int, d v1.Descriptor) (io.ReadCloser, error)
	// check, when set, vets a blob descriptor before the blob is read.
	check func(v1.Descriptor) error
}

// source checks the image's manifest and config and describes its layers.
func (im image) source(name string) (*Source, error) {
	m := im.manifest
	if m == nil {
		raw, err := im.img.RawManifest()
		if err != nil {
			return nil, fmt.Errorf("read manifest %s: %w", im.digest, err)
		}
		if err := verifyManifest(im.digest, raw); err != nil {
			return nil, err
		}
		if im.digest == (v1.Hash{}) {
			if im.digest, _, err = v1.SHA256(bytes.NewReader(raw)); err != nil {
				return nil, err
			}
		}
		if m, err = v1.ParseManifest(bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("parse manifest %s: %w", im.digest, err)
		}
	}
	if m.Config.Size > maxConfig {
		return nil, fmt.Errorf("manifest %s: config %s is %d bytes, over the %d limit", im.digest, m.Config.Digest, m.Config.Size, maxConfig)
	}
	if im.check != nil {
		if err := im.check(m.Config); err != nil {
			return nil, fmt.Errorf("manifest %s: config: %w", im.digest, err)
		}
	}
	raw, err := im.img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", m.Config.Digest, err)
	}
	got, err := digestOf(m.Config.Digest, raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if got != m.Config.Digest {
		return nil, fmt.Errorf("manifest %s names config %s but the config has digest %s", im.digest, m.Config.Digest, got)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse config %s: %w", m.Config.Digest, err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest %s has %d layers but config %s lists %d diff_ids", im.digest, len(m.Layers), m.Config.Digest, len(cf.RootFS.DiffIDs))
	}
	src := &Source{
		Info: Info{
			Name:       name,
			Digest:     im.digest.String(),
			Config:     m.Config.Digest.String(),
			OS:         cf.OS,
			Arch:       cf.Architecture,
			BaseName:   baseInfo(m, cf, annotationBaseName),
			BaseDigest: baseInfo(m, cf, annotationBaseDigest),
		},
		Image:    im.img,
		Config:   cf,
		Manifest: m,
		Layers:   make([]layers.Blob, len(m.Layers)),
	}
	history := layerHistory(cf.History, len(m.Layers))
	for i, d := range m.Layers {
		info := layers.Info{
			Index:     i,
			Digest:    d.Digest.String(),
			DiffID:    cf.RootFS.DiffIDs[i].String(),
			MediaType: string(d.MediaType),
			Size:      d.Size,
		}
		if h := history[i]; h != nil {
			info.CreatedBy, info.Comment, info.Created = h.CreatedBy, h.Comment, h.Created.Time
		}
		src.Layers[i] = layers.Blob{Info: info, Open: im.opener(i, d)}
	}
	for i := range baseLayers(cf.History, len(m.Layers)) {
		src.Layers[i].Info.Base = true
	}
	return src, nil
}

// baseLayers guesses how many of the bottom layers came from the base image.
// Neither the OCI base annotations nor the config record the count, so it is
// read from the history the way Trivy does: an image built FROM a base starts
// with the base's history, which ends with the base's own CMD or ENTRYPOINT;
// the last such empty-layer entry that still has a layer-making entry after
// it is where the base stops. With no such marker (a single-stage image, or
// no history) no layer is called base rather than guessing.
func baseLayers(hs []v1.History, n int) int {
	seenLayer := false
	for i := len(hs) - 1; i >= 0; i-- {
		h := hs[i]
		if !h.EmptyLayer {
			seenLayer = true
			continue
		}
		if !seenLayer {
			continue
		}
		if strings.Contains(h.CreatedBy, "CMD") || strings.Contains(h.CreatedBy, "ENTRYPOINT") {
			count := 0
			for _, e := range hs[:i] {
				if !e.EmptyLayer {
					count++
				}
			}
			return min(count, n)
		}
	}
	return 0
}

func (im image) opener(i int, d v1.Descriptor) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		var rc io.ReadCloser
		var err error
		if im.open != nil {
			rc, err = im.open(i, d)
		} else {
			var l v1.Layer
			if l, err = im.img.LayerByDigest(d.Digest); err == nil {
				rc, err = l.Compressed()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("open layer %d blob %s: %w", i, d.Digest, err)
		}
		return rc, nil
	}
}

// layerHistory pairs history entries that made a layer with the layers,
// bottom first. Builders disagree (some omit history, some write entries
// for squashed layers), so a mismatch leaves entries nil rather than failing.
func layerHistory(hs []v1.History, n int) []*v1.History {
	out := make([]*v1.History, n)
	j := 0
	for i := range hs {
		if hs[i].EmptyLayer {
			continue
		}
		if j == n {
			break
		}
		out[j] = &hs[i]
		j++
	}
	return out
}

func baseInfo(m *v1.Manifest, cf *v1.ConfigFile, key string) string {
	if v := m.Annotations[key]; v != "" {
		return v
	}
	return cf.Config.Labels[key]
}

// pick chooses the manifest for plat among an index's entries, skipping
// attestations and other entries that are not runnable images.
func pick(idx *v1.IndexManifest, plat v1.Platform) (v1.Descriptor, error) {
	var match []v1.Descriptor
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" || !d.MediaType.IsImage() && !d.MediaType.IsIndex() {
			continue
		}
		have = append(have, d.Platform.String())
		if d.Platform.Satisfies(plat) {
			match = append(match, d)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) > 1:
		var ps []string
		for _, d := range match {
			ps = append(ps, d.Platform.String())
		}
		return v1.Descriptor{}, fmt.Errorf("index has %d images for platform %s (%s); name the variant", len(match), plat, strings.Join(ps, ", "))
	case len(have) == 0:
		return v1.Descriptor{}, errors.New("index has no images with a platform")
	}
	slices.Sort(have)
	return v1.Descriptor{}, fmt.Errorf("index has no image for platform %s; available: %s", plat, strings.Join(slices.Compact(have), ", "))
}

// fromIndex picks the image for plat from idx, an index reached by digest
// (zero for an OCI layout's index.json), following nested indexes. check,
// when set, vets each descriptor before its blob is read: an OCI layout
// bounds blob sizes that way.
func fromIndex(idx v1.ImageIndex, digest v1.Hash, plat v1.Platform, check func(v1.Descriptor) error) (image, error) {
	for range maxNesting {
		raw, err := idx.RawManifest()
		if err != nil {
			return image{}, fmt.Errorf("index %s: %w", digest, err)
		}
		if err := verifyManifest(digest, raw); err != nil {
			return image{}, err
		}
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return image{}, fmt.Errorf("parse index %s: %w", digest, err)
		}
		d, err := pick(im, plat)
		if err != nil {
			return image{}, fmt.Errorf("index %s: %w", digest, err)
		}
		if !d.MediaType.IsIndex() {
			return imageAt(idx, d, check)
		}
		if idx, err = indexAt(idx, d, check); err != nil {
			return image{}, err
		}
		digest = d.Digest
	}
	return image{}, fmt.Errorf("indexes nested more than %d deep", maxNesting)
}

// indexAt opens the index d names in idx.
func indexAt(idx v1.ImageIndex, d v1.Descriptor, check func(v1.Descriptor) error) (v1.ImageIndex, error) {
	if d.Size > maxManifest {
		return nil, fmt.Errorf("index %s is %d bytes, over the %d limit", d.Digest, d.Size, maxManifest)
	}
	if check != nil {
		if err := check(d); err != nil {
			return nil, err
		}
	}
	child, err := idx.ImageIndex(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", d.Digest, err)
	}
	return child, nil
}

// imageAt opens the image d names in idx.
func imageAt(idx v1.ImageIndex, d v1.Descriptor, check func(v1.Descriptor) error) (image, error) {
	if d.MediaType != "" && !d.MediaType.IsImage() {
		return image{}, fmt.Errorf("%s is a %s, not an image", d.Digest, d.MediaType)
	}
	if d.Size > maxManifest {
		return image{}, fmt.Errorf("manifest %s is %d bytes, over the %d limit", d.Digest, d.Size, maxManifest)
	}
	if check != nil {
		if err := check(d); err != nil {
			return image{}, err
		}
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return image{}, fmt.Errorf("image %s: %w", d.Digest, err)
	}
	return image{img: img, digest: d.Digest, check: check}, nil
}

// verifyManifest checks a manifest or index against the digest it was
// reached by; go-containerregistry checks registry pulls by digest but not
// OCI layouts or pulls by tag.
func verifyManifest(want v1.Hash, raw []byte) error {
	if len(raw) > maxManifest {
		return fmt.Errorf("manifest %s is %d bytes, over the %d limit", want, len(raw), maxManifest)
	}
	if want == (v1.Hash{}) {
		return nil
	}
	got, err := digestOf(want, raw)
	if err != nil {
		return fmt.Errorf("manifest %s: %w", want, err)
	}
	if got != want {
		return fmt.Errorf("manifest %s: content has digest %s", want, got)
	}
	return nil
}

// digestOf digests b with the algorithm of want (sha256 or sha512).
func digestOf(want v1.Hash, b []byte) (v1.Hash, error) {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return v1.Hash{}, err
	}
	h.Write(b)
	return v1.Hash{Algorithm: want.Algorithm, Hex: hex.EncodeToString(h.Sum(nil))}, nil
}
