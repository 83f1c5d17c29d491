package nexustest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// RecordedRequest is a copy of one request the backend received.
type RecordedRequest struct {
	Method   string
	Path     string      // the URL path, without the query
	RawQuery string      // the query as sent, without '?', such as "beta=true"; "" for none
	Header   http.Header // all headers, Authorization, x-api-key and anthropic-beta included
	Body     []byte
}

// recorder keeps what the backend received and the request counters.
type recorder struct {
	noRecord bool

	mu       sync.Mutex
	requests []RecordedRequest
	hits     map[string]int64
	canceled int64
	changed  chan struct{} // closed and replaced whenever canceled grows

	total    atomic.Int64
	chat     atomic.Int64
	inFlight atomic.Int64
}

func (rc *recorder) init(noRecord bool) {
	rc.noRecord = noRecord
	rc.hits = make(map[string]int64)
	rc.changed = make(chan struct{})
}

// record counts r, keeps a copy of it and returns its body. The body is read
// in full; r.Body is replaced so handlers may read it again.
func (rc *recorder) record(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rc.total.Add(1)
	if r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions" {
		rc.chat.Add(1)
	}
	rc.mu.Lock()
	rc.hits[r.URL.Path]++
	if !rc.noRecord {
		rc.requests = append(rc.requests, RecordedRequest{
			Method:   r.Method,
			Path:     r.URL.Path,
			RawQuery: r.URL.RawQuery,
			Header:   r.Header.Clone(),
			Body:     bytes.Clone(body),
		})
	}
	rc.mu.Unlock()
	return body, err
}

func (rc *recorder) addCanceled() {
	rc.mu.Lock()
	rc.canceled++
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
}

// Requests returns copies of every request received, in arrival order
// (nothing with the NoRecord option).
func (b *Backend) Requests() []RecordedRequest {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	out := make([]RecordedRequest, len(b.rec.requests))
	for i, r := range b.rec.requests {
		out[i] = RecordedRequest{
			Method:   r.Method,
			Path:     r.Path,
			RawQuery: r.RawQuery,
			Header:   r.Header.Clone(),
			Body:     bytes.Clone(r.Body),
		}
	}
	return out
}

// Hits returns how many requests arrived for path, any method; "" counts all.
func (b *Backend) Hits(path string) int64 {
	if path == "" {
		return b.rec.total.Load()
	}
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	return b.rec.hits[path]
}

// ChatHits returns how many POST /v1/chat/completions arrived, including
// failed, invalid and cancelled ones.
func (b *Backend) ChatHits() int64 { return b.rec.chat.Load() }

// InFlight returns how many inference handlers (any endpoint but the
// probes) are running now.
func (b *Backend) InFlight() int64 { return b.rec.inFlight.Load() }

// Canceled returns how many inference requests (any endpoint but the
// probes) had their request context cancelled before the handler finished, because the client (or the gateway
// in front) went away. Requests cut by Stop, Close or DropAfter do not count.
func (b *Backend) Canceled() int64 {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	return b.rec.canceled
}

// WaitCanceled blocks until Canceled() >= n and returns nil, or returns
// ctx.Err() when ctx is done first.
func (b *Backend) WaitCanceled(ctx context.Context, n int64) error {
	for {
		b.rec.mu.Lock()
		got, changed := b.rec.canceled, b.rec.changed
		b.rec.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
