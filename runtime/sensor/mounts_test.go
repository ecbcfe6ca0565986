//go:build linux

package sensor

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

func TestResolveIn(t *testing.T) {
	// A runc container whose root is a host directory, with a bind mount
	// of another host directory and a tmpfs; and an overlayfs one.
	runc := mountEntries([]*mountinfo.Info{
		{Major: 254, Minor: 0, Root: "/tmp/c1/rootfs", Mountpoint: "/", FSType: "ext4"},
		{Major: 254, Minor: 0, Root: "/tmp/c1/data", Mountpoint: "/data", FSType: "ext4"},
		{Major: 0, Minor: 40, Root: "/", Mountpoint: "/run", FSType: "tmpfs"},
	})
	overlay := mountEntries([]*mountinfo.Info{
		{Major: 0, Minor: 51, Root: "/", Mountpoint: "/", FSType: "overlay"},
		{Major: 254, Minor: 0, Root: "/srv/config", Mountpoint: "/etc/app/", FSType: "ext4"},
	})
	for _, tc := range []struct {
		name     string
		mounts   []mountEntry
		dev      uint32 // kernel encoding
		names    []string
		complete bool
		want     string // "" for not the container's
	}{
		{"file in the root", runc, 254 << 20, []string{"passwd", "etc", "rootfs", "c1", "tmp"}, true, "/etc/passwd"},
		{"bind mount wins over the root", runc, 254 << 20, []string{"state", "data", "c1", "tmp"}, true, "/data/state"},
		{"the mount's own root", runc, 254 << 20, []string{"data", "c1", "tmp"}, true, "/data"},
		{"a sibling with a common prefix is not under the root", runc, 254 << 20, []string{"x", "rootfs2", "c1", "tmp"}, true, ""},
		{"host file on the container's device", runc, 254 << 20, []string{"shadow", "etc"}, true, ""},
		{"tmpfs", runc, 40, []string{"pid", "app"}, true, "/run/app/pid"},
		{"device not mounted", runc, 7<<20 | 3, []string{"a"}, true, ""},
		{"overlay", overlay, 51, []string{"evil", "etc"}, true, "/etc/evil"},
		{"overlay root", overlay, 51, nil, true, "/"},
		{"mount point with a trailing slash", overlay, 254 << 20, []string{"app.conf", "config", "srv"}, true, "/etc/app/app.conf"},
		{"too deep to read whole", overlay, 51, []string{"f", "d"}, false, "/…/d/f"},
		{"too deep, device not mounted", overlay, 9, []string{"f"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := resolveIn(tc.mounts, int(tc.dev>>20), int(tc.dev&0xfffff), tc.names, tc.complete)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("resolve %v on %d:%d = %q, %v; want %q", tc.names, tc.dev>>20, tc.dev&0xfffff, got, ok, tc.want)
			}
		})
	}
}

func TestFileMounts(t *testing.T) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &st); err != nil {
		t.Fatal(err)
	}
	own := uint32(st.Ino)
	if _, err := fileMounts(os.Getpid(), own+1); err == nil || !strings.Contains(err.Error(), "reused") {
		t.Errorf("a PID in another mount namespace (as after reuse): want an error saying so, got %v", err)
	}
	ms, err := fileMounts(os.Getpid(), own)
	if err != nil {
		t.Fatal(err)
	}
	root := false
	for _, m := range ms {
		if pseudoFS[m.FSType] {
			t.Errorf("pseudo file system kept: %s on %s", m.FSType, m.Mountpoint)
		}
		root = root || m.Mountpoint == "/"
	}
	if !root {
		t.Errorf("no / among %d mounts", len(ms))
	}
}

func TestSplitNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"passwd\x00etc\x00", []string{"passwd", "etc"}},
		{"passwd\x00et", []string{"passwd"}}, // cut by the record's end
		{"\x00", []string{""}},
	} {
		if got := splitNames([]byte(tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("splitNames(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzResolve feeds arbitrary record bytes through the names parser and
// the mount mapping: whatever the kernel sends, the result is an absolute
// path under one of the container's mounts, or nothing.
func FuzzResolve(f *testing.F) {
	f.Add([]byte("passwd\x00etc\x00rootfs\x00c1\x00tmp\x00"), true)
	f.Add([]byte("..\x00..\x00etc\x00"), true)
	f.Add([]byte("a/b\x00\x00"), false)
	mounts := mountEntries([]*mountinfo.Info{
		{Major: 254, Minor: 0, Root: "/tmp/c1/rootfs", Mountpoint: "/", FSType: "ext4"},
		{Major: 254, Minor: 0, Root: "/tmp/c1/data", Mountpoint: "/data", FSType: "ext4"},
	})
	f.Fuzz(func(t *testing.T, rec []byte, complete bool) {
		p, ok := resolveIn(mounts, 254, 0, splitNames(rec), complete)
		if ok && !strings.HasPrefix(p, "/") {
			t.Errorf("resolved to a relative path %q", p)
		}
	})
}
