package rpm

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver go-rpmdb's SQLite backend opens

	"github.com/vigilsec/vigil/inventory"
)

// pkg is one package as the child reports it.
type pkg struct {
	Name, Version, Release, Arch string
	Epoch                        *int
	SourceRPM, License, Vendor   string
	ModularityLabel              string
	Files                        []inventory.File
}

// Why a child process: go-rpmdb v0.1.1 reads Berkeley DB and NDB files in
// goroutines it starts itself, and on a crafted database they index past
// their buffers (a 1 KiB file does it; see testdata/hostile), which kills the
// whole process: recover only works in the panicking goroutine. They also
// loop forever on a page chain that does not advance, follow page cycles
// appending without bound, and allocate whatever length a header claims
// (up to 4 GiB per NDB blob, 32 GiB of header index). Only a process
// boundary contains all of that. The child is this same executable, started
// with childEnv naming the database: init below turns it into the reader
// before main runs, as moby's reexec does. It runs under a memory limit
// (limitMemory) and the parent's deadline, and answers with JSON.
const (
	childEnv = "VIGIL_RPMDB_CHILD"
	// maxOutput bounds the child's answer: about 100 bytes per file.
	maxOutput = 512 << 20
)

// childTimeout bounds one database read; real ones take well under a second
// per thousand packages. A variable so tests of endless loops end sooner.
var childTimeout = 2 * time.Minute

func init() {
	if db := os.Getenv(childEnv); db != "" {
		os.Exit(child(db))
	}
}

// readDB lists the packages of the rpm database at path (a local file) in a
// child process.
func readDB(ctx context.Context, path string) ([]pkg, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find executable to read the rpm database: %w", err)
	}
	limited, cancel := context.WithTimeout(ctx, childTimeout)
	defer cancel()
	cmd := exec.CommandContext(limited, exe)
	cmd.Env = []string{childEnv + "=" + path}
	cmd.WaitDelay = time.Second
	var out, stderr bytes.Buffer
	cmd.Stdout = &limitWriter{w: &out, n: maxOutput}
	// The start of stderr says what went wrong (a Go panic's message
	// precedes its long trace); the rest is dropped.
	cmd.Stderr = &limitWriter{w: &stderr, n: 1 << 10, truncate: true}
	err = cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case limited.Err() != nil:
		return nil, fmt.Errorf("rpm database reader gave up after %v", childTimeout)
	case err != nil:
		// The first line is the message: the child's own error, a Go
		// panic's, or the runtime's "out of memory".
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg == "" {
			msg = "no message"
		}
		return nil, fmt.Errorf("rpm database reader failed (%v): %s", err, msg)
	}
	var pkgs []pkg
	if err := json.Unmarshal(out.Bytes(), &pkgs); err != nil {
		return nil, fmt.Errorf("rpm database reader answer: %w", err)
	}
	return pkgs, nil
}

// limitWriter passes on at most n more bytes, so a runaway child cannot make
// the parent buffer without bound. Past the limit it fails, or with
// truncate drops the excess.
type limitWriter struct {
	w        io.Writer
	n        int64
	truncate bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= l.n {
		l.n -= int64(len(p))
		return l.w.Write(p)
	}
	if !l.truncate {
		return 0, errors.New("rpm database reader wrote too much")
	}
	if _, err := l.w.Write(p[:l.n]); err != nil {
		return 0, err
	}
	l.n = 0
	return len(p), nil
}

// child is the reader process: it lists the database and writes the JSON
// answer on stdout, or a message on stderr and a non-zero status.
func child(path string) int {
	out := os.Stdout
	// go-rpmdb's NDB reader prints diagnostics on stdout; keep the answer
	// channel clean.
	os.Stdout = os.Stderr
	limitMemory()
	pkgs, err := list(path)
	if err == nil {
		err = json.NewEncoder(out).Encode(pkgs)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// go-rpmdb's Berkeley DB reader pages in its own goroutine, which
	// closes its channel in a deferred call: when it panics, the close runs
	// first, list sees a short list, and this process could exit 0 before
	// the panic kills it. A moment's wait lets the crash win, so the
	// parent never takes a truncated list for the answer.
	time.Sleep(crashGrace)
	return 0
}

// crashGrace is how long a successful child waits before exiting; see child.
const crashGrace = 50 * time.Millisecond

// list reads every package header. The recover catches panics in this
// goroutine (header parsing); panics in go-rpmdb's own goroutines end the
// child, which the parent reports.
func list(path string) (pkgs []pkg, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed rpm database: parser panicked: %v", r)
		}
	}()
	db, err := rpmdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	infos, err := db.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	for _, p := range infos {
		files, err := p.InstalledFiles()
		if err != nil {
			return nil, fmt.Errorf("package %s: files: %w", p.Name, err)
		}
		pkgs = append(pkgs, pkg{
			Name: p.Name, Version: p.Version, Release: p.Release, Arch: p.Arch, Epoch: p.Epoch,
			SourceRPM: p.SourceRpm, License: p.License, Vendor: p.Vendor, ModularityLabel: p.Modularitylabel,
			Files: installed(files, p.DigestAlgorithm),
		})
	}
	return pkgs, nil
}

const (
	modeTypeMask = 0o170000
	modeDir      = 0o040000
)

// installed keeps the files rpm put on disk: not directories (shared with
// other packages) and not %ghost files (owned, but never written by rpm).
// Digests are hex in the package's digest algorithm; RPM uses MD5 when the
// header names none.
func installed(files []rpmdb.FileInfo, alg rpmdb.DigestAlgorithm) []inventory.File {
	name := "md5"
	if alg != 0 {
		name = alg.String()
	}
	switch name {
	case "md5", "sha1", "sha224", "sha256", "sha384", "sha512":
	default:
		name = "" // RIPEMD-160, TIGER and the like: no digest Vigil can use
	}
	var out []inventory.File
	for _, f := range files {
		if f.Mode&modeTypeMask == modeDir || int32(f.Flags)&rpmdb.RPMFILE_GHOST != 0 {
			continue
		}
		file := inventory.File{Path: cleanPath(f.Path)}
		if _, err := hex.DecodeString(f.Digest); name != "" && f.Digest != "" && err == nil {
			file.Digest = name + ":" + strings.ToLower(f.Digest)
		}
		out = append(out, file)
	}
	return out
}
