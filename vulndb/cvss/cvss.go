// Package cvss imports CVSS vectors per CVE from cvss.json.gz, which fills in
// severities for the CVEs whose OSV records carry none.
//
// The file is one JSON object keyed by CVE id; each value holds up to three
// vectors with the base scores their provider published:
//
//	{"CVE-2016-15039": {"v3": "CVSS:3.1/...", "score": 6.3,
//	                    "v2": "AV:N/...", "score2": 6.5,
//	                    "v4": "CVSS:4.0/...", "score4": 5.3, "src": "cna"}}
//
// src names who assessed it: "osv" (copied from the OSV record), "nvd", or
// CISA Vulnrichment's "cna" and "adp" containers.
package cvss

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"regexp"

	"github.com/vigilsec/vigil/vulndb"
)

// File is the source's name in an import root.
const File = "cvss.json.gz"

// maxSize bounds the uncompressed file: the real one is about 4 MB.
const maxSize = 1 << 30

// scoreTolerance is how far a published score may be from the score computed
// from its vector before the difference is reported.
const scoreTolerance = 0.05

type scores struct {
	V2     string   `json:"v2"`
	Score2 *float64 `json:"score2"`
	V3     string   `json:"v3"`
	Score  *float64 `json:"score"`
	V4     string   `json:"v4"`
	Score4 *float64 `json:"score4"`
	Src    string   `json:"src"`
}

var cveID = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)

// Importer imports cvss.json.gz from the import root.
type Importer struct{}

// Name implements vulndb.Importer.
func (Importer) Name() string { return "cvss" }

// Import implements vulndb.Importer.
func (Importer) Import(ctx context.Context, root fs.FS, b *vulndb.Builder) error {
	f, err := root.Open(File)
	if err != nil {
		return fmt.Errorf("cvss: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("cvss %s: %w", File, err)
	}
	rec := b.Source("cvss", File)
	err = decode(ctx, &limitedReader{r: zr, n: maxSize}, func(cve string, s scores) {
		if !cveID.MatchString(cve) {
			rec.Warn("key that is not a CVE id", cve)
			return
		}
		var out []vulndb.Severity
		for _, v := range []struct {
			vector string
			score  *float64
		}{{s.V3, s.Score}, {s.V4, s.Score4}, {s.V2, s.Score2}} {
			if v.vector == "" {
				continue
			}
			sev, err := vulndb.ParseCVSS(v.vector)
			if err != nil {
				rec.Warn("unparseable CVSS vector", cve+": "+err.Error())
				continue
			}
			if v.score != nil && math.Abs(*v.score-sev.Score) > scoreTolerance {
				rec.Warn("published score differs from its vector's (vector's kept)",
					fmt.Sprintf("%s: %s published %.1f, computed %.1f", cve, v.vector, *v.score, sev.Score))
			}
			sev.Source = s.Src
			out = append(out, sev)
		}
		if len(out) > 0 {
			rec.AddCVSS(cve, out)
		}
	})
	if err != nil {
		return fmt.Errorf("cvss %s: %w", File, err)
	}
	// Reading to the end checks the gzip trailer: a truncated file fails
	// here rather than importing half.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("cvss %s: %w", File, err)
	}
	return nil
}

// decode streams the object in r, calling add for each key, so that memory
// stays bounded by one entry whatever the file's size.
func decode(ctx context.Context, r io.Reader, add func(string, scores)) error {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object of CVE ids (%v)", err)
	}
	for i := 0; dec.More(); i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var s scores
		if err := dec.Decode(&s); err != nil {
			return fmt.Errorf("entry %q: %w", key, err)
		}
		add(key, s)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	return nil
}

var errTooLarge = errors.New("cvss source larger than the size limit")

// limitedReader is io.LimitReader that fails, rather than ends, at its
// limit, so that an oversized file is an error and not a silent truncation.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
