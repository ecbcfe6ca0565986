package layers

import (
	"fmt"
	"io/fs"
	"strings"
)

// builder applies the entries of one layer to the tree, with the semantics
// of an OCI layer extraction (containerd's): whiteouts delete from lower
// layers only, an opaque directory hides everything lower layers put in it,
// a non-directory replacing a directory removes its subtree, parent
// directories a layer does not list are created, and a parent that is a
// symbolic link is followed inside the image root.
type builder struct {
	t     *tree
	layer uint16
	warn  func(error)

	// The directory of the previous entry: tar streams list a directory's
	// files together, so this spares most lookups of the parent path.
	cacheDir  string
	cacheNode uint32
	cacheOK   bool
}

func (b *builder) warnf(format string, args ...any) {
	if b.warn != nil {
		b.warn(fmt.Errorf(format, args...))
	}
}

// splitName splits a cleaned name into its directory ("." at the top) and
// base.
func splitName(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ".", name
	}
	return name[:i], name[i+1:]
}

// dir returns the directory node called dir (a cleaned name), creating the
// directories the layer did not list.
func (b *builder) dir(dir string) (uint32, error) {
	if dir == "." {
		return 0, nil
	}
	if b.cacheOK && dir == b.cacheDir {
		return b.cacheNode, nil
	}
	t := b.t
	cur := uint32(0)
	for i := 0; i < len(dir); {
		j := strings.IndexByte(dir[i:], '/')
		if j < 0 {
			j = len(dir)
		} else {
			j += i
		}
		n, err := t.addChild(cur, dir[i:j])
		if err != nil {
			return 0, err
		}
		switch lv := t.last(n); {
		case lv.exists() && lv.mode.IsDir():
		case lv.exists() && lv.mode&fs.ModeSymlink != 0:
			if m, mv, err := t.resolve(dir[:j], int(b.layer), true); err == nil && mv.mode.IsDir() {
				n = m
				break
			}
			b.warnf("entry %s: parent %s is a symbolic link to no directory; replaced by a directory", dir, dir[:j])
			fallthrough
		default:
			if lv.exists() && lv.mode&fs.ModeSymlink == 0 {
				b.warnf("entry %s: parent %s is not a directory; replaced by a directory", dir, dir[:j])
			}
			if err := t.set(n, version{layer: b.layer, mode: fs.ModeDir | 0o755, flags: implicit}); err != nil {
				return 0, err
			}
		}
		cur = n
		i = j + 1
	}
	b.cacheDir, b.cacheNode, b.cacheOK = dir, cur, true
	return cur, nil
}

// put records v at name (a cleaned name other than ".").
func (b *builder) put(name string, v version) error {
	t := b.t
	v.layer = b.layer
	d, base := splitName(name)
	p, err := b.dir(d)
	if err != nil {
		return err
	}
	n, err := t.addChild(p, base)
	if err != nil {
		return err
	}
	old := t.last(n)
	if old != nil && old.layer == b.layer && old.op != Deleted && old.flags&implicit == 0 {
		b.warnf("entry %s: listed twice in the layer; the last one wins", name)
	}
	if old.exists() && old.mode.Type() != v.mode.Type() || v.mode.Type() != 0 && !v.mode.IsDir() {
		// The entry may change how a cached parent resolves.
		b.cacheOK = false
	}
	if !v.mode.IsDir() && old.exists() && old.mode.IsDir() {
		if err := t.clear(n, b.layer); err != nil {
			return err
		}
	}
	return t.set(n, v)
}

// root records a "./" entry: the root directory's own metadata.
func (b *builder) root(v version) error {
	if !v.mode.IsDir() {
		b.warnf("entry .: the image root must be a directory: %w", ErrUnsafeEntry)
		return nil
	}
	v.layer = b.layer
	return b.t.set(0, v)
}

// whiteout deletes name from the lower layers.
func (b *builder) whiteout(name string) error {
	t := b.t
	d, base := splitName(name)
	p, pv, err := t.resolve(d, int(b.layer), true)
	if err != nil || !pv.mode.IsDir() {
		return nil // nothing below to delete
	}
	n := t.child(p, base)
	if n == 0 {
		return nil
	}
	b.cacheOK = false
	_, err = t.hide(n, b.layer)
	return err
}

// opaque hides everything lower layers put in dir.
func (b *builder) opaque(dir string) error {
	t := b.t
	p, err := b.dir(dir)
	if err != nil {
		return err
	}
	lv := t.last(p)
	if lv == nil || lv.layer != b.layer {
		// The layer changes the directory even if it did not list it.
		v := rootVersion // only the root may have no version
		if lv != nil {
			v = *lv
		}
		v.layer, v.flags = b.layer, implicit
		if err := t.set(p, v); err != nil {
			return err
		}
		lv = t.last(p)
	}
	if lv.flags&hidden != 0 {
		return nil
	}
	b.cacheOK = false
	for c := t.node(p).child; c != 0; c = t.node(c).next {
		if _, err := t.hide(c, b.layer); err != nil {
			return err
		}
	}
	lv.flags |= hidden
	return nil
}

// hardlink records name as another name of target's contents.
func (b *builder) hardlink(name, target string) error {
	_, tv, err := b.t.resolve(target, int(b.layer), false)
	if err != nil {
		b.warnf("entry %s: hard link to %s: %w", name, target, err)
		return nil
	}
	if tv.mode.IsDir() {
		b.warnf("entry %s: hard link to directory %s: %w", name, target, ErrUnsafeEntry)
		return nil
	}
	v := *tv
	v.flags = 0
	return b.put(name, v)
}
