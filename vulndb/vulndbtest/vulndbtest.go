// Package vulndbtest gives tests a vulnerability database imported from the
// real data in ../shared/vulndata, once per test binary.
//
// A test binary that uses DB runs its tests through Main:
//
//	func TestMain(m *testing.M) { vulndbtest.Main(m) }
package vulndbtest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/update"
)

// Need skips tb for a missing prerequisite, or fails it when CI=true: CI
// must have everything.
func Need(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s (required when CI=true)", msg)
	}
	tb.Skip(msg)
}

// Data returns the path of the shared vulnerability data (../shared/vulndata
// beside the module root), skipping tb when it is absent.
func Data(tb testing.TB) string {
	tb.Helper()
	dir, err := dataDir()
	if err != nil {
		Need(tb, "shared vulnerability data: %v", err)
	}
	return dir
}

func dataDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			data := filepath.Join(d, "..", "shared", "vulndata")
			if _, err := os.Stat(filepath.Join(data, "osv")); err != nil {
				return "", fmt.Errorf("%s is absent", data)
			}
			return data, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

var shared struct {
	once sync.Once
	dir  string
	db   *vulndb.DB
	err  error
}

// DB returns a database imported from the shared data, built on the first
// call of the test binary. Callers must not close it.
func DB(tb testing.TB) *vulndb.DB {
	tb.Helper()
	data := Data(tb)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "vigil-vulndb-")
		if shared.err != nil {
			return
		}
		if _, shared.err = update.Import(context.Background(), shared.dir, data, nil); shared.err != nil {
			return
		}
		shared.db, shared.err = vulndb.Open(shared.dir)
	})
	if shared.err != nil {
		tb.Fatalf("import %s: %v", data, shared.err)
	}
	return shared.db
}

// Build runs importers on fsys and commits the result to a new database in
// a temporary directory, which it opens. It returns the importers' first
// error rather than failing tb, for tests of bad input.
func Build(tb testing.TB, fsys fs.FS, imps ...vulndb.Importer) (*vulndb.Metadata, *vulndb.DB, error) {
	tb.Helper()
	b := vulndb.NewBuilder(nil, nil)
	for _, imp := range imps {
		if err := imp.Import(context.Background(), fsys, b); err != nil {
			return nil, nil, err
		}
	}
	dir := tb.TempDir()
	l, err := vulndb.LockDir(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	meta, err := b.Commit(context.Background(), l)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := vulndb.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return meta, db, nil
}

// Main runs the tests and removes the database DB built.
func Main(m *testing.M) {
	code := m.Run()
	if shared.db != nil {
		shared.db.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}
