package integrity

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/layers"
)

// TestResolve follows directory links the way the kernel would inside the
// image root, and stops on loops instead of hanging.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib/x86_64-linux-gnu"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"bin":               "usr/bin",
		"lib64":             "/usr/lib/../lib",
		"usr/lib/multiarch": "x86_64-linux-gnu",
		"loop1":             "loop2",
		"loop2":             "loop1",
		"up":                "../../../usr",
		"usr/bin/self":      ".",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := layers.FromDir(root, layers.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	tests := []struct{ in, want string }{
		{"bin/hostname", "usr/bin/hostname"},
		{"lib64/ld.so", "usr/lib/ld.so"},
		{"usr/lib/multiarch/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6"},
		{"up/bin/ls", "usr/bin/ls"},
		{"bin/self/self/self/ls", "usr/bin/ls"},
		{"etc/passwd", "etc/passwd"},
		{"hostname", "hostname"},
	}
	for _, tt := range tests {
		r := resolver{fsys: fsys, dirs: map[string]string{}}
		if got := r.resolve(tt.in); got != tt.want {
			t.Errorf("resolve(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// A loop ends within the hop budget; where is unspecified.
	r := resolver{fsys: fsys, dirs: map[string]string{}}
	r.resolve("loop1/x")
}
