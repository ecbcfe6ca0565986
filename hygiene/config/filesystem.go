package config

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/vigilsec/vigil/hygiene"
	"github.com/vigilsec/vigil/inventory"
	"github.com/vigilsec/vigil/layers"
)

// expectedSetuid are programs distributions ship setuid or setgid on
// purpose (shadow-utils, util-linux, sudo, polkit, OpenSSH, iputils, fuse,
// cron, dbus). Owned by a package, they are reported at Info so the list
// of privileged programs is complete without raising alarms.
var expectedSetuid = map[string]bool{
	"passwd": true, "chsh": true, "chfn": true, "gpasswd": true, "newgrp": true, "chage": true,
	"expiry": true, "unix_chkpwd": true, "su": true, "mount": true, "umount": true, "wall": true,
	"write": true, "sudo": true, "pkexec": true, "ssh-keysign": true, "ssh-agent": true, "ping": true,
	"fusermount": true, "fusermount3": true, "crontab": true, "dbus-daemon-launch-helper": true,
	"polkit-agent-helper-1": true, "bbsuid": true,
}

// filesystemIssues walks the final filesystem for setuid/setgid files and
// world-writable directories without the sticky bit.
func filesystemIssues(ctx context.Context, fsys layers.FS, inv *inventory.Inventory) ([]hygiene.Issue, error) {
	owners := ownersByBase(inv)
	infos := fsys.Layers()
	var issues []hygiene.Issue
	n := 0
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory is the walk's to report
		}
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		mode = fi.Mode()
		switch {
		case mode.IsRegular() && mode&(fs.ModeSetuid|fs.ModeSetgid) != 0:
			issues = append(issues, setuidIssue(fsys, name, fi, owners, infos))
		case mode.IsDir() && mode.Perm()&0o002 != 0 && mode&fs.ModeSticky == 0:
			is := ruleWorldWritable.issue(hygiene.Medium, "",
				fmt.Sprintf("directory /%s is writable by every user (mode %s) and has no sticky bit: any user can delete or replace the files of others", name, mode))
			is.Path, is.Layer = "/"+name, layerOf(fi, infos)
			issues = append(issues, is)
		}
		return nil
	})
	return issues, err
}

func setuidIssue(fsys layers.FS, name string, fi fs.FileInfo, owners map[string][]owned, infos []layers.Info) hygiene.Issue {
	var bits []string
	if fi.Mode()&fs.ModeSetuid != 0 {
		bits = append(bits, "setuid")
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		bits = append(bits, "setgid")
	}
	who := fmt.Sprintf("uid %d", attr(fi).UID)
	if fi.Mode()&fs.ModeSetuid == 0 {
		who = fmt.Sprintf("gid %d", attr(fi).GID)
	}
	var owner *owned
	candidates := owners[path.Base(name)]
	for i := range candidates {
		if sameFile(fsys, candidates[i].path, fi) {
			owner = &candidates[i]
			break
		}
	}
	sev := hygiene.Medium
	msg := fmt.Sprintf("/%s is %s (runs as %s whoever starts it) and no package owns it: it was added by hand", name, strings.Join(bits, " and "), who)
	if owners == nil {
		sev = hygiene.Low
		msg = fmt.Sprintf("/%s is %s (runs as %s whoever starts it); without an inventory its owning package is unknown", name, strings.Join(bits, " and "), who)
	}
	if owner != nil {
		sev = hygiene.Low
		if expectedSetuid[path.Base(name)] {
			sev = hygiene.Info
		}
		msg = fmt.Sprintf("/%s is %s (runs as %s whoever starts it); it belongs to package %s", name, strings.Join(bits, " and "), who, owner.comp.Name)
	}
	if fi.Mode().Perm()&0o002 != 0 {
		sev = hygiene.Critical
		msg += "; it is also world-writable, so any user can replace it and gain its privileges"
	}
	is := ruleSetuid.issue(sev, "", msg)
	is.Path, is.Layer = "/"+name, layerOf(fi, infos)
	is.Evidence = fi.Mode().String()
	if owner != nil {
		is.Component = owner.comp.Ref
	}
	return is
}

type owned struct {
	path string // as the package manager recorded it, without the leading slash
	comp *inventory.Component
}

// ownersByBase indexes package files by base name; nil without an
// inventory, when ownership is unknown rather than absent. A package records paths
// as installed ("/bin/su"), which in a merged-/usr image are reached
// through a symbolic link ("usr/bin/su"); comparing candidates of the same
// base name with sameFile avoids resolving every package path.
func ownersByBase(inv *inventory.Inventory) map[string][]owned {
	if inv == nil {
		return nil
	}
	out := map[string][]owned{}
	for i := range inv.Components {
		c := &inv.Components[i]
		for _, f := range c.Files {
			b := path.Base(f.Path)
			out[b] = append(out[b], owned{path: strings.TrimPrefix(f.Path, "/"), comp: c})
		}
	}
	return out
}

// sameFile reports whether the package path p names the file fi describes:
// the FS follows the directory links in p, and the version of a path is
// identified by the layer that wrote it with its mode, owner and size.
func sameFile(fsys layers.FS, p string, fi fs.FileInfo) bool {
	got, err := fsys.Lstat(p)
	if err != nil {
		return false
	}
	a, b := attr(got), attr(fi)
	return got.Mode() == fi.Mode() && got.Size() == fi.Size() && *a == *b
}

func attr(fi fs.FileInfo) *layers.Attr {
	if a, ok := fi.Sys().(*layers.Attr); ok {
		return a
	}
	return &layers.Attr{Layer: -1}
}

func layerOf(fi fs.FileInfo, infos []layers.Info) *layers.Info {
	i := attr(fi).Layer
	if i < 0 || i >= len(infos) {
		return nil
	}
	l := infos[i]
	return &l
}
