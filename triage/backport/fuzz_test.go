package backport

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/vigilsec/vigil/internal/testimage"
)

// FuzzParse feeds the parser arbitrary changelogs. It must not panic, must
// keep its index consistent with its entries, must read the same through
// the gzip path as directly, and must quote every item within bounds.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cl, err := parse(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatalf("parse of a reader that cannot fail: %v", err)
		}
		indexed := map[string]map[mention]bool{}
		for id, ms := range cl.byCVE {
			indexed[id] = map[mention]bool{}
			for _, m := range ms {
				indexed[id][m] = true
			}
		}
		mentions := 0
		for ei, e := range cl.entries {
			if e.header == "" || len(e.items) == 0 {
				t.Fatalf("entry %d: header %q with %d items", ei, e.header, len(e.items))
			}
			for ii, it := range e.items {
				if len(it.cves) == 0 {
					t.Fatalf("entry %d item %d names no CVE", ei, ii)
				}
				for _, id := range it.cves {
					mentions++
					if !strings.HasPrefix(id, "CVE-") || !indexed[id][mention{ei, ii}] {
						t.Fatalf("entry %d item %d: %q not indexed", ei, ii, id)
					}
				}
				q := quote(it.text, it.cves[0])
				if !utf8.ValidString(q) || utf8.RuneCountInString(q) > maxQuote+2 {
					t.Fatalf("quote %q of %q: invalid or too long", q, it.cves[0])
				}
			}
		}
		for _, ms := range cl.byCVE {
			mentions -= len(ms)
		}
		if mentions != 0 {
			t.Fatalf("index holds %d mentions more than the entries", -mentions)
		}

		fsys := fstest.MapFS{"changelog.Debian.gz": {Data: testimage.Gzip(t, data)}}
		viaGzip, err := readChangelog(fsys, "changelog.Debian.gz", nil)
		if err != nil {
			t.Fatalf("readChangelog: %v", err)
		}
		if !reflect.DeepEqual(viaGzip.entries, cl.entries) {
			t.Fatalf("read through gzip differs from the direct parse")
		}
	})
}
