package audit

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress reports how far a long check has come. Its zero value and a nil
// *Progress say nothing.
type Progress struct {
	w        io.Writer
	terminal bool
	after    time.Duration
	now      func() time.Time

	mu      sync.Mutex
	start   time.Time
	last    time.Time
	printed bool
}

// NewProgress writes to w (stderr). On a terminal the line is redrawn in
// place; elsewhere (CI logs) a line is printed at most once a second. Nothing
// is printed for runs shorter than after, so quick runs stay quiet.
func NewProgress(w io.Writer, terminal bool, after time.Duration) *Progress {
	return &Progress{w: w, terminal: terminal, after: after, now: time.Now, start: time.Now()}
}

// Update says that stage has done of total items (total 0: unknown).
func (p *Progress) Update(stage string, done, total int) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.start) < p.after || !p.last.IsZero() && now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	line := fmt.Sprintf("%s: %d", stage, done)
	if total > 0 {
		line = fmt.Sprintf("%s: %d/%d", stage, done, total)
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.printed = true
}

// Done ends the progress line, if one was drawn.
func (p *Progress) Done() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed && p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.printed = false
}
