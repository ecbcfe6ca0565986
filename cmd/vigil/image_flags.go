package main

import (
	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/image"
	"github.com/vigilsec/vigil/layers"
	"github.com/vigilsec/vigil/scan"
)

// imageFlags are the flags every command that reads an image shares.
type imageFlags struct {
	insecure   bool
	platform   string
	quiet      bool
	tmpDir     string
	maxLayer   int64
	maxTotal   int64
	maxRatio   int64
	maxEntries int
}

func (f *imageFlags) register(fs *pflag.FlagSet) {
	d := layers.DefaultLimits()
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS for the registry (loopback test registries)")
	fs.StringVar(&f.platform, "platform", "linux/amd64", "platform to pick from a multi-arch image index (os/arch[/variant])")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print no progress and no warnings on stderr")
	fs.StringVar(&f.tmpDir, "tmp-dir", "", "where to keep the walk's private temporary files (default: the system temp dir)")
	fs.Int64Var(&f.maxLayer, "max-layer-size", d.MaxLayerBytes, "largest uncompressed layer in bytes; larger layers are refused as decompression bombs")
	fs.Int64Var(&f.maxTotal, "max-image-size", d.MaxTotalBytes, "largest uncompressed image in bytes")
	fs.Int64Var(&f.maxRatio, "max-ratio", d.MaxRatio, "largest uncompressed/compressed ratio of a layer beyond its first 64 MiB")
	fs.IntVar(&f.maxEntries, "max-entries", d.MaxEntries, "most tar entries over all layers")
}

// options builds the pipeline options; p receives progress and warnings.
func (f *imageFlags) options(p *progress) scan.Options {
	lim := layers.DefaultLimits()
	lim.MaxLayerBytes, lim.MaxTotalBytes, lim.MaxRatio, lim.MaxEntries = f.maxLayer, f.maxTotal, f.maxRatio, f.maxEntries
	return scan.Options{
		Image: image.Options{Insecure: f.insecure, Platform: f.platform, TempDir: f.tmpDir},
		Layers: layers.Options{
			Limits:   lim,
			TempDir:  f.tmpDir,
			Progress: p.layer,
			Warn:     p.warn,
		},
	}
}
