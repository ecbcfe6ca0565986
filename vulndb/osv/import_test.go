package osv_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/osv"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

// archive zips the testdata records, plus extra entries, as an OSV export.
func archive(t *testing.T, extra map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(filepath.Base(f))
		w.Write(data)
	}
	for name, data := range extra {
		w, _ := zw.Create(name)
		w.Write([]byte(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImport(t *testing.T) {
	fsys := fstest.MapFS{"osv/Mixed/all.zip": {Data: archive(t, map[string]string{
		"README.txt":      "not a record",
		"BROKEN-1.json":   `{"id": "BROKEN-1", "affected": [`,
		"WRONGTYPE.json":  `{"id": 5}`,
		"NOAFFECTED.json": `{"id": "NOAFFECTED", "modified": "2030-01-01T00:00:00Z"}`,
	})}}
	meta, _, err := vulndbtest.Build(t, fsys, osv.Importer{})
	if err != nil {
		t.Fatal(err)
	}
	s := meta.Sources[0]
	// Ten records, of which GO-2022-0617 is withdrawn and PYSEC-2019-125
	// unusable; the Debian and Alpine CVE-2023-5678 are distinct.
	if s.Name != "osv/Mixed" || s.Records != 8 {
		t.Errorf("source %s has %d records, want osv/Mixed with 8", s.Name, s.Records)
	}
	w := map[string]int{}
	for _, x := range s.Warnings {
		w[x.Reason] = x.Count
	}
	if w["archive entry that is not a .json record"] != 1 || w["malformed record"] != 2 || w["record affects no package Vigil can match"] != 2 || w["withdrawn record"] != 1 {
		t.Errorf("warnings = %v", w)
	}
	if s.Ecosystems["Debian:12"] != 3 || s.Ecosystems["Alpine:v3.19"] != 1 || s.Ecosystems["Go"] != 2 {
		t.Errorf("ecosystems = %v", s.Ecosystems)
	}
	// The newest modified date of the kept records, not of skipped ones.
	if s.Snapshot.Year() == 2030 {
		t.Errorf("snapshot %v taken from a skipped record", s.Snapshot)
	}
}

func TestImportDamagedArchive(t *testing.T) {
	data := archive(t, nil)
	// Flip a byte inside the first entry's compressed data: its checksum
	// no longer matches, and the import must fail rather than skip it.
	damaged := bytes.Clone(data)
	damaged[60] ^= 0xff
	for name, z := range map[string][]byte{"damaged": damaged, "truncated": data[:len(data)/2], "empty": nil} {
		b := vulndb.NewBuilder(nil, nil)
		err := (osv.Importer{}).Import(context.Background(), fstest.MapFS{"osv/Go/all.zip": {Data: z}}, b)
		if err == nil {
			t.Errorf("%s archive imported", name)
		}
	}
	if err := (osv.Importer{}).Import(context.Background(), fstest.MapFS{}, vulndb.NewBuilder(nil, nil)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no archive: %v", err)
	}
}

// TestNewestRecordWins imports one id twice: the newer record replaces the
// older, including the packages only the older one named.
func TestNewestRecordWins(t *testing.T) {
	rec := func(modified, pkg string) []byte {
		return []byte(`{"id": "GO-2099-0001", "modified": "` + modified + `", "affected": [{"package": {"ecosystem": "Go", "name": "` + pkg +
			`"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}`)
	}
	zipOf := func(data []byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("GO-2099-0001.json")
		w.Write(data)
		zw.Close()
		return buf.Bytes()
	}
	fsys := fstest.MapFS{
		"osv/A/all.zip": {Data: zipOf(rec("2024-01-01T00:00:00Z", "example.com/old"))},
		"osv/B/all.zip": {Data: zipOf(rec("2025-01-01T00:00:00Z", "example.com/new"))},
		"osv/C/all.zip": {Data: zipOf(rec("2023-01-01T00:00:00Z", "example.com/older"))},
	}
	meta, db, err := vulndbtest.Build(t, fsys, osv.Importer{})
	if err != nil {
		t.Fatal(err)
	}
	for pkg, want := range map[string]int{"example.com/old": 0, "example.com/new": 1, "example.com/older": 0} {
		if l, err := db.Affected("Go", pkg); err != nil || len(l) != want {
			t.Errorf("%s: %d entries, %v; want %d", pkg, len(l), err, want)
		}
	}
	dups := 0
	for _, s := range meta.Sources {
		dups += s.WarningCount()
	}
	if dups != 2 {
		t.Errorf("%d duplicate warnings, want 2", dups)
	}
}
