package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives alerts.
type Sink interface {
	Send(Alert) error
	Close() error
}

// Open returns the sink for target: "" or "-" for standard output, an
// http:// or https:// URL (each alert is POSTed as JSON, the way Falco's
// http_output does), or a file path (JSON lines, appended).
func Open(target string) (Sink, error) {
	switch {
	case target == "" || target == "-":
		return &lineSink{w: os.Stdout}, nil
	case strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://"):
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("alert output %q: not a valid URL", target)
		}
		return newHTTPSink(u.String()), nil
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("alert output: %w", err)
	}
	return &lineSink{w: f, c: f}, nil
}

// NewWriterSink writes JSON lines to w.
func NewWriterSink(w io.Writer) Sink { return &lineSink{w: w} }

type lineSink struct {
	mu sync.Mutex
	w  io.Writer
	c  io.Closer
}

func (s *lineSink) Send(a Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.w.Write(append(b, '\n'))
	return err
}

func (s *lineSink) Close() error {
	if s.c != nil {
		return s.c.Close()
	}
	return nil
}

// httpSink posts from a bounded queue so that a slow or dead receiver never
// stalls detection; what does not fit is dropped and counted.
type httpSink struct {
	url     string
	client  *http.Client
	queue   chan []byte
	dropped atomic.Uint64
	failed  atomic.Uint64
	done    chan struct{}
}

func newHTTPSink(u string) *httpSink {
	s := &httpSink{url: u, client: &http.Client{Timeout: 5 * time.Second}, queue: make(chan []byte, 1024), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *httpSink) Send(a Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	select {
	case s.queue <- b:
		return nil
	default:
		s.dropped.Add(1)
		return fmt.Errorf("alert output %s: queue full, alert dropped (%d so far)", s.url, s.dropped.Load())
	}
}

func (s *httpSink) run() {
	defer close(s.done)
	for b := range s.queue {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				s.failed.Add(1)
			}
		} else {
			s.failed.Add(1)
		}
		cancel()
	}
}

// Close sends what is queued (each post is bounded by its timeout) and
// reports alerts that were lost.
func (s *httpSink) Close() error {
	close(s.queue)
	<-s.done
	if n, f := s.dropped.Load(), s.failed.Load(); n+f > 0 {
		return fmt.Errorf("alert output %s: %d alerts dropped, %d posts failed", s.url, n, f)
	}
	return nil
}
