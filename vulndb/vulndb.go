// Package vulndb is Vigil's vulnerability database: an embedded bbolt store,
// built from public sources by importers, replaced atomically, and read by
// the matchers.
//
// The store keeps, per (ecosystem, package name), which versions each
// vulnerability affects, in a compact binary form because every match reads
// it; and per vulnerability the facts a finding shows: aliases, summary,
// dates, CVSS vectors, references and, for Go, the affected symbols. CVSS
// vectors from a separate scores source and the CISA KEV catalog are kept per
// CVE id.
//
// Importers (vulndb/osv, vulndb/kev, vulndb/cvss) fill a Builder; the Builder
// writes a new database file beside the old one and renames it over, so a
// reader, or a crash, never sees a half-written database. vulndb/update
// drives importers from a folder or a mirror URL.
package vulndb

import (
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion changes whenever the stored layout does; a database of
// another schema is refused with a message to rebuild it.
const SchemaVersion = 1

// FileName is the name of the database file inside its directory.
const FileName = "vigil.db"

// DefaultDir is where the database lives unless --db says otherwise:
// vigil/db under the user's cache directory.
func DefaultDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "vigil", "db"), nil
}

// Affected says which versions of one package one vulnerability affects.
type Affected struct {
	// Ecosystem and Name identify the package as the data names it
	// ("Debian:12", "openssl"); Name is normalised per ecosystem.
	Ecosystem string
	Name      string
	// ID is the OSV id of the record.
	ID string
	// Ranges are the record's ranges whose versions could be parsed, each
	// with its events sorted in the order of its scheme.
	Ranges []Range
	// Versions lists affected versions one by one, when the record does.
	Versions []string
}

// RangeType is how a range's versions compare.
type RangeType uint8

const (
	// RangeEcosystem ranges compare by the ecosystem's own rules.
	RangeEcosystem RangeType = iota + 1
	// RangeSemVer ranges compare as semantic versions.
	RangeSemVer
)

// Range is one OSV range of type ECOSYSTEM or SEMVER. GIT ranges name
// commits, which installed packages do not carry, so they are not kept.
type Range struct {
	Type   RangeType
	Events []Event
}

// EventKind is the kind of an OSV range event.
type EventKind uint8

// The OSV range events. The order is that of events at the same version:
// an introduction comes before what ends it.
const (
	Introduced EventKind = iota + 1
	Fixed
	LastAffected
	Limit
)

func (k EventKind) String() string {
	switch k {
	case Introduced:
		return "introduced"
	case Fixed:
		return "fixed"
	case LastAffected:
		return "last_affected"
	case Limit:
		return "limit"
	}
	return "unknown"
}

// Event is one event of a range. An Introduced event at "0" means "since
// the first version"; a Limit at "*" means no limit.
type Event struct {
	Kind    EventKind
	Version string
}

// Vulnerability is what the database keeps of one OSV record.
type Vulnerability struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	// Related ids are other records about the same problem that are not the
	// same vulnerability: a Debian DSA lists the CVEs it fixes here.
	Related []string `json:"related,omitempty"`
	// Summary is the record's summary, or the first paragraph of its
	// details, shortened.
	Summary   string    `json:"summary,omitempty"`
	Published time.Time `json:"published,omitzero"`
	Modified  time.Time `json:"modified,omitzero"`
	// Severity holds the CVSS vectors the record itself carries.
	Severity   []Severity  `json:"severity,omitempty"`
	References []Reference `json:"references,omitempty"`
	// Packages describes each affected package beyond its versions.
	Packages []Package `json:"packages,omitempty"`
}

// Package is what a record says about one affected package beyond versions.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	// Imports are the Go packages and symbols the vulnerable code is in:
	// a binary that does not link them is not exposed.
	Imports []Import `json:"imports,omitempty"`
	// Urgency is the distribution's own rating of the issue for this
	// package (Debian: "unimportant", "low", ...), when it gives one.
	Urgency string `json:"urgency,omitempty"`
}

// Import is one Go package path with its vulnerable symbols.
type Import struct {
	Path    string   `json:"path"`
	Symbols []string `json:"symbols,omitempty"`
	GOOS    []string `json:"goos,omitempty"`
	GOARCH  []string `json:"goarch,omitempty"`
}

// Reference is a link about a vulnerability.
type Reference struct {
	Type string `json:"type"` // OSV reference type: ADVISORY, FIX, WEB...
	URL  string `json:"url"`
}

// KEV is an entry of CISA's Known Exploited Vulnerabilities catalog.
type KEV struct {
	DateAdded       time.Time `json:"dateAdded"`
	KnownRansomware bool      `json:"knownRansomware,omitempty"`
}
