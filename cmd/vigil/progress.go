package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws one status line on stderr while layers stream, and prints
// warnings above it. It is silent when stderr is not a terminal or --quiet is
// set, so that CI logs and pipes only get what matters.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgress(quiet bool) *progress {
	return &progress{w: os.Stderr, tty: term.IsTerminal(int(os.Stderr.Fd())), quiet: quiet}
}

// layer is a layers.Options.Progress function.
func (p *progress) layer(i int, read, total int64) {
	if p.quiet || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if read != total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	line := fmt.Sprintf("reading layer %d: %s", i+1, mib(read))
	if total > 0 {
		line += fmt.Sprintf(" of %s", mib(total))
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.drawn = true
}

// status shows what the pipeline is doing now ("cataloging", "matching").
func (p *progress) status(msg string) {
	if p.quiet || !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s", msg)
	p.drawn = true
}

// warn prints a warning on its own line; warnings show even without a
// terminal, because a skipped entry changes what the report can claim.
func (p *progress) warn(err error) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	fmt.Fprintf(p.w, "vigil: warning: %v\n", err)
}

// done clears the status line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
}

func (p *progress) clearLocked() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
