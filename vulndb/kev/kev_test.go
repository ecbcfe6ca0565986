package kev_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/kev"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestImportShared(t *testing.T) {
	data, err := os.ReadFile(vulndbtest.Data(t) + "/" + kev.File)
	if err != nil {
		t.Fatal(err)
	}
	meta, db, err := vulndbtest.Build(t, fstest.MapFS{kev.File: {Data: data}}, kev.Importer{})
	if err != nil {
		t.Fatal(err)
	}
	s := meta.Sources[0]
	if s.Records != 1404 || s.Snapshot.Format(time.DateOnly) != "2025-08-25" || len(s.Warnings) != 0 {
		t.Errorf("source = %+v", s)
	}
	if k := db.KEV("CVE-2021-44228"); k == nil || !k.KnownRansomware {
		t.Errorf("Log4Shell = %+v", k)
	}
	if k := db.KEV("CVE-2023-4911"); k == nil || k.KnownRansomware || k.DateAdded.Format(time.DateOnly) != "2023-11-21" {
		t.Errorf("Looney Tunables = %+v", k)
	}
}

func TestImportRejects(t *testing.T) {
	good, err := os.ReadFile("testdata/" + kev.File)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"truncated":    good[:len(good)/2],
		"not a object": []byte(`[1, 2]`),
		"other JSON":   []byte(`{"title": "something else"}`),
		"too large":    bytes.Repeat([]byte(" "), 64<<20+1),
	} {
		if _, _, err := vulndbtest.Build(t, fstest.MapFS{kev.File: {Data: data}}, kev.Importer{}); err == nil {
			t.Errorf("%s catalog imported", name)
		}
	}
	bad := bytes.Replace(good, []byte(`"CVE-2014-6271"`), []byte(`"not-a-cve"`), 1)
	meta, _, err := vulndbtest.Build(t, fstest.MapFS{kev.File: {Data: bad}}, kev.Importer{})
	if err != nil {
		t.Fatal(err)
	}
	if s := meta.Sources[0]; s.Records != 2 || s.WarningCount() != 1 {
		t.Errorf("bad id: %d records, %+v", s.Records, s.Warnings)
	}
}

func FuzzDecode(f *testing.F) {
	data, err := os.ReadFile("testdata/" + kev.File)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, b []byte) {
		(kev.Importer{}).Import(context.Background(), fstest.MapFS{kev.File: {Data: b}}, vulndb.NewBuilder(nil, nil))
	})
}
