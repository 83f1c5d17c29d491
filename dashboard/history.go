package dashboard

import (
	"github.com/nexusllm/nexus/api"

	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultHistoryCapacity is the number of requests a History keeps when
// NewHistory is given a capacity below 1.
const DefaultHistoryCapacity = 100

// History keeps the last requests in a ring buffer and tells subscribers
// about each new one. The zero value is not usable; call NewHistory. All
// methods are safe for concurrent use.
type History struct {
	mu    sync.Mutex
	buf   []api.HistoryEntry
	next  int // slot the next Add writes
	count int // entries held, at most len(buf)

	subMu sync.Mutex                    // serialises Subscribe and cancel
	subs  atomic.Pointer[[]*subscriber] // read without locking by Add
}

type subscriber struct {
	ch      chan api.HistoryEntry
	dropped atomic.Uint64
}

// NewHistory returns an empty History that keeps the last capacity entries
// (DefaultHistoryCapacity when capacity < 1).
func NewHistory(capacity int) *History {
	if capacity < 1 {
		capacity = DefaultHistoryCapacity
	}
	return &History{buf: make([]api.HistoryEntry, capacity)}
}

// Cap returns how many entries the history keeps.
func (h *History) Cap() int { return len(h.buf) }

// Len returns how many entries the history holds now.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// Add records e, evicting the oldest entry when the history is full, and
// hands a copy to every subscriber without waiting: a subscriber whose
// buffer is full misses the entry. A zero Time is set to now; Error is cut
// to api.MaxHistoryErrorBytes. Add does not allocate.
func (h *History) Add(e api.HistoryEntry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Error = truncate(e.Error, api.MaxHistoryErrorBytes)
	h.mu.Lock()
	h.buf[h.next] = e
	h.next++
	if h.next == len(h.buf) {
		h.next = 0
	}
	if h.count < len(h.buf) {
		h.count++
	}
	h.mu.Unlock()
	if p := h.subs.Load(); p != nil {
		for _, s := range *p {
			select {
			case s.ch <- e:
			default:
				s.dropped.Add(1)
			}
		}
	}
}

// List returns a copy of the entries, oldest first. It never returns nil.
func (h *History) List() []api.HistoryEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]api.HistoryEntry, 0, h.count)
	start := h.next - h.count
	if start < 0 {
		start += len(h.buf)
	}
	if start+h.count <= len(h.buf) {
		return append(out, h.buf[start:start+h.count]...)
	}
	out = append(out, h.buf[start:]...)
	return append(out, h.buf[:h.next]...)
}

// Subscribe returns a channel that receives every entry added from now on,
// buffering up to buffer entries (at least 1); entries that arrive while the
// buffer is full are dropped, never waited for. cancel stops the delivery;
// the channel is never closed. dropped reports how many entries this
// subscriber has missed so far.
func (h *History) Subscribe(buffer int) (ch <-chan api.HistoryEntry, dropped func() uint64, cancel func()) {
	if buffer < 1 {
		buffer = 1
	}
	s := &subscriber{ch: make(chan api.HistoryEntry, buffer)}
	h.subMu.Lock()
	var next []*subscriber
	if p := h.subs.Load(); p != nil {
		next = append(next, *p...)
	}
	next = append(next, s)
	h.subs.Store(&next)
	h.subMu.Unlock()

	var once sync.Once
	cancel = func() {
		once.Do(func() {
			h.subMu.Lock()
			defer h.subMu.Unlock()
			old := *h.subs.Load()
			rest := make([]*subscriber, 0, len(old))
			for _, o := range old {
				if o != s {
					rest = append(rest, o)
				}
			}
			h.subs.Store(&rest)
		})
	}
	return s.ch, s.dropped.Load, cancel
}

// subscribers returns the number of active subscribers (for tests).
func (h *History) subscribers() int {
	if p := h.subs.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// truncate cuts s to at most max bytes at a character boundary, ending the
// cut text with "…".
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
