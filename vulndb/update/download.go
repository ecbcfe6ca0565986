package update

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/cvss"
	"github.com/vigilsec/vigil/vulndb/kev"
)

// OSVBase is the public OSV export: <OSVBase>/<Ecosystem>/all.zip.
const OSVBase = "https://osv-vulnerabilities.storage.googleapis.com"

// DefaultEcosystems are the OSV ecosystems fetched unless told otherwise:
// those Vigil can match.
var DefaultEcosystems = []string{"Alpine", "Debian", "Go", "Maven", "npm", "PyPI"}

// Defaults for Options.
const (
	DefaultMaxFileSize  = 4 << 30
	DefaultStallTimeout = time.Minute
)

// Options tunes Download. The zero value fetches the public sources.
type Options struct {
	// Mirror is the base URL of a mirror laid out like an Import folder
	// (<Mirror>/osv/<Ecosystem>/all.zip, <Mirror>/known_exploited_vulnerabilities.json,
	// <Mirror>/cvss.json.gz). Empty means OSV's export and CISA's KEV feed.
	Mirror string
	// Ecosystems are the OSV ecosystems to fetch; nil means DefaultEcosystems.
	Ecosystems []string
	// Client makes the requests; nil means one with connection and header
	// timeouts.
	Client *http.Client
	// MaxFileSize bounds each download; 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// StallTimeout fails a download that receives nothing for that long;
	// 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	Progress     vulndb.ProgressFunc
}

// file is one download: from URL into the import folder at rel.
type file struct {
	url, rel string
}

func (o *Options) plan() []file {
	ecos := o.Ecosystems
	if ecos == nil {
		ecos = DefaultEcosystems
	}
	var files []file
	if o.Mirror == "" {
		for _, eco := range ecos {
			files = append(files, file{OSVBase + "/" + eco + "/all.zip", "osv/" + eco + "/all.zip"})
		}
		return append(files, file{kev.URL, kev.File})
	}
	base := strings.TrimSuffix(o.Mirror, "/")
	for _, eco := range ecos {
		files = append(files, file{base + "/osv/" + eco + "/all.zip", "osv/" + eco + "/all.zip"})
	}
	return append(files, file{base + "/" + kev.File, kev.File}, file{base + "/" + cvss.File, cvss.File})
}

// Download fetches the sources into a temporary folder inside dir, builds a
// new database from them and swaps it in. A source the server does not have
// (404) is skipped with a note; any other failure leaves the old database.
func Download(ctx context.Context, dir string, opts Options) (*Result, error) {
	if opts.Client == nil {
		opts.Client = defaultClient()
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.StallTimeout == 0 {
		opts.StallTimeout = DefaultStallTimeout
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}

	l, err := vulndb.LockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	tmp, err := l.TempDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var notes []string
	urls := map[string]string{}
	osvFound := false
	for _, f := range opts.plan() {
		dst := filepath.Join(tmp, filepath.FromSlash(f.rel))
		found, err := fetch(ctx, &opts, f.url, dst, func(done, total int64) { progress("download "+f.rel, done, total) })
		if err != nil {
			return nil, err
		}
		if !found {
			notes = append(notes, fmt.Sprintf("%s: not found (404), skipped", f.url))
			continue
		}
		urls[f.rel] = f.url
		osvFound = osvFound || strings.HasPrefix(f.rel, "osv/")
	}
	if !osvFound {
		return nil, fmt.Errorf("download: no OSV archive found at %s", path.Dir(opts.plan()[0].url))
	}
	origin := opts.Mirror
	if origin == "" {
		origin = "the public sources"
	}
	res, err := build(ctx, l, os.DirFS(tmp), origin, func(rel string) string { return urls[rel] }, progress)
	if err != nil {
		return nil, err
	}
	res.Notes = append(notes, res.Notes...)
	return res, nil
}

func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}}
}

var errStalled = errors.New("download stalled")

// fetch downloads url into dst. It reports found false, and no error, when
// the server says the file does not exist.
func fetch(ctx context.Context, opts *Options, url, dst string, progress func(done, total int64)) (found bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer func() {
		if err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
				err = fmt.Errorf("download %s: nothing received for %v: %w", url, opts.StallTimeout, cause)
			} else {
				err = fmt.Errorf("download %s: %w", url, err)
			}
		}
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := opts.Client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode != http.StatusOK:
		return false, fmt.Errorf("server answered %s", resp.Status)
	case resp.ContentLength > opts.MaxFileSize:
		return false, fmt.Errorf("file of %d bytes is larger than the limit of %d", resp.ContentLength, opts.MaxFileSize)
	}

	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, err
	}
	out, err := os.Create(dst)
	if err != nil {
		return false, err
	}
	defer out.Close()

	stall := time.AfterFunc(opts.StallTimeout, func() { cancel(errStalled) })
	defer stall.Stop()
	want, sum := expectedMD5(resp.Header)
	if resp.Uncompressed {
		// The checksum is of the stored bytes, not of what the transport
		// decompressed.
		sum = nil
	}
	var w io.Writer = out
	if sum != nil {
		w = io.MultiWriter(out, sum)
	}
	body := &watchedReader{r: resp.Body, onRead: func(done int64) {
		stall.Reset(opts.StallTimeout)
		progress(done, resp.ContentLength)
	}}
	n, err := io.Copy(w, io.LimitReader(body, opts.MaxFileSize+1))
	switch {
	case err != nil:
		return false, fmt.Errorf("after %d bytes: %w", n, err)
	case n > opts.MaxFileSize:
		return false, fmt.Errorf("file is larger than the limit of %d bytes", opts.MaxFileSize)
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return false, fmt.Errorf("received %d bytes of %d", n, resp.ContentLength)
	}
	if sum != nil {
		if got := sum.Sum(nil); string(got) != string(want) {
			return false, fmt.Errorf("MD5 %x differs from the %x the server announced", got, want)
		}
	}
	return true, out.Close()
}

// expectedMD5 reads the checksum Google Cloud Storage, which serves the OSV
// export, sends in X-Goog-Hash ("crc32c=...,md5=<base64>").
func expectedMD5(h http.Header) ([]byte, hash.Hash) {
	for _, v := range h.Values("X-Goog-Hash") {
		for part := range strings.SplitSeq(v, ",") {
			if b64, ok := strings.CutPrefix(strings.TrimSpace(part), "md5="); ok {
				if want, err := base64.StdEncoding.DecodeString(b64); err == nil && len(want) == md5.Size {
					return want, md5.New()
				}
			}
		}
	}
	return nil, nil
}

// watchedReader reports the bytes read so far after each read.
type watchedReader struct {
	r      io.Reader
	n      int64
	onRead func(done int64)
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n += int64(n)
	if n > 0 {
		w.onRead(w.n)
	}
	return n, err
}
