package image

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func openRegistry(ctx context.Context, arg string, plat v1.Platform, opts Options) (*Source, error) {
	var nameOpts []name.Option
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
		// The user asked for it: registries on private networks often
		// have self-signed certificates.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	ref, err := name.ParseReference(arg, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("registry:%s: %w", arg, err)
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(opts.Keychain),
		remote.WithTransport(tr),
	}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("registry:%s: %w", arg, err)
	}
	var im image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("registry:%s: %w", arg, err)
		}
		if im, err = fromIndex(idx, desc.Digest, plat, nil); err != nil {
			return nil, fmt.Errorf("registry:%s: %w", arg, err)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("registry:%s: %w", arg, err)
		}
		im = image{img: img, digest: desc.Digest}
	}
	src, err := im.source(ref.Name())
	if err != nil {
		return nil, fmt.Errorf("registry:%s: %w", arg, err)
	}
	return src, nil
}
