package update_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/vulndb"
	"github.com/vigilsec/vigil/vulndb/update"
	"github.com/vigilsec/vigil/vulndb/vulndbtest"
)

// crashChild names the environment variable that makes the test binary an
// import to be killed (see TestKillDuringImport).
const crashChild = "VIGIL_TEST_IMPORT_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChild); dir != "" {
		if _, err := update.Import(context.Background(), dir, os.Getenv(crashChild+"_SRC"), nil); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	vulndbtest.Main(m)
}

// smallFolder links part of the shared data into a new folder: the Go
// archive and the KEV catalog, quick to import.
func smallFolder(t *testing.T) string {
	t.Helper()
	data := vulndbtest.Data(t)
	dir := t.TempDir()
	for _, f := range []string{"osv/Go/all.zip", "known_exploited_vulnerabilities.json"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(data, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// oldDB builds a database from smallFolder and returns its directory and
// build time, the fingerprint of "the old database is still there".
func oldDB(t *testing.T) (string, time.Time) {
	t.Helper()
	dir := t.TempDir()
	res, err := update.Import(context.Background(), dir, smallFolder(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, res.Metadata.Built
}

// checkOld asserts that dir still holds the database built at built, that
// it answers, and that no temporary file is left but by a killed process.
func checkOld(t *testing.T, dir string, built time.Time, leftoversAllowed bool) {
	t.Helper()
	db, err := vulndb.Open(dir)
	if err != nil {
		t.Fatalf("old database does not open: %v", err)
	}
	defer db.Close()
	if got := db.Metadata().Built; !got.Equal(built) {
		t.Errorf("database built at %v, want the old one of %v", got, built)
	}
	list, err := db.Affected("Go", "golang.org/x/text")
	if err != nil || len(list) == 0 {
		t.Errorf("old database does not answer: %d entries, %v", len(list), err)
	}
	if !leftoversAllowed {
		if left := leftovers(t, dir); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	}
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestImportErrorsKeepOld(t *testing.T) {
	dir, built := oldDB(t)
	empty := t.TempDir()
	notDir := filepath.Join(empty, "file")
	os.WriteFile(notDir, nil, 0o644)
	brokenZip := t.TempDir()
	os.MkdirAll(filepath.Join(brokenZip, "osv", "Go"), 0o755)
	os.WriteFile(filepath.Join(brokenZip, "osv", "Go", "all.zip"), []byte("PK\x03\x04 not really"), 0o644)
	for name, src := range map[string]string{"missing": filepath.Join(empty, "nope"), "no osv data": empty, "not a folder": notDir, "broken zip": brokenZip} {
		if _, err := update.Import(context.Background(), dir, src, nil); err == nil {
			t.Errorf("%s: imported", name)
		}
		checkOld(t, dir, built, false)
	}
}

func TestImportNotesMissingSources(t *testing.T) {
	res, err := update.Import(context.Background(), t.TempDir(), smallFolder(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "no cvss data") {
		t.Errorf("notes = %q", res.Notes)
	}
}

// TestDownloadFromMirror serves the shared folder on 127.0.0.1 and updates
// from it: the result must hold what importing the folder gives.
func TestDownloadFromMirror(t *testing.T) {
	data := vulndbtest.Data(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(data)))
	defer srv.Close()
	dir := t.TempDir()
	res, err := update.Download(context.Background(), dir, update.Options{Mirror: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// npm and Maven are default ecosystems the folder lacks.
	if len(res.Notes) != 2 || !strings.Contains(res.Notes[0], "/osv/Maven/all.zip: not found") || !strings.Contains(res.Notes[1], "/osv/npm/all.zip") {
		t.Errorf("notes = %q", res.Notes)
	}
	want := vulndbtest.DB(t).Metadata()
	got := res.Metadata
	if len(got.Sources) != len(want.Sources) {
		t.Fatalf("%d sources, want %d", len(got.Sources), len(want.Sources))
	}
	for i, s := range got.Sources {
		w := want.Sources[i]
		if s.Name != w.Name || s.Records != w.Records || !s.Snapshot.Equal(w.Snapshot) {
			t.Errorf("source %s: %d records of %v, want %s: %d of %v", s.Name, s.Records, s.Snapshot, w.Name, w.Records, w.Snapshot)
		}
		if !strings.HasPrefix(s.Location, srv.URL+"/") {
			t.Errorf("%s location %s", s.Name, s.Location)
		}
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// mirror serves folder, but lets handler take over one path.
func mirror(t *testing.T, folder, path string, handler http.HandlerFunc) *httptest.Server {
	files := http.FileServer(http.Dir(folder))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			handler(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDownloadFailuresKeepOld(t *testing.T) {
	dir, built := oldDB(t)
	folder := smallFolder(t)
	zipData, err := os.ReadFile(filepath.Join(folder, "osv", "Go", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	const zipPath = "/osv/Go/all.zip"
	tests := []struct {
		name    string
		handler http.HandlerFunc
		opts    update.Options
		errText string
	}{
		{"connection cut mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(zipData)))
			w.WriteHeader(http.StatusOK)
			w.Write(zipData[:len(zipData)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
		}, update.Options{}, "unexpected EOF"},
		{"corrupt archive, complete transfer", func(w http.ResponseWriter, r *http.Request) {
			bad := bytes.Clone(zipData)
			bad[len(bad)/3] ^= 0xff
			w.Write(bad)
		}, update.Options{}, "zip: "},
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, update.Options{}, "500"},
		{"stalled", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			w.Write(zipData[:100])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, update.Options{StallTimeout: 300 * time.Millisecond}, "nothing received for 300ms"},
		{"larger than the limit", func(w http.ResponseWriter, r *http.Request) {
			w.Write(zipData)
		}, update.Options{MaxFileSize: 1 << 20}, "larger than the limit"},
		{"checksum mismatch", func(w http.ResponseWriter, r *http.Request) {
			sum := md5.Sum([]byte("something else"))
			w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5="+base64.StdEncoding.EncodeToString(sum[:]))
			w.Write(zipData)
		}, update.Options{}, "MD5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mirror(t, folder, zipPath, tt.handler)
			opts := tt.opts
			opts.Mirror, opts.Ecosystems = srv.URL, []string{"Go"}
			_, err := update.Download(context.Background(), dir, opts)
			if err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("error = %v, want one mentioning %q", err, tt.errText)
			}
			t.Log(err)
			checkOld(t, dir, built, false)
		})
	}
	// A good checksum passes, and the update then replaces the database.
	srv := mirror(t, folder, zipPath, func(w http.ResponseWriter, r *http.Request) {
		sum := md5.Sum(zipData)
		w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5="+base64.StdEncoding.EncodeToString(sum[:]))
		w.Write(zipData)
	})
	res, err := update.Download(context.Background(), dir, update.Options{Mirror: srv.URL, Ecosystems: []string{"Go"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Metadata.Built.After(built) {
		t.Error("database not replaced")
	}
}

// TestKillDuringImport runs a real import of the shared data in a child
// process and kills it with SIGKILL at several moments: while it reads,
// as it starts writing the new file, and halfway through writing. Each
// time the old database must still open and answer; the next import must
// succeed and clear what the dead one left.
func TestKillDuringImport(t *testing.T) {
	data := vulndbtest.Data(t)
	dir, built := oldDB(t)
	tmpSize := func() int64 {
		var size int64 = -1
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-db-") {
				if info, err := e.Info(); err == nil {
					size = info.Size()
				}
			}
		}
		return size
	}
	moments := []struct {
		name string
		now  func(start time.Time) bool
	}{
		{"while reading", func(start time.Time) bool { return time.Since(start) > 500*time.Millisecond }},
		{"as writing starts", func(time.Time) bool { return tmpSize() >= 0 }},
		{"while writing", func(time.Time) bool { return tmpSize() > 8<<20 }},
	}
	killedWriting := false
	for _, m := range moments {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChild+"="+dir, crashChild+"_SRC="+data)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		start := time.Now()
		killed := false
	poll:
		for {
			select {
			case err := <-done:
				t.Logf("%s: the import finished (%v, %s) before the moment came; nothing to test", m.name, err, stderr.String())
				break poll
			case <-time.After(2 * time.Millisecond):
			}
			if m.now(start) {
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				killed = true
				break poll
			}
			if time.Since(start) > 5*time.Minute {
				t.Fatal("the child neither finished nor reached the moment")
			}
		}
		if !killed {
			continue
		}
		if tmpSize() >= 0 {
			killedWriting = true
		}
		t.Logf("%s: killed after %v, temporary file of %d bytes left", m.name, time.Since(start).Round(time.Millisecond), tmpSize())
		checkOld(t, dir, built, true)
	}
	if !killedWriting {
		vulndbtest.Need(t, "no kill landed while the new database was being written")
	}
	// A download folder of an update that died too.
	if err := os.MkdirAll(filepath.Join(dir, ".tmp-download-123", "osv", "Go"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := update.Import(context.Background(), dir, smallFolder(t), nil)
	if err != nil {
		t.Fatalf("import after the crashes: %v", err)
	}
	if !res.Metadata.Built.After(built) {
		t.Error("database not replaced")
	}
	if left := leftovers(t, dir); len(left) > 0 {
		t.Errorf("left behind after a good import: %v", left)
	}
}
