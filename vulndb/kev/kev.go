// Package kev imports CISA's Known Exploited Vulnerabilities catalog
// (known_exploited_vulnerabilities.json), which flags the CVEs attackers are
// known to use.
package kev

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"time"

	"github.com/vigilsec/vigil/vulndb"
)

// File is the catalog's name, in CISA's feed and in a mirror's root.
const File = "known_exploited_vulnerabilities.json"

// URL is CISA's feed.
const URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

// maxSize bounds the catalog: it is about 1.5 MB with 1,400 entries.
const maxSize = 64 << 20

// catalog holds the fields of the catalog Vigil keeps.
type catalog struct {
	CatalogVersion  string  `json:"catalogVersion"`
	DateReleased    string  `json:"dateReleased"`
	Count           int     `json:"count"`
	Vulnerabilities []entry `json:"vulnerabilities"`
}

type entry struct {
	CVEID                      string `json:"cveID"`
	DateAdded                  string `json:"dateAdded"`
	KnownRansomwareCampaignUse string `json:"knownRansomwareCampaignUse"`
}

var cveID = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)

// Importer imports the catalog from the import root.
type Importer struct{}

// Name implements vulndb.Importer.
func (Importer) Name() string { return "kev" }

// Import implements vulndb.Importer.
func (Importer) Import(ctx context.Context, root fs.FS, b *vulndb.Builder) error {
	f, err := root.Open(File)
	if err != nil {
		return fmt.Errorf("kev: %w", err)
	}
	defer f.Close()
	c, err := decode(io.LimitReader(f, maxSize+1))
	if err != nil {
		return fmt.Errorf("kev %s: %w", File, err)
	}
	rec := b.Source("kev", File)
	if t, err := time.Parse(time.RFC3339Nano, c.DateReleased); err == nil {
		rec.SetSnapshot(t)
	} else {
		rec.Warn("unparseable dateReleased", c.DateReleased)
	}
	if c.Count != len(c.Vulnerabilities) {
		rec.Warn("catalog count differs from its entries", fmt.Sprintf("count %d, %d entries", c.Count, len(c.Vulnerabilities)))
	}
	for i, e := range c.Vulnerabilities {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !cveID.MatchString(e.CVEID) {
			rec.Warn("entry without a valid CVE id", e.CVEID)
			continue
		}
		added, err := time.Parse(time.DateOnly, e.DateAdded)
		if err != nil {
			rec.Warn("unparseable dateAdded", e.CVEID+": "+e.DateAdded)
		}
		rec.AddKEV(e.CVEID, vulndb.KEV{DateAdded: added, KnownRansomware: e.KnownRansomwareCampaignUse == "Known"})
	}
	return nil
}

// decode parses a catalog, refusing one larger than maxSize.
func decode(r io.Reader) (*catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("catalog larger than %d bytes", maxSize)
	}
	var c catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("not a KEV catalog: %w", err)
	}
	if c.CatalogVersion == "" || c.Vulnerabilities == nil {
		return nil, fmt.Errorf("not a KEV catalog: no catalogVersion or vulnerabilities")
	}
	return &c, nil
}
