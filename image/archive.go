package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxTarEntries bounds the index of an archive's entries; real
// docker-archives hold a handful per image.
const maxTarEntries = 100_000

// tarIndex lists a tar's entries by cleaned name, read from headers alone
// so that a scan costs a seek per entry: it detects the archive kind and
// lets Open bound sizes before go-containerregistry reads entries whole.
type tarIndex struct {
	path    string
	entries map[string]tarEntry
}

type tarEntry struct {
	typ  byte
	size int64
	link string
	// head holds the first bytes of a regular file, for its magic number.
	head []byte
}

func scanTar(p string) (*tarIndex, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := &tarIndex{path: p, entries: map[string]tarEntry{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return idx, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tar %s: %w", p, err)
		}
		if len(idx.entries) == maxTarEntries {
			return nil, fmt.Errorf("read tar %s: more than %d entries", p, maxTarEntries)
		}
		n := path.Clean(h.Name)
		if _, dup := idx.entries[n]; dup {
			continue // go-containerregistry uses the first
		}
		e := tarEntry{typ: h.Typeflag, size: h.Size, link: h.Linkname}
		if h.Typeflag == tar.TypeReg {
			head := make([]byte, 4)
			k, err := io.ReadFull(tr, head)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("read tar %s entry %s: %w", p, h.Name, err)
			}
			e.head = head[:k]
		}
		idx.entries[n] = e
	}
}

func (t *tarIndex) has(name string) bool {
	_, ok := t.entries[name]
	return ok
}

// lookup finds a regular file, following links as go-containerregistry
// does (docker save links repeated layers to the first copy).
func (t *tarIndex) lookup(name string) (tarEntry, error) {
	name = path.Clean(name)
	for range 16 {
		e, ok := t.entries[name]
		switch {
		case !ok:
			return tarEntry{}, fmt.Errorf("%s is missing from the archive", name)
		case e.typ == tar.TypeSymlink || e.typ == tar.TypeLink:
			name = path.Join(path.Dir(name), path.Clean(e.link))
		case e.typ != tar.TypeReg:
			return tarEntry{}, fmt.Errorf("%s is not a regular file", name)
		default:
			return e, nil
		}
	}
	return tarEntry{}, fmt.Errorf("%s: too many links", name)
}

// compressed reports whether a stored layer is gzip or zstd by its magic
// number; go-containerregistry keeps its own check internal.
func (e tarEntry) compressed() bool {
	return bytes.HasPrefix(e.head, []byte{0x1f, 0x8b}) || bytes.HasPrefix(e.head, []byte{0x28, 0xb5, 0x2f, 0xfd})
}

func openDockerArchive(arg string, idx *tarIndex) (*Source, error) {
	p, tag := splitName(arg)
	src, err := dockerArchive(p, tag, idx)
	if err != nil {
		return nil, fmt.Errorf("docker-archive:%s: %w", p, err)
	}
	return src, nil
}

func dockerArchive(p, tag string, idx *tarIndex) (*Source, error) {
	var err error
	if idx == nil {
		if idx, err = scanTar(p); err != nil {
			return nil, err
		}
	}
	me, err := idx.lookup("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("not a docker-archive: %w", err)
	}
	if me.size > maxManifest {
		return nil, fmt.Errorf("manifest.json is %d bytes, over the %d limit", me.size, maxManifest)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(p) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	desc, ref, err := chooseArchived(manifest, tag)
	if err != nil {
		return nil, err
	}
	ce, err := idx.lookup(desc.Config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if ce.size > maxConfig {
		return nil, fmt.Errorf("config %s is %d bytes, over the %d limit", desc.Config, ce.size, maxConfig)
	}
	stored := make([]tarEntry, len(desc.Layers))
	for i, l := range desc.Layers {
		if stored[i], err = idx.lookup(l); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	img, err := tarball.Image(opener, ref)
	if err != nil {
		return nil, err
	}
	im := image{img: img}
	if len(stored) > 0 && !stored[0].compressed() {
		if err := im.describeStored(stored); err != nil {
			return nil, err
		}
	}
	return im.source(p)
}

// describeStored is for archives whose layers are plain tars, as docker
// save writes them. go-containerregistry would present such layers
// gzipped, compressing every layer to compute the manifest; instead the
// manifest describes the layers as stored, so a layer's digest is its
// DiffID and Open returns the plain tar.
func (im *image) describeStored(stored []tarEntry) error {
	raw, err := im.img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parse config: %w", err)
	}
	if len(cf.RootFS.DiffIDs) != len(stored) {
		return fmt.Errorf("manifest.json lists %d layers but the config has %d diff_ids", len(stored), len(cf.RootFS.DiffIDs))
	}
	cd, cs, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	m := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: cs, Digest: cd},
	}
	for i, e := range stored {
		if e.compressed() {
			return fmt.Errorf("layer %d (diff_id %s) is compressed but layer 0 is not; mixed archives are not supported", i, cf.RootFS.DiffIDs[i])
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerUncompressedLayer, Size: e.size, Digest: cf.RootFS.DiffIDs[i]})
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if im.digest, _, err = v1.SHA256(bytes.NewReader(b)); err != nil {
		return err
	}
	im.manifest = m
	img := im.img
	im.open = func(_ int, d v1.Descriptor) (io.ReadCloser, error) {
		l, err := img.LayerByDiffID(d.Digest)
		if err != nil {
			return nil, err
		}
		return l.Uncompressed()
	}
	return nil
}

// chooseArchived picks the image tagged tag, or the only one.
func chooseArchived(m tarball.Manifest, tag string) (tarball.Descriptor, *name.Tag, error) {
	var tags []string
	for _, d := range m {
		tags = append(tags, d.RepoTags...)
	}
	slices.Sort(tags)
	if tag == "" {
		switch len(m) {
		case 1:
			return m[0], nil, nil
		case 0:
			return tarball.Descriptor{}, nil, errors.New("manifest.json lists no images")
		}
		return tarball.Descriptor{}, nil, fmt.Errorf("archive holds %d images; name one as docker-archive:PATH:TAG (tags: %s)", len(m), strings.Join(tags, ", "))
	}
	want, err := name.NewTag(tag)
	if err != nil {
		return tarball.Descriptor{}, nil, err
	}
	for _, d := range m {
		for _, t := range d.RepoTags {
			if have, err := name.NewTag(t); err == nil && have.Name() == want.Name() {
				return d, &want, nil
			}
		}
	}
	return tarball.Descriptor{}, nil, fmt.Errorf("no image tagged %s; tags: %s", tag, strings.Join(tags, ", "))
}

func openOCIArchive(arg string, plat v1.Platform, tempDir string) (*Source, error) {
	p, ref := splitName(arg)
	dir, err := os.MkdirTemp(tempDir, "vigil-oci-archive-")
	if err != nil {
		return nil, err
	}
	src, err := func() (*Source, error) {
		if err := unpackLayout(p, dir); err != nil {
			return nil, err
		}
		return openLayout(dir, ref, plat)
	}()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("oci-archive:%s: %w", p, err)
	}
	src.Info.Name = p
	src.closers = append(src.closers, func() error { return os.RemoveAll(dir) })
	return src, nil
}

// blobName is a blob of an OCI layout: blobs/<algorithm>/<encoded>, with the
// grammar of the image spec's digests.
var blobName = regexp.MustCompile(`^blobs(/[a-z0-9]+([+._-][a-z0-9]+)*(/[a-zA-Z0-9=_-]+)?)?$`)

// unpackLayout extracts the OCI layout inside the tar at p into dir,
// skipping anything else the tar holds (docker save adds its own files).
// Every write goes through an os.Root, so nothing lands outside dir
// whatever the names; names that try ("../x", "/x") are refused outright, as
// are links and special files in the layout, which has none. Sparse
// entries cannot inflate the output past the archive's own size.
func unpackLayout(p, dir string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	budget := fi.Size()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if strings.HasPrefix(h.Name, "/") || slices.Contains(strings.Split(h.Name, "/"), "..") {
			return fmt.Errorf("entry %q points outside the archive", h.Name)
		}
		n := path.Clean(h.Name)
		if n != "oci-layout" && n != "index.json" && !blobName.MatchString(n) {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(n, 0o700)
		case tar.TypeReg:
			if h.Size > budget {
				return fmt.Errorf("entry %s: %d bytes is more than the archive holds", h.Name, h.Size)
			}
			budget -= h.Size
			err = extract(root, n, tr, h.Size)
		default:
			return fmt.Errorf("entry %s: type %q is not allowed in an OCI layout", h.Name, h.Typeflag)
		}
		if err != nil {
			return fmt.Errorf("entry %s: %w", h.Name, err)
		}
	}
	if _, err := root.Stat("index.json"); err != nil {
		return fmt.Errorf("not an OCI archive: %w", err)
	}
	return nil
}

func extract(root *os.Root, name string, r io.Reader, size int64) error {
	if err := root.MkdirAll(path.Dir(name), 0o700); err != nil {
		return err
	}
	// O_EXCL: a name repeated in the archive is refused, not overwritten.
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(out, r, size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
