package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrSchema is returned when a database was written with another layout.
var ErrSchema = errors.New("vulnerability database schema mismatch")

// DB is an open database, read-only. Its methods are safe for concurrent
// use. A DB keeps reading the file it opened even if an update replaces it.
type DB struct {
	bdb        *bolt.DB
	meta       Metadata
	ecosystems map[string]int
	// kev is read whole at Open: about 1,400 small entries, looked up for
	// every finding.
	kev map[string]*KEV
}

// Open opens the database in dir for reading.
func Open(dir string) (*DB, error) {
	name := filepath.Join(dir, FileName)
	if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no vulnerability database in %s (run \"vigil db import DIR\" or \"vigil db update\"): %w", dir, err)
	}
	return openFile(name)
}

func openFile(name string) (*DB, error) {
	bdb, err := bolt.Open(name, 0, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open vulnerability database %s: %w", name, err)
	}
	db := &DB{bdb: bdb}
	err = bdb.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errors.New("no metadata")
		}
		if v := string(meta.Get(keySchema)); v != strconv.Itoa(SchemaVersion) {
			return fmt.Errorf("%w: it has schema %q, this vigil reads %d; rebuild it with \"vigil db import\" or \"vigil db update\"", ErrSchema, v, SchemaVersion)
		}
		for _, b := range [][]byte{bucketAffected, bucketVulns, bucketCVSS, bucketKEV} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("bucket %s missing", b)
			}
		}
		if err := json.Unmarshal(meta.Get(keyMetadata), &db.meta); err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		db.kev = map[string]*KEV{}
		return tx.Bucket(bucketKEV).ForEach(func(k, v []byte) error {
			e, err := decodeKEV(v)
			if err != nil {
				return fmt.Errorf("kev %q: %w", k, err)
			}
			db.kev[string(k)] = e
			return nil
		})
	})
	if err != nil {
		bdb.Close()
		return nil, fmt.Errorf("open vulnerability database %s: %w", name, err)
	}
	db.ecosystems = db.meta.Ecosystems()
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.bdb.Close() }

// Path is the database file.
func (db *DB) Path() string { return db.bdb.Path() }

// Metadata describes the database and its sources.
func (db *DB) Metadata() Metadata { return db.meta }

// HasEcosystem reports whether the database holds any record for ecosystem
// eco ("Debian:12"), which tells "no known vulnerability" from "no data".
func (db *DB) HasEcosystem(eco string) bool { return db.ecosystems[eco] > 0 }

// Affected returns what the database knows of the versions of package name
// of ecosystem eco, one entry per vulnerability, sorted by id.
func (db *DB) Affected(eco, name string) ([]Affected, error) {
	var list []Affected
	err := db.bdb.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAffected).Get([]byte(affectedKey(eco, name)))
		if v == nil {
			return nil
		}
		var err error
		if list, err = decodeAffected(eco, name, v); err != nil {
			return fmt.Errorf("affected %s %s: %w", eco, name, err)
		}
		return nil
	})
	return list, err
}

// Vulnerability returns record id of the ecosystem family of eco, or nil if
// the database has none.
func (db *DB) Vulnerability(eco, id string) (*Vulnerability, error) {
	var v *Vulnerability
	err := db.get(bucketVulns, vulnKey(eco, id), func(b []byte) (err error) {
		v, err = decodeVulnerability(b)
		return err
	})
	return v, err
}

// CVSS returns the vectors the scores source gives for a CVE, or none.
func (db *DB) CVSS(cve string) ([]Severity, error) {
	var s []Severity
	err := db.get(bucketCVSS, cve, func(b []byte) (err error) {
		s, err = decodeSeverities(b)
		return err
	})
	return s, err
}

// KEV returns the KEV catalog's entry for a CVE, or nil if it has none.
func (db *DB) KEV(cve string) *KEV {
	if k, ok := db.kev[cve]; ok {
		c := *k
		return &c
	}
	return nil
}

// get decodes the value of key, if any, while the transaction keeps it valid.
func (db *DB) get(bucket []byte, key string, decode func([]byte) error) error {
	return db.bdb.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get([]byte(key))
		if v == nil {
			return nil
		}
		if err := decode(v); err != nil {
			return fmt.Errorf("%s %q: %w", bucket, key, err)
		}
		return nil
	})
}
