package admission

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/singleflight"

	"github.com/vigilsec/vigil/policy"
	"github.com/vigilsec/vigil/trust"
	"github.com/vigilsec/vigil/workload"
)

// lookupTimeout bounds one registry lookup. It runs detached from the
// request that started it, because concurrent requests for the same image
// share it and one caller's timeout must not fail the others.
const lookupTimeout = 30 * time.Second

// facts is what Vigil learns about an image digest: everything a policy
// needs that does not depend on the pod.
type facts struct {
	digest       v1.Hash
	config       *v1.ConfigFile
	signatures   []policy.Signature
	attestations []policy.Attestation
	provenance   []policy.Provenance
}

// resolved is what a container's image, as written, names: the digest and
// the part of the policy input that follows from the reference and the
// image config. Parsing a reference costs more than the rest of a cached
// lookup, so it is done once per reference.
type resolved struct {
	digest name.Digest
	key    string // of digest in imageCache.digests
	image  policy.Image
}

// imageCache resolves images to facts, caching by digest (and briefly by
// tag), with concurrent lookups of one image shared.
type imageCache struct {
	cfg   Config
	group singleflight.Group

	mu      sync.Mutex
	digests *lru[string, *facts]
	// refs are images as containers write them; a tag's entry lasts
	// TagTTL, so a re-pushed tag is seen within that time.
	refs *lru[string, *resolved]
}

func newImageCache(cfg Config) *imageCache {
	return &imageCache{cfg: cfg, digests: newLRU[string, *facts](cfg.CacheSize), refs: newLRU[string, *resolved](cfg.CacheSize)}
}

// get returns what is known of image, and its policy input at now.
func (c *imageCache) get(ctx context.Context, image string, now time.Time) (*facts, policy.Image, error) {
	c.mu.Lock()
	r, cached := c.refs.get(image, now)
	c.mu.Unlock()
	refTTL := c.cfg.CacheTTL
	if !cached {
		ref, err := parseImage(image)
		if err != nil {
			return nil, policy.Image{}, err
		}
		if _, tag := ref.(name.Tag); tag {
			refTTL = c.cfg.TagTTL
		}
		r = &resolved{}
		if r.digest, err = c.resolve(ctx, ref); err != nil {
			return nil, policy.Image{}, err
		}
		// Signatures live in the repository, so the key is repository@digest.
		r.key = "facts " + r.digest.String()
	}
	f, err := through(ctx, c, c.digests, r.key, c.cfg.CacheTTL, func(ctx context.Context) (*facts, error) {
		return c.load(ctx, r.digest)
	})
	if err != nil {
		return nil, policy.Image{}, err
	}
	if !cached {
		r.image = policy.ImageInput(image, f.digest, f.config, now)
		c.mu.Lock()
		c.refs.put(image, r, now.Add(refTTL))
		c.mu.Unlock()
	}
	im := r.image
	im.AgeDays = policy.AgeDays(f.config, now)
	return f, im, nil
}

// allCached reports whether every container's image, and what it
// resolves to, is cached at now.
func (c *imageCache) allCached(cs []workload.Container, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range cs {
		r, ok := c.refs.peek(cs[i].Image, now)
		if !ok {
			return false
		}
		if _, ok := c.digests.peek(r.key, now); !ok {
			return false
		}
	}
	return true
}

// through returns key's value from l, or loads it (once for concurrent
// callers) and keeps it for ttl. Errors are not kept.
func through[V any](ctx context.Context, c *imageCache, l *lru[string, V], key string, ttl time.Duration, load func(context.Context) (V, error)) (V, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	v, ok := l.get(key, now)
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := wait(ctx, &c.group, key, load)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	l.put(key, v, now.Add(ttl))
	c.mu.Unlock()
	return v, nil
}

// resolve turns a tag into the digest it names now. Concurrent requests
// for one tag share one registry request; the answer is kept with the
// reference (imageCache.refs).
func (c *imageCache) resolve(ctx context.Context, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	return wait(ctx, &c.group, "tag "+ref.Name(), func(ctx context.Context) (name.Digest, error) {
		desc, err := remote.Head(ref, append(c.cfg.Remote, remote.WithContext(ctx))...)
		if err != nil {
			return name.Digest{}, fmt.Errorf("resolve %s: %w", ref, err)
		}
		return ref.Context().Digest(desc.Digest.String()), nil
	})
}

func (c *imageCache) load(ctx context.Context, d name.Digest) (*facts, error) {
	opts := append(c.cfg.Remote, remote.WithContext(ctx))
	img, err := remote.Image(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read %s config: %w", d, err)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, err
	}
	f := &facts{digest: h, config: cf}
	if len(c.cfg.Keys) == 0 && c.cfg.Keyless == nil {
		return f, nil
	}
	ev, err := trust.Gather(ctx, d, c.cfg.Keys, c.cfg.Keyless, c.cfg.Remote...)
	if err != nil {
		return nil, err
	}
	f.signatures, f.attestations, f.provenance = ev.Signatures, ev.Attestations, ev.Provenance
	return f, nil
}

// wait runs fn once for all concurrent callers with the same key, on a
// context of its own, and returns when it is done or ctx ends.
func wait[T any](ctx context.Context, g *singleflight.Group, key string, fn func(context.Context) (T, error)) (T, error) {
	ch := g.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
		defer cancel()
		return fn(lctx)
	})
	var zero T
	select {
	case <-ctx.Done():
		return zero, fmt.Errorf("%s: %w", key, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(T), nil
	}
}

// lru is a size-bounded map with expiry. Hand-written because it is a few
// lines and no module in go.mod provides one.
type lru[K comparable, V any] struct {
	max   int
	order *list.List // front is most recently used
	items map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, order: list.New(), items: map[K]*list.Element{}}
}

func (l *lru[K, V]) get(key K, now time.Time) (V, bool) {
	var zero V
	e, ok := l.items[key]
	if !ok {
		return zero, false
	}
	ent := e.Value.(*lruEntry[K, V])
	if now.After(ent.expires) {
		l.order.Remove(e)
		delete(l.items, key)
		return zero, false
	}
	l.order.MoveToFront(e)
	return ent.val, true
}

// peek is get without marking key used.
func (l *lru[K, V]) peek(key K, now time.Time) (V, bool) {
	e, ok := l.items[key]
	if !ok || now.After(e.Value.(*lruEntry[K, V]).expires) {
		var zero V
		return zero, false
	}
	return e.Value.(*lruEntry[K, V]).val, true
}

func (l *lru[K, V]) put(key K, val V, expires time.Time) {
	if e, ok := l.items[key]; ok {
		e.Value = &lruEntry[K, V]{key: key, val: val, expires: expires}
		l.order.MoveToFront(e)
		return
	}
	l.items[key] = l.order.PushFront(&lruEntry[K, V]{key: key, val: val, expires: expires})
	for l.order.Len() > l.max {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.items, last.Value.(*lruEntry[K, V]).key)
	}
}
