package cvss_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigilsec/vigil/internal/testimage"
	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/cvss"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

func TestImport(t *testing.T) {
	data, err := os.ReadFile("testdata/" + cvss.File)
	if err != nil {
		t.Fatal(err)
	}
	meta, db, err := vulndbtest.Build(t, fstest.MapFS{cvss.File: {Data: data}}, cvss.Importer{})
	if err != nil {
		t.Fatal(err)
	}
	s := meta.Sources[0]
	if s.Records != 5 || s.WarningCount() != 1 {
		t.Errorf("source = %+v", s)
	}
	// CVE-2016-15039 has all three versions, in order of preference.
	sev, err := db.CVSS("CVE-2016-15039")
	if err != nil || len(sev) != 3 || sev[0].Version != "3.1" || sev[0].Score != 6.3 || sev[1].Version != "4.0" || sev[1].Score != 5.3 ||
		sev[2].Version != "2.0" || sev[2].Score != 6.5 || sev[0].Source != "cna" {
		t.Errorf("CVE-2016-15039 = %+v, %v", sev, err)
	}
}

// TestSharedScoresMatchVectors checks the whole shared file: every score
// computed from a vector equals the one published with it, but for the few
// v4.0 ones the import reports.
func TestSharedScoresMatchVectors(t *testing.T) {
	data, err := os.ReadFile(vulndbtest.Data(t) + "/" + cvss.File)
	if err != nil {
		t.Fatal(err)
	}
	meta, _, err := vulndbtest.Build(t, fstest.MapFS{cvss.File: {Data: data}}, cvss.Importer{})
	if err != nil {
		t.Fatal(err)
	}
	s := meta.Sources[0]
	if s.Records != 31573 {
		t.Errorf("%d records, want 31573", s.Records)
	}
	for _, w := range s.Warnings {
		for _, ex := range w.Examples {
			if !strings.Contains(ex, "CVSS:4.0/") {
				t.Errorf("%s: %s", w.Reason, ex)
			}
		}
		if w.Count > 10 {
			t.Errorf("%d × %s", w.Count, w.Reason)
		}
	}
}

func TestImportRejects(t *testing.T) {
	good, err := os.ReadFile("testdata/" + cvss.File)
	if err != nil {
		t.Fatal(err)
	}
	gz := func(s string) []byte { return testimage.Gzip(t, []byte(s)) }
	for name, data := range map[string][]byte{
		"truncated":    good[:len(good)-10],
		"not gzip":     []byte(`{}`),
		"not a object": gz(`[1]`),
		"bad entry":    gz(`{"CVE-2020-0001": 5}`),
		"unterminated": gz(`{"CVE-2020-0001": {}`),
	} {
		if _, _, err := vulndbtest.Build(t, fstest.MapFS{cvss.File: {Data: data}}, cvss.Importer{}); err == nil {
			t.Errorf("%s file imported", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"CVE-2016-15039": {"score": 6.3, "src": "cna", "v3": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L"}}`))
	f.Add([]byte(`{"CVE-2002-0380": {"score2": 7.5, "src": "nvd", "v2": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		(cvss.Importer{}).Import(context.Background(), fstest.MapFS{cvss.File: {Data: testimage.Gzip(t, b)}}, vulndb.NewBuilder(nil, nil))
	})
}
