package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress keeps one status line on a terminal, refreshed every second:
// which scenario runs, how far it is, requests so far, the current rate and
// the errors.
type progress struct {
	w        io.Writer
	index    int // scenario number, 1-based
	total    int // scenarios in the whole run
	mu       sync.Mutex
	run      *loadRun
	label    string
	prevN    int64
	prevT    time.Time
	stop     chan struct{}
	finished chan struct{}
}

// newProgress starts the refresher; call close when the run ends.
func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case now := <-t.C:
				p.draw(now)
			}
		}
	}()
	return p
}

// begin announces a scenario.
func (p *progress) begin(scenario, target string, run *loadRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index++
	p.run = run
	p.label = fmt.Sprintf("[%d/%d] %s → %s", p.index, p.total, scenario, target)
	p.prevN, p.prevT = 0, run.start
	p.drawLocked(time.Now())
}

// finish ends a scenario.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.run = nil
}

func (p *progress) draw(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked(now)
}

func (p *progress) drawLocked(now time.Time) {
	r := p.run
	if r == nil {
		return
	}
	var n, errs int64
	for _, w := range r.workers {
		n += w.all.Load()
		errs += w.errs.Load()
	}
	rate := 0.0
	if dt := now.Sub(p.prevT).Seconds(); dt > 0 {
		rate = float64(n-p.prevN) / dt
	}
	p.prevN, p.prevT = n, now
	phase := "measuring"
	if now.Before(r.measureStart) {
		phase = "warming up"
	}
	elapsed := min(now.Sub(r.start), r.end.Sub(r.start)).Truncate(100 * time.Millisecond)
	fmt.Fprintf(p.w, "\r\x1b[K%s  %s %v/%v  %d requests  %.0f req/s  %d errors",
		p.label, phase, elapsed, r.end.Sub(r.start), n, rate, errs)
}

// close stops the refresher and clears the line.
func (p *progress) close() {
	close(p.stop)
	<-p.finished
	fmt.Fprint(p.w, "\r\x1b[K")
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
