package testimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDebootstrap(t *testing.T) {
	rootfs := Debootstrap(t, "bookworm", "minbase")
	status, err := os.ReadFile(filepath.Join(rootfs, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nPackage: base-files\n") && !strings.HasPrefix(string(status), "Package: base-files\n") {
		t.Error("dpkg status lacks base-files")
	}
	lists, _ := filepath.Glob(filepath.Join(rootfs, "var/lib/apt/lists/*"))
	if len(lists) != 0 {
		t.Errorf("apt lists left in the rootfs: %v", lists)
	}
}
