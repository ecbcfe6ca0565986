package vulndb

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigilsec/vigil/vulndb/ecosystem"
)

// Importer reads one kind of source into a Builder.
type Importer interface {
	// Name identifies the importer: "osv", "kev", "cvss".
	Name() string
	// Import reads the importer's files from root, laid out as the OSV
	// export and Vigil's mirrors lay them out (osv/<Ecosystem>/all.zip,
	// known_exploited_vulnerabilities.json, cvss.json.gz). It returns an
	// error wrapping fs.ErrNotExist when root has none of its files.
	Import(ctx context.Context, root fs.FS, b *Builder) error
}

// ProgressFunc is told how far a long step has gone: done out of total
// units (bytes or records; total is 0 when unknown). It is called from one
// goroutine at a time.
type ProgressFunc func(stage string, done, total int64)

// Bucket names.
var (
	bucketMeta     = []byte("meta")
	bucketAffected = []byte("affected")
	bucketVulns    = []byte("vulns")
	bucketCVSS     = []byte("cvss")
	bucketKEV      = []byte("kev")

	keySchema   = []byte("schema")
	keyMetadata = []byte("metadata")
)

// affectedKey is the key of a package's affected list; names are
// normalised so that lookups need not know how the record spelled them.
func affectedKey(eco, name string) string {
	return eco + "\x00" + ecosystem.NormalizeName(eco, name)
}

// vulnKey is the key of a record. Records are keyed by ecosystem family as
// well as id because sources reuse ids: Debian's and Alpine's exports both
// hold a record "CVE-2023-5678", each saying different things.
func vulnKey(eco, id string) string {
	return ecosystem.Base(eco) + "\x00" + id
}

// Builder collects what importers read and writes it as a new database.
// Its methods are safe for concurrent use.
type Builder struct {
	locate   func(string) string
	progress ProgressFunc

	mu       sync.Mutex
	affected map[string]map[string]Affected // affectedKey → id → entry
	vulns    map[string]*Vulnerability      // vulnKey → record
	cvss     map[string][]Severity          // CVE → vectors
	kev      map[string]KEV                 // CVE → entry
	sources  []*Recorder
}

// NewBuilder returns an empty Builder. locate maps a source file, a slash
// path relative to the import root, to the path or URL it came from, for the
// metadata; progress may be nil.
func NewBuilder(locate func(file string) string, progress ProgressFunc) *Builder {
	if locate == nil {
		locate = func(file string) string { return file }
	}
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	return &Builder{
		locate:   locate,
		progress: progress,
		affected: map[string]map[string]Affected{},
		vulns:    map[string]*Vulnerability{},
		cvss:     map[string][]Severity{},
		kev:      map[string]KEV{},
	}
}

// Recorder records the data of one source into a Builder.
type Recorder struct {
	b    *Builder
	info SourceInfo
	warn warnings
}

// Source starts recording the source name, read from file (a slash path
// relative to the import root).
func (b *Builder) Source(name, file string) *Recorder {
	r := &Recorder{
		b: b,
		info: SourceInfo{
			Name:       name,
			Location:   b.locate(file),
			Ecosystems: map[string]int{},
		},
		warn: warnings{},
	}
	b.mu.Lock()
	b.sources = append(b.sources, r)
	b.mu.Unlock()
	return r
}

// Progress reports that done out of total units of this source were read.
func (r *Recorder) Progress(done, total int64) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.b.progress("import "+r.info.Name, done, total)
}

// Warn counts a problem met in the source; example names the record or
// value concerned.
func (r *Recorder) Warn(reason, example string) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.warn.add(reason, example)
}

// SetSnapshot records when the source's data was produced, for sources
// whose records carry no dates.
func (r *Recorder) SetSnapshot(t time.Time) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if t.After(r.info.Snapshot) {
		r.info.Snapshot = t.UTC()
	}
}

// Add records a vulnerability and the versions it affects, one Affected per
// package. Entries of one record for the same package are merged. When two
// records of one ecosystem family share an id, the newest is kept.
func (r *Recorder) Add(v *Vulnerability, affected []Affected) {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()

	merged := map[string]Affected{}
	ecos := map[string]bool{}
	for _, a := range affected {
		k := affectedKey(a.Ecosystem, a.Name)
		m, ok := merged[k]
		if !ok {
			m = Affected{Ecosystem: a.Ecosystem, Name: ecosystem.NormalizeName(a.Ecosystem, a.Name), ID: v.ID}
		}
		m.Ranges = append(m.Ranges, a.Ranges...)
		m.Versions = append(m.Versions, a.Versions...)
		merged[k] = m
		ecos[a.Ecosystem] = true
	}
	bases := map[string]bool{}
	for eco := range ecos {
		bases[ecosystem.Base(eco)] = true
	}
	for base := range bases {
		old, ok := b.vulns[vulnKey(base, v.ID)]
		if !ok {
			continue
		}
		r.warn.add("duplicate record id (newest kept)", v.ID)
		if old.Modified.After(v.Modified) {
			return
		}
		for _, p := range old.Packages {
			k := affectedKey(p.Ecosystem, p.Name)
			if delete(b.affected[k], v.ID); len(b.affected[k]) == 0 {
				delete(b.affected, k)
			}
		}
	}
	for base := range bases {
		b.vulns[vulnKey(base, v.ID)] = v
	}
	for k, a := range merged {
		ids := b.affected[k]
		if ids == nil {
			ids = map[string]Affected{}
			b.affected[k] = ids
		}
		ids[v.ID] = a
	}
	r.info.Records++
	for eco := range ecos {
		r.info.Ecosystems[eco]++
	}
	if v.Modified.After(r.info.Snapshot) {
		r.info.Snapshot = v.Modified.UTC()
	}
}

// AddCVSS records the CVSS vectors a scores source gives for a CVE.
func (r *Recorder) AddCVSS(cve string, s []Severity) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.b.cvss[cve] = s
	r.info.Records++
}

// AddKEV records that a CVE is in the KEV catalog.
func (r *Recorder) AddKEV(cve string, k KEV) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	r.b.kev[cve] = k
	r.info.Records++
}

// Commit writes the database into the directory l holds and makes it the
// current one: it writes a new file beside the old, flushes it to disk,
// checks it opens, and renames it over the old one, so that a crash at any
// moment leaves either database whole. l must be held until Commit returns.
func (b *Builder) Commit(ctx context.Context, l *Lock) (*Metadata, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now().UTC()
	meta := &Metadata{Schema: SchemaVersion, Built: now}
	for _, r := range b.sources {
		info := r.info
		info.Imported = now
		info.Warnings = r.warn.list()
		if len(info.Ecosystems) == 0 {
			info.Ecosystems = nil
		}
		meta.Sources = append(meta.Sources, info)
	}

	f, err := os.CreateTemp(l.dir, tempPrefix+"db-*")
	if err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	tmp := f.Name()
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp)
		}
	}()
	if err := b.write(ctx, tmp, meta); err != nil {
		return nil, fmt.Errorf("write database %s: %w", tmp, err)
	}
	check, err := openFile(tmp)
	if err != nil {
		return nil, fmt.Errorf("check new database: %w", err)
	}
	if err := check.Close(); err != nil {
		return nil, fmt.Errorf("check new database: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, FileName)); err != nil {
		return nil, fmt.Errorf("install new database: %w", err)
	}
	renamed = true
	if err := syncDir(l.dir); err != nil {
		return nil, fmt.Errorf("install new database: %w", err)
	}
	return meta, nil
}

// batchSize bounds the keys written per transaction, and so the dirty pages
// bbolt holds in memory before a commit.
const batchSize = 50000

// write fills the file at name. Sync is off while writing, since the file
// is not in use until renamed, and one fsync at the end makes it durable.
// Keys go in sorted, and pages are filled completely, which is what bbolt
// writes fastest and stores smallest.
func (b *Builder) write(ctx context.Context, name string, meta *Metadata) error {
	// A large initial mapping spares bbolt remapping, and copying every
	// dirty node, each time the file grows; it is address space, not memory.
	bdb, err := bolt.Open(name, 0o644, &bolt.Options{NoSync: true, NoGrowSync: true, Timeout: time.Second, InitialMmapSize: 1 << 30})
	if err != nil {
		return err
	}
	defer bdb.Close()

	total := int64(len(b.affected) + len(b.vulns) + len(b.cvss) + len(b.kev))
	var done int64
	put := func(bucket []byte, keys []string, value func(string) []byte) error {
		// The bucket is created even when keys is empty, so that readers
		// find every bucket.
		for start := 0; ; start += batchSize {
			end := min(start+batchSize, len(keys))
			err := bdb.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists(bucket)
				if err != nil {
					return err
				}
				bk.FillPercent = 1
				for _, k := range keys[start:end] {
					if err := bk.Put([]byte(k), value(k)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			done += int64(end - start)
			b.progress("write", done, total)
			if end == len(keys) {
				return nil
			}
		}
	}

	if err := put(bucketAffected, slices.Sorted(maps.Keys(b.affected)), func(k string) []byte {
		ids := b.affected[k]
		list := make([]Affected, 0, len(ids))
		for _, id := range slices.Sorted(maps.Keys(ids)) {
			list = append(list, ids[id])
		}
		return encodeAffected(list)
	}); err != nil {
		return err
	}
	if err := put(bucketVulns, slices.Sorted(maps.Keys(b.vulns)), func(k string) []byte {
		return encodeVulnerability(b.vulns[k])
	}); err != nil {
		return err
	}
	if err := put(bucketCVSS, slices.Sorted(maps.Keys(b.cvss)), func(k string) []byte {
		return encodeSeverities(b.cvss[k])
	}); err != nil {
		return err
	}
	if err := put(bucketKEV, slices.Sorted(maps.Keys(b.kev)), func(k string) []byte {
		return encodeKEV(b.kev[k])
	}); err != nil {
		return err
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := bk.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		return bk.Put(keyMetadata, metaJSON)
	}); err != nil {
		return err
	}
	if err := bdb.Sync(); err != nil {
		return err
	}
	return bdb.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
