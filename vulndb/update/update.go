// Package update builds Vigil's vulnerability database from its sources:
// from a folder laid out like the OSV export (Import, offline), or from the
// network (Download), either the public sources or a mirror of that folder.
//
// Either way the new database is built beside the old one and swapped in only
// once complete and checked; any failure, a dropped connection or a damaged
// archive, leaves the old database in place.
package update

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/cvss"
	"github.com/vigilsec/vigil/vulndb/kev"
	"github.com/vigilsec/vigil/vulndb/osv"
)

// Importers are the importers run on every import, in order.
func Importers() []vulndb.Importer {
	return []vulndb.Importer{osv.Importer{}, kev.Importer{}, cvss.Importer{}}
}

// Result tells what an import or download did.
type Result struct {
	Metadata *vulndb.Metadata
	// Notes are sources that were absent and so skipped, one line each.
	Notes []string
}

// Import builds the database in dir from the folder src, laid out as
// osv/<Ecosystem>/all.zip, known_exploited_vulnerabilities.json and
// cvss.json.gz; sources missing from src are skipped with a note, but there
// must be OSV data.
func Import(ctx context.Context, dir, src string, progress vulndb.ProgressFunc) (*Result, error) {
	if st, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("import %s: not a directory", src)
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	l, err := vulndb.LockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	locate := func(file string) string { return filepath.Join(abs, filepath.FromSlash(file)) }
	return build(ctx, l, os.DirFS(abs), abs, locate, progress)
}

// build runs every importer on root and commits the result.
// origin names root in messages; locate maps root's files to where they
// came from.
func build(ctx context.Context, l *vulndb.Lock, root fs.FS, origin string, locate func(string) string, progress vulndb.ProgressFunc) (*Result, error) {
	b := vulndb.NewBuilder(locate, progress)
	res := &Result{}
	for _, imp := range Importers() {
		err := imp.Import(ctx, root, b)
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) && imp.Name() != "osv":
			res.Notes = append(res.Notes, fmt.Sprintf("no %s data in %s: skipped", imp.Name(), origin))
		default:
			return nil, fmt.Errorf("import from %s: %w", origin, err)
		}
	}
	meta, err := b.Commit(ctx, l)
	if err != nil {
		return nil, err
	}
	res.Metadata = meta
	return res, nil
}
