package layers

import (
	"hash/maphash"
	"io/fs"
	"math"
	"strings"
)

// The tree holds every path of the image once, with the versions layers
// wrote of it. It is built for images of millions of paths: nodes and
// versions live in chunked slices of pointer-free structs addressed by
// uint32 (the garbage collector never scans them and growing never copies
// them), names are stored once per node in a byte arena, and children are
// found through one open-addressing hash table keyed by (parent, name). A
// node costs 24 bytes, a version 40, a hash slot 4-8 and a name its length:
// about 80-90 bytes per path for typical names.

// store is an append-only slice kept in fixed-size chunks, so that growing it
// never copies (and never briefly doubles) what it holds.
type store[T any] struct {
	chunks [][]T
	n      uint32
}

const chunkBits = 12

func (s *store[T]) add(v T) uint32 {
	c := int(s.n >> chunkBits)
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, 0, 1<<chunkBits))
	}
	s.chunks[c] = append(s.chunks[c], v)
	s.n++
	return s.n - 1
}

func (s *store[T]) at(i uint32) *T { return &s.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// arena stores names back to back in 1 MiB chunks; a name never spans two.
type arena struct{ chunks [][]byte }

const (
	arenaBits  = 20
	maxNameLen = 255 // NAME_MAX: no Linux file system holds a longer component
)

func (a *arena) add(s string) (uint32, bool) {
	c := len(a.chunks) - 1
	if c < 0 || len(a.chunks[c])+len(s) > 1<<arenaBits {
		if len(a.chunks) == 1<<(32-arenaBits) {
			return 0, false
		}
		a.chunks = append(a.chunks, make([]byte, 0, 1<<arenaBits))
		c++
	}
	off := uint32(c)<<arenaBits | uint32(len(a.chunks[c]))
	a.chunks[c] = append(a.chunks[c], s...)
	return off, true
}

func (a *arena) get(off uint32, n uint16) []byte {
	c := a.chunks[off>>arenaBits]
	i := off & (1<<arenaBits - 1)
	return c[i : i+uint32(n)]
}

// node is one path. Index 0 is the root.
type node struct {
	name   uint32 // arena offset
	nlen   uint16
	parent uint32
	child  uint32 // first child, 0 if none
	next   uint32 // next sibling, 0 if none
	last   uint32 // newest version, 0 if none
}

// version is what one layer made of a path. Versions of a node are linked
// newest first through prev, so the final view (the common one) is one step.
type version struct {
	prev  uint32
	layer uint16
	op    Op
	flags uint8
	mode  fs.FileMode
	uid   uint32
	gid   uint32
	// ref indexes the captured contents of a regular file (0: none) or
	// the target of a symbolic link.
	ref   uint32
	size  int64
	mtime int64 // Unix seconds
}

const (
	// implicit marks a directory the layer did not list but needed as the
	// parent of something it did.
	implicit uint8 = 1 << iota
	// hidden marks that everything under the node that came from lower
	// layers is gone as of this version's layer (whiteout, opaque
	// directory), so a second whiteout in the same layer has nothing to do.
	hidden
)

func (v *version) exists() bool { return v != nil && v.op != Deleted }

// rootVersion stands for the root directory when no layer listed "./".
var rootVersion = version{op: Added, mode: fs.ModeDir | 0o755}

type tree struct {
	nodes    store[node]
	versions store[version]
	names    arena
	links    store[string]

	slots []uint32 // hash table of child nodes; 0 is empty (the root is nobody's child)
	used  int
	seed  maphash.Seed

	// records bounds nodes+versions, meta the bytes of names and link
	// targets, and work the nodes visited by deletions: together they bound
	// the memory and time a hostile image can cost.
	records, maxRecords int
	meta, maxMeta       int64
	work, maxWork       int
}

func newTree(l Limits) *tree {
	t := &tree{seed: maphash.MakeSeed(), slots: make([]uint32, 1<<10)}
	e := int64(l.MaxEntries)
	t.maxRecords = int(min(4*e, math.MaxUint32-1))
	t.maxMeta = max(128*e, 64<<20)
	t.maxWork = int(min(16*e, math.MaxInt32))
	t.nodes.add(node{})
	t.versions.add(version{}) // index 0 means "no version"
	t.links.add("")
	return t
}

func (t *tree) node(n uint32) *node        { return t.nodes.at(n) }
func (t *tree) ver(i uint32) *version      { return t.versions.at(i) }
func (t *tree) link(ref uint32) string     { return *t.links.at(ref) }
func (t *tree) nameOf(n uint32) []byte     { nd := t.node(n); return t.names.get(nd.name, nd.nlen) }
func (t *tree) nameString(n uint32) string { return string(t.nameOf(n)) }

func (t *tree) last(n uint32) *version {
	if i := t.node(n).last; i != 0 {
		return t.ver(i)
	}
	return nil
}

// at returns the version of n visible right after layer top, nil if none.
func (t *tree) at(n uint32, top int) *version {
	i := t.node(n).last
	for i != 0 && int(t.ver(i).layer) > top {
		i = t.ver(i).prev
	}
	if i == 0 {
		if n == 0 {
			return &rootVersion
		}
		return nil
	}
	return t.ver(i)
}

func (t *tree) limit(what string) error {
	return &LimitError{Limit: "MaxEntries", Value: int64(t.maxRecords / 4), Detail: what}
}

func (t *tree) record() error {
	t.records++
	if t.records > t.maxRecords {
		return t.limit("paths and changes in the tree")
	}
	return nil
}

func (t *tree) hash(parent uint32, name []byte) uint64 {
	h := maphash.Bytes(t.seed, name) ^ uint64(parent)*0x9e3779b97f4a7c15
	return h ^ h>>29
}

// child returns the child of parent called name, 0 if none.
func (t *tree) child(parent uint32, name string) uint32 {
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(parent, []byte(name)) & mask; ; i = (i + 1) & mask {
		n := t.slots[i]
		if n == 0 {
			return 0
		}
		if nd := t.node(n); nd.parent == parent && string(t.names.get(nd.name, nd.nlen)) == name {
			return n
		}
	}
}

// addChild returns the child of parent called name, creating it if needed.
func (t *tree) addChild(parent uint32, name string) (uint32, error) {
	if n := t.child(parent, name); n != 0 {
		return n, nil
	}
	if err := t.record(); err != nil {
		return 0, err
	}
	t.meta += int64(len(name))
	if t.meta > t.maxMeta {
		return 0, t.limit("bytes of names and link targets")
	}
	off, ok := t.names.add(name)
	if !ok {
		return 0, t.limit("bytes of names")
	}
	p := t.node(parent)
	n := t.nodes.add(node{name: off, nlen: uint16(len(name)), parent: parent, next: p.child})
	p.child = n
	if t.used++; t.used*4 >= len(t.slots)*3 {
		t.rehash()
	}
	t.insert(n)
	return n, nil
}

func (t *tree) insert(n uint32) {
	mask := uint64(len(t.slots) - 1)
	i := t.hash(t.node(n).parent, t.nameOf(n)) & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = n
}

func (t *tree) rehash() {
	t.slots = make([]uint32, 2*len(t.slots))
	for n := uint32(1); n < t.nodes.n; n++ {
		t.insert(n)
	}
}

func (t *tree) addLink(target string) (uint32, error) {
	t.meta += int64(len(target))
	if t.meta > t.maxMeta {
		return 0, t.limit("bytes of names and link targets")
	}
	return t.links.add(target), nil
}

// set records v as what layer v.layer did to n, replacing what that layer
// had already recorded (a layer leaves at most one version per path). The
// op is derived: Added or Modified depending on the layers below, and a
// deletion of something no lower layer had just drops the layer's version.
func (t *tree) set(n uint32, v version) error {
	nd := t.node(n)
	below := nd.last
	var same *version
	if below != 0 && t.ver(below).layer == v.layer {
		same = t.ver(below)
		below = same.prev
	}
	existed := below != 0 && t.ver(below).op != Deleted
	switch {
	case v.op == Deleted && !existed:
		if same != nil {
			nd.last = below
		}
		return nil
	case v.op == Deleted:
	case existed:
		v.op = Modified
	default:
		v.op = Added
	}
	if same != nil {
		v.flags |= same.flags & hidden
		v.prev = below
		*same = v
		return nil
	}
	if err := t.record(); err != nil {
		return err
	}
	v.prev = nd.last
	nd.last = t.versions.add(v)
	return nil
}

func (t *tree) step() error {
	t.work++
	if t.work > t.maxWork {
		return t.limit("nodes visited by whiteouts and replaced directories")
	}
	return nil
}

// hide records that n and everything under it, as lower layers left them,
// is gone after layer l, keeping what layer l itself wrote (whiteouts only
// apply to lower layers). It reports whether n still exists after l.
func (t *tree) hide(n uint32, l uint16) (bool, error) {
	if err := t.step(); err != nil {
		return false, err
	}
	lv := t.last(n)
	if !lv.exists() {
		return false, nil
	}
	if lv.layer == l && (lv.flags&hidden != 0 || !lv.mode.IsDir()) {
		return true, nil
	}
	kept := false
	for c := t.node(n).child; c != 0; c = t.node(c).next {
		k, err := t.hide(c, l)
		if err != nil {
			return false, err
		}
		kept = kept || k
	}
	switch {
	case lv.layer == l:
		lv.flags |= hidden
		return true, nil
	case kept:
		// A directory from below that this layer wrote into: it stays, but
		// holds only what this layer put there.
		v := *lv
		v.layer, v.flags = l, implicit|hidden
		return true, t.set(n, v)
	}
	return false, t.set(n, version{layer: l, op: Deleted, flags: hidden})
}

// clear deletes, as of layer l, everything under n, including what layer l
// wrote there: n is being replaced by a non-directory.
func (t *tree) clear(n uint32, l uint16) error {
	for c := t.node(n).child; c != 0; c = t.node(c).next {
		// Dead children count too: iterating them is the cost.
		if err := t.step(); err != nil {
			return err
		}
		if !t.last(c).exists() {
			continue
		}
		if err := t.clear(c, l); err != nil {
			return err
		}
		if err := t.set(c, version{layer: l, op: Deleted}); err != nil {
			return err
		}
	}
	return nil
}

// path returns the slash-separated name of n ("." for the root).
func (t *tree) path(n uint32) string {
	if n == 0 {
		return "."
	}
	var parts []string
	for ; n != 0; n = t.node(n).parent {
		parts = append(parts, t.nameString(n))
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// lookup finds name (a valid io/fs name) without following symbolic links
// and regardless of layers; 0 and false if the tree never held it.
func (t *tree) lookup(name string) (uint32, bool) {
	n := uint32(0)
	if name == "." {
		return 0, true
	}
	for c := range strings.SplitSeq(name, "/") {
		if n = t.child(n, c); n == 0 {
			return 0, false
		}
	}
	return n, true
}

// history returns the changes to n, oldest first.
func (t *tree) history(n uint32) []Change {
	var h []Change
	for i := t.node(n).last; i != 0; i = t.ver(i).prev {
		v := t.ver(i)
		h = append(h, Change{Layer: int(v.layer), Op: v.op})
	}
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return h
}

// resolve finds name (a valid io/fs name) as it stood right after layer
// top. Symbolic links are followed inside the image root only: absolute
// targets start again at the root and ".." stops there. The final link is
// followed only when follow is set.
func (t *tree) resolve(name string, top int, follow bool) (uint32, *version, error) {
	cur := uint32(0)
	rest := name
	if rest == "." {
		rest = ""
	}
	hops := 0
	for rest != "" {
		var c string
		c, rest, _ = strings.Cut(rest, "/")
		switch c {
		case "", ".":
			continue
		case "..":
			cur = t.node(cur).parent
			continue
		}
		n := t.child(cur, c)
		if n == 0 {
			return 0, nil, fs.ErrNotExist
		}
		v := t.at(n, top)
		if !v.exists() {
			return 0, nil, fs.ErrNotExist
		}
		if v.mode&fs.ModeSymlink != 0 && (rest != "" || follow) {
			if hops++; hops > maxHops {
				return 0, nil, ErrSymlinkLoop
			}
			target := t.link(v.ref)
			if target == "" {
				return 0, nil, fs.ErrNotExist
			}
			if target[0] == '/' {
				cur = 0
			}
			if rest == "" {
				rest = target
			} else {
				rest = target + "/" + rest
			}
			continue
		}
		if rest != "" && !v.mode.IsDir() {
			return 0, nil, fs.ErrNotExist
		}
		cur = n
	}
	v := t.at(cur, top)
	if !v.exists() {
		// Only a root some layer deleted gets here.
		return 0, nil, fs.ErrNotExist
	}
	return cur, v, nil
}

// maxHops is Linux's MAXSYMLINKS.
const maxHops = 40
