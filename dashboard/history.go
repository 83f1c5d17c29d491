package dashboard

import (
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultHistoryCapacity is the number of requests a History keeps when
// NewHistory is given a capacity below 1.
const DefaultHistoryCapacity = 100

// MaxErrorBytes is the longest error message an Entry keeps; Add cuts longer
// ones at a character boundary and marks the cut with "…".
const MaxErrorBytes = 1024

// Entry is one finished request as the history and the dashboard show it.
type Entry struct {
	// Time is when the request arrived (RFC 3339 with nanoseconds in JSON).
	Time time.Time `json:"timestamp"`
	// RequestID is the X-Request-Id the client got.
	RequestID string `json:"request_id"`
	// Model is the model the client asked for.
	Model string `json:"model"`
	// ActualModel is the model that served the request (an alias target or
	// a fallback); "" when no backend was tried.
	ActualModel string `json:"actual_model"`
	// Backend is the name of the backend that served or last failed the
	// request; "" when no backend was tried.
	Backend string `json:"backend"`
	// Status is the HTTP status the client got; 499 means the client went
	// away first.
	Status int `json:"status"`
	// DurationMS is the time from arrival to the end of the response.
	DurationMS float64 `json:"duration_ms"`
	// PromptTokens and CompletionTokens are the usage the backend reported
	// (0 when it reported none).
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	// Stream is true for a streaming (SSE) request.
	Stream bool `json:"stream"`
	// Fallback is true when a fallback model served the request.
	Fallback bool `json:"fallback"`
	// RouteReason says why the backend was chosen.
	RouteReason string `json:"route_reason,omitempty"`
	// Attempts counts the backends tried (0 when routing failed).
	Attempts int `json:"attempts"`
	// Error is the error message the client got, at most MaxErrorBytes.
	Error string `json:"error,omitempty"`
}

// History keeps the last requests in a ring buffer and tells subscribers
// about each new one. The zero value is not usable; call NewHistory. All
// methods are safe for concurrent use.
type History struct {
	mu    sync.Mutex
	buf   []Entry
	next  int // slot the next Add writes
	count int // entries held, at most len(buf)

	subMu sync.Mutex                    // serialises Subscribe and cancel
	subs  atomic.Pointer[[]*subscriber] // read without locking by Add
}

type subscriber struct {
	ch      chan Entry
	dropped atomic.Uint64
}

// NewHistory returns an empty History that keeps the last capacity entries
// (DefaultHistoryCapacity when capacity < 1).
func NewHistory(capacity int) *History {
	if capacity < 1 {
		capacity = DefaultHistoryCapacity
	}
	return &History{buf: make([]Entry, capacity)}
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
// to MaxErrorBytes. Add does not allocate.
func (h *History) Add(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Error = truncate(e.Error, MaxErrorBytes)
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
func (h *History) List() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Entry, 0, h.count)
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
func (h *History) Subscribe(buffer int) (ch <-chan Entry, dropped func() uint64, cancel func()) {
	if buffer < 1 {
		buffer = 1
	}
	s := &subscriber{ch: make(chan Entry, buffer)}
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
