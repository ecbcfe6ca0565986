package vulndb_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestMain(m *testing.M) { vulndbtest.Main(m) }

// The counts are those of ../shared/vulndata/README.md, less the records
// the import reports skipping: 17 withdrawn Go records; 10 withdrawn and 3
// unmatchable PyPI records.
func TestImportedMetadata(t *testing.T) {
	db := vulndbtest.DB(t)
	meta := db.Metadata()
	want := map[string]int{"osv/Debian": 31332, "osv/Alpine": 3655, "osv/Go": 4291 - 17, "osv/PyPI": 2661 - 10 - 3, "kev": 1404, "cvss": 31573}
	got := map[string]int{}
	for _, s := range meta.Sources {
		got[s.Name] = s.Records
		if s.Imported.IsZero() || s.Location == "" {
			t.Errorf("%s: no import time or location: %+v", s.Name, s)
		}
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s: %d records, want %d", name, got[name], n)
		}
	}
	if meta.Schema != vulndb.SchemaVersion {
		t.Errorf("schema %d", meta.Schema)
	}
	snap := map[string]string{}
	warn := map[string]map[string]int{}
	for _, s := range meta.Sources {
		snap[s.Name] = s.Snapshot.Format(time.DateOnly)
		warn[s.Name] = map[string]int{}
		for _, w := range s.Warnings {
			warn[s.Name][w.Reason] = w.Count
		}
	}
	// Snapshot dates as the README gives them; Go's records carry none.
	for name, day := range map[string]string{"osv/Debian": "2025-02-12", "osv/Alpine": "2025-02-16", "osv/PyPI": "2024-10-10", "kev": "2025-08-25", "osv/Go": "0001-01-01"} {
		if snap[name] != day {
			t.Errorf("%s snapshot %s, want %s", name, snap[name], day)
		}
	}
	// On 2025-02-18 only PyPI's data was over a week old; Go's and the
	// scores' carry no date and are not judged.
	var stale []string
	for _, s := range meta.Stale(time.Date(2025, 2, 18, 0, 0, 0, 0, time.UTC), 7*24*time.Hour) {
		stale = append(stale, s.Name)
	}
	if !slices.Equal(stale, []string{"osv/PyPI"}) {
		t.Errorf("stale = %v, want osv/PyPI", stale)
	}
	if warn["osv/Go"]["withdrawn record"] != 17 || warn["osv/PyPI"]["withdrawn record"] != 10 {
		t.Errorf("withdrawn warnings: %v %v", warn["osv/Go"], warn["osv/PyPI"])
	}
	if n := warn["osv/PyPI"]["GIT range ignored (commits, not versions)"]; n != 1391 {
		t.Errorf("GIT ranges counted %d, want the 1391 the data has", n)
	}
	for _, eco := range []string{"Debian:12", "Alpine:v3.19", "Go", "PyPI"} {
		if !db.HasEcosystem(eco) {
			t.Errorf("no ecosystem %s", eco)
		}
	}
	for _, eco := range []string{"Debian:11", "Alpine:v3.22", "npm", "Debian"} {
		if db.HasEcosystem(eco) {
			t.Errorf("ecosystem %s reported present", eco)
		}
	}
}

func TestLookups(t *testing.T) {
	db := vulndbtest.DB(t)
	list, err := db.Affected("Debian:12", "openssl")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(a vulndb.Affected) bool { return a.ID == "CVE-2023-5678" })
	if i < 0 {
		t.Fatalf("openssl has no CVE-2023-5678 among %d entries", len(list))
	}
	wantEvents := []vulndb.Event{{Kind: vulndb.Introduced, Version: "0"}, {Kind: vulndb.Fixed, Version: "3.0.13-1~deb12u1"}}
	if a := list[i]; len(a.Ranges) != 1 || !slices.Equal(a.Ranges[0].Events, wantEvents) || a.Ecosystem != "Debian:12" || a.Name != "openssl" {
		t.Errorf("CVE-2023-5678 = %+v", a)
	}
	if !slices.IsSortedFunc(list, func(a, b vulndb.Affected) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("affected list not sorted by id")
	}

	// Debian's and Alpine's records of the same CVE stay apart: the
	// Alpine one affects openssl on seven releases, v3.15 to v3.21.
	deb, err := db.Vulnerability("Debian:12", "CVE-2023-5678")
	if err != nil || deb == nil {
		t.Fatal(deb, err)
	}
	alp, err := db.Vulnerability("Alpine:v3.19", "CVE-2023-5678")
	if err != nil || alp == nil {
		t.Fatal(alp, err)
	}
	if len(deb.Packages) != 1 || deb.Packages[0].Ecosystem != "Debian:12" || len(alp.Packages) != 7 {
		t.Errorf("Debian packages %+v, Alpine packages %d", deb.Packages, len(alp.Packages))
	}
	if v, err := db.Vulnerability("Go", "CVE-2023-5678"); v != nil || err != nil {
		t.Errorf("Go CVE-2023-5678 = %+v, %v; want none", v, err)
	}

	// PyPI names are looked up normalised.
	for _, name := range []string{"Django", "django"} {
		if l, err := db.Affected("PyPI", name); err != nil || len(l) == 0 {
			t.Errorf("PyPI %s: %d entries, %v", name, len(l), err)
		}
	}

	// Go symbols are kept.
	g, err := db.Vulnerability("Go", "GO-2021-0113")
	if err != nil || g == nil || len(g.Packages) != 1 || len(g.Packages[0].Imports) != 1 ||
		!slices.Equal(g.Packages[0].Imports[0].Symbols, []string{"MatchStrings", "MustParse", "Parse", "ParseAcceptLanguage"}) {
		t.Errorf("GO-2021-0113 = %+v, %v", g, err)
	}

	sev, err := db.CVSS("CVE-2024-2961")
	if err != nil || len(sev) != 1 || sev[0].Source != "adp" || sev[0].Score != 7.3 {
		t.Errorf("CVSS(CVE-2024-2961) = %+v, %v", sev, err)
	}
	if k := db.KEV("CVE-2021-44228"); k == nil || !k.KnownRansomware || k.DateAdded.Format(time.DateOnly) != "2021-12-10" {
		t.Errorf("KEV(Log4Shell) = %+v", k)
	}
	if k := db.KEV("CVE-2023-5678"); k != nil {
		t.Errorf("KEV(CVE-2023-5678) = %+v, want none", k)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := vulndb.Open(t.TempDir()); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "vigil db import") {
		t.Errorf("empty dir: %v", err)
	}

	garbage := t.TempDir()
	if err := os.WriteFile(filepath.Join(garbage, vulndb.FileName), []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := vulndb.Open(garbage); err == nil {
		t.Error("garbage file opened")
	}

	// A database of another schema is refused with a way out.
	other := t.TempDir()
	bdb, err := bolt.Open(filepath.Join(other, vulndb.FileName), 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("schema"), []byte("0"))
	}); err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	if _, err := vulndb.Open(other); !errors.Is(err, vulndb.ErrSchema) || !strings.Contains(err.Error(), "rebuild") {
		t.Errorf("old schema: %v", err)
	}
}

func TestLockWaitsForHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := vulndb.LockDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := vulndb.LockDir(ctx, dir); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second lock: %v", err)
	}
	l.Close()
	l2, err := vulndb.LockDir(context.Background(), dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Close()
}
