package update_test

import (
	"context"
	"testing"

	"github.com/vigilsec/vigil/vulndb/update"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

// BenchmarkImport imports all of ../shared/vulndata; the goal is under 10 s
// on a two-core machine.
func BenchmarkImport(b *testing.B) {
	data := vulndbtest.Data(b)
	dir := b.TempDir()
	for b.Loop() {
		if _, err := update.Import(context.Background(), dir, data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
