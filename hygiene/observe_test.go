package hygiene_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/hygiene"
)

// recorder is an Observer that keeps what it is sent of the files it wants.
type recorder struct {
	want    func(name string) bool
	got     map[string]string
	closed  int
	failing error
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Run(context.Context, *hygiene.Input) ([]hygiene.Issue, error) { return nil, nil }

func (r *recorder) Begin(layer int, name string, hdr *tar.Header) io.WriteCloser {
	if !r.want(name) {
		return nil
	}
	return &recording{r: r, name: name}
}

type recording struct {
	r    *recorder
	name string
	buf  bytes.Buffer
}

func (w *recording) Write(p []byte) (int, error) {
	if w.r.failing != nil {
		return 0, w.r.failing
	}
	return w.buf.Write(p)
}

func (w *recording) Close() error {
	w.r.got[w.name] = w.buf.String()
	w.r.closed++
	return nil
}

// plain is a Check that is not an Observer.
type plain struct{}

func (plain) Name() string                                                 { return "plain" }
func (plain) Run(context.Context, *hygiene.Input) ([]hygiene.Issue, error) { return nil, nil }

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestObserve(t *testing.T) {
	if hygiene.Observe([]hygiene.Check{plain{}}) != nil {
		t.Error("Observe without Observers is not nil")
	}
	a := &recorder{want: func(n string) bool { return strings.HasPrefix(n, "etc/") }, got: map[string]string{}}
	b := &recorder{want: func(n string) bool { return true }, got: map[string]string{}}
	none := &recorder{want: func(string) bool { return false }, got: map[string]string{}}
	observe := hygiene.Observe([]hygiene.Check{plain{}, a, b, none})
	files := map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\n",
		"usr/bin/x":  strings.Repeat("x", 100<<10), // more than one copy buffer
	}
	for name, body := range files {
		if err := observe(0, name, &tar.Header{Name: name, Size: int64(len(body))}, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	if a.got["etc/passwd"] != files["etc/passwd"] || len(a.got) != 1 || a.closed != 1 {
		t.Errorf("a got %d files, closed %d", len(a.got), a.closed)
	}
	for name, body := range files {
		if b.got[name] != body {
			t.Errorf("b got %d bytes of %s, want %d", len(b.got[name]), name, len(body))
		}
	}
	if len(none.got) != 0 {
		t.Errorf("sent files no one asked for: %v", none.got)
	}

	// A file nobody wants is not read.
	r := &countingReader{r: strings.NewReader("data")}
	if err := hygiene.Observe([]hygiene.Check{none})(0, "f", &tar.Header{Size: 4}, r); err != nil || r.n != 0 {
		t.Errorf("unwanted file: read %d bytes, err %v", r.n, err)
	}

	// A sink's error ends the walk, and every sink is still closed.
	boom := errors.New("boom")
	a.failing = boom
	a.closed, b.closed = 0, 0
	err := observe(0, "etc/shadow", &tar.Header{Size: 3}, strings.NewReader("abc"))
	if !errors.Is(err, boom) || a.closed != 1 || b.closed != 1 {
		t.Errorf("err %v, closed %d and %d", err, a.closed, b.closed)
	}
}
