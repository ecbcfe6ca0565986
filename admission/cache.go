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
)

// lookupTimeout bounds one registry lookup. It runs detached from the
// request that started it, because concurrent requests for the same image
// share it and one caller's timeout must not fail the others.
const lookupTimeout = 30 * time.Second

// facts is what Vigil learns about an image digest: everything a policy
// needs that does not depend on the pod.
type facts struct {
	digest     v1.Hash
	config     *v1.ConfigFile
	signatures []policy.Signature
	provenance []policy.Provenance
}

// imageCache resolves images to facts, caching by digest (and briefly by
// tag), with concurrent lookups of one image shared.
type imageCache struct {
	cfg   Config
	group singleflight.Group

	mu      sync.Mutex
	digests *lru[*facts]
	tags    *lru[name.Digest]
}

func newImageCache(cfg Config) *imageCache {
	return &imageCache{cfg: cfg, digests: newLRU[*facts](cfg.CacheSize), tags: newLRU[name.Digest](cfg.CacheSize)}
}

func (c *imageCache) get(ctx context.Context, image string) (*facts, error) {
	ref, err := parseImage(image)
	if err != nil {
		return nil, err
	}
	d, err := c.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	// Signatures live in the repository, so the key is repository@digest.
	return through(ctx, c, c.digests, "facts "+d.String(), c.cfg.CacheTTL, func(ctx context.Context) (*facts, error) {
		return c.load(ctx, d)
	})
}

// through returns key's value from l, or loads it (once for concurrent
// callers) and keeps it for ttl. Errors are not kept.
func through[V any](ctx context.Context, c *imageCache, l *lru[V], key string, ttl time.Duration, load func(context.Context) (V, error)) (V, error) {
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

// resolve turns a tag into the digest it names now.
func (c *imageCache) resolve(ctx context.Context, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	return through(ctx, c, c.tags, "tag "+ref.Name(), c.cfg.TagTTL, func(ctx context.Context) (name.Digest, error) {
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
	f.signatures, f.provenance = ev.Signatures, ev.Provenance
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
type lru[V any] struct {
	max   int
	order *list.List // front is most recently used
	items map[string]*list.Element
}

type lruEntry[V any] struct {
	key     string
	val     V
	expires time.Time
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru[V]) get(key string, now time.Time) (V, bool) {
	var zero V
	e, ok := l.items[key]
	if !ok {
		return zero, false
	}
	ent := e.Value.(*lruEntry[V])
	if now.After(ent.expires) {
		l.order.Remove(e)
		delete(l.items, key)
		return zero, false
	}
	l.order.MoveToFront(e)
	return ent.val, true
}

func (l *lru[V]) put(key string, val V, expires time.Time) {
	if e, ok := l.items[key]; ok {
		e.Value = &lruEntry[V]{key: key, val: val, expires: expires}
		l.order.MoveToFront(e)
		return
	}
	l.items[key] = l.order.PushFront(&lruEntry[V]{key: key, val: val, expires: expires})
	for l.order.Len() > l.max {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.items, last.Value.(*lruEntry[V]).key)
	}
}
