package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/proxy"
)

// flushRecorder is a ResponseWriter that records what had been written
// at each flush and can fail flushes.
type flushRecorder struct {
	mu      sync.Mutex
	h       http.Header
	status  int
	body    bytes.Buffer
	flushed []string // the body as it was at each flush
	onFlush func(body string)
	fail    error
}

func newFlushRecorder() *flushRecorder { return &flushRecorder{h: http.Header{}} }

func (r *flushRecorder) Header() http.Header    { return r.h }
func (r *flushRecorder) WriteHeader(status int) { r.status = status }
func (r *flushRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.Write(p)
}

func (r *flushRecorder) FlushError() error {
	r.mu.Lock()
	body := r.body.String()
	r.flushed = append(r.flushed, body)
	fn, err := r.onFlush, r.fail
	r.mu.Unlock()
	if fn != nil {
		fn(body)
	}
	return err
}

func (r *flushRecorder) flushes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.flushed...)
}

func streamRequest(url string) *proxy.Request {
	return &proxy.Request{URL: url, Body: []byte(`{"model":"m","messages":[]}`), Stream: true}
}

func TestStreamFlushesEveryEventBeforeWaiting(t *testing.T) {
	t.Parallel()
	// The backend sends the next event only once the client has received
	// the previous one: a relay that held an event back until the next
	// arrived would never finish.
	const n = 5
	seen := make(chan int, n+2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := range n {
			fmt.Fprintf(w, "data: %s\n\n", chunk("e"+strconv.Itoa(i)))
			w.(http.Flusher).Flush()
			select {
			case got := <-seen:
				if got != i {
					return
				}
			case <-time.After(10 * time.Second):
				return // the test fails below
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	rec := newFlushRecorder()
	next := 0
	rec.onFlush = func(body string) {
		for next < n && strings.Contains(body, chunk("e"+strconv.Itoa(next))) {
			seen <- next
			next++
		}
	}
	_, err := forwarder().Forward(context.Background(), rec, streamRequest(srv.URL))
	require.NoError(t, err)
	assert.Equal(t, n, next, "every event reached the client before the backend sent the next")
	assert.True(t, strings.HasSuffix(rec.body.String(), "data: [DONE]\n\n"))
}

func TestStreamBurstLeavesInFewWrites(t *testing.T) {
	t.Parallel()
	const n = 40
	var burst strings.Builder
	for i := range n {
		fmt.Fprintf(&burst, "data: %s\n\n", chunk("w"+strconv.Itoa(i)))
	}
	burst.WriteString("data: " + finishChunk + "\n\ndata: [DONE]\n\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, burst.String()) // one write, one flush
	}))
	t.Cleanup(srv.Close)
	rec := newFlushRecorder()
	_, err := forwarder().Forward(context.Background(), rec, streamRequest(srv.URL))
	require.NoError(t, err)
	assert.Equal(t, burst.String(), rec.body.String(), "relayed byte for byte")
	flushes := rec.flushes()
	assert.Less(t, len(flushes), n/2, "a burst is not flushed event by event")
	require.NotEmpty(t, flushes)
	assert.Equal(t, burst.String(), flushes[len(flushes)-1], "everything is flushed at the end")
}

func TestStreamLargeEventsAndPooledReaders(t *testing.T) {
	t.Parallel()
	// Events far larger than the reader's buffer, on readers reused from
	// the pool by many streams at once.
	big := strings.Repeat("x", 100<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		sse(w, chunk("small"), chunk(big), `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, "[DONE]")
	}))
	t.Cleanup(srv.Close)
	f := forwarder()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 3 {
				rec := httptest.NewRecorder()
				req := streamRequest(srv.URL)
				req.DropUsageChunk = true
				res, err := f.Forward(context.Background(), rec, req)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, "data: "+chunk("small")+"\n\ndata: "+chunk(big)+"\n\ndata: [DONE]\n\n", rec.Body.String())
				assert.True(t, res.HasUsage)
				assert.EqualValues(t, 2, res.Usage.CompletionTokens)
			}
		})
	}
	wg.Wait()

	f.MaxEventBytes = 64 << 10
	o := forward(t, f, func(w http.ResponseWriter, r *http.Request) { sse(w, chunk(big)) }, true)
	require.NotNil(t, o.err)
	assert.Equal(t, proxy.KindBadResponse, o.err.Kind)
	assert.Empty(t, o.body)
}

func TestStreamMalformedLaterEventsRelayedAsIs(t *testing.T) {
	t.Parallel()
	// Only the first event is validated; later ones pass untouched, even
	// broken ones (this once made the usage probe panic).
	o := forward(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
		sse(w, chunk("a"), `{"usage"`, `{"choices":[{"delta":{"content":"b"`, "not json", finishChunk, "[DONE]")
	}, true)
	require.Nil(t, o.err)
	assert.Equal(t, "data: "+chunk("a")+"\n\ndata: {\"usage\"\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"\n\n"+
		"data: not json\n\ndata: "+finishChunk+"\n\ndata: [DONE]\n\n", o.body)
	assert.False(t, o.res.HasUsage)
}

func TestStreamClientGoneOnFlush(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		sse(w, chunk("a"), chunk("b"))
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	rec := newFlushRecorder()
	rec.fail = errors.New("broken pipe")
	_, err := forwarder().Forward(context.Background(), rec, streamRequest(srv.URL))
	pe, ok := proxy.AsError(err)
	require.True(t, ok)
	assert.Equal(t, proxy.KindClientGone, pe.Kind)
	assert.True(t, pe.Committed)
}

func TestForwardPlainReplies(t *testing.T) {
	t.Parallel()
	large := `{"choices":[{"message":{"content":"` + strings.Repeat("y", 200<<10) + `"}}],"usage":{"prompt_tokens":9}}`
	tests := []struct {
		name    string
		body    string
		chunked bool
		limit   int64
		ok      bool
	}{
		{"content length", okJSON, false, 0, true},
		{"chunked", okJSON, true, 0, true},
		{"larger than the pooled buffers", large, false, 0, true},
		{"large and chunked", large, true, 0, true},
		{"exactly the limit", okJSON, false, int64(len(okJSON)), true},
		{"over the limit", okJSON, false, int64(len(okJSON)) - 1, false},
		{"chunked over the limit", okJSON, true, int64(len(okJSON)) - 1, false},
		{"surrounding space trimmed", "\n " + okJSON + " \n", false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := forwarder()
			f.MaxResponseBytes = tt.limit
			for range 3 { // the second and third reuse pooled buffers
				o := forward(t, f, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if !tt.chunked {
						w.Header().Set("Content-Length", strconv.Itoa(len(tt.body)))
					}
					for part := range parts(tt.body, 4096) {
						_, _ = io.WriteString(w, part)
						if tt.chunked {
							w.(http.Flusher).Flush()
						}
					}
				}, false)
				if !tt.ok {
					require.NotNil(t, o.err)
					assert.Equal(t, proxy.KindBadResponse, o.err.Kind)
					assert.Empty(t, o.body)
					continue
				}
				require.Nil(t, o.err)
				assert.Equal(t, strings.TrimSpace(tt.body), o.body)
				assert.Equal(t, strconv.Itoa(len(o.body)), o.rec.Header().Get("Content-Length"))
				assert.True(t, o.res.HasUsage)
			}
		})
	}
}

// parts yields s in pieces of n bytes.
func parts(s string, n int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > n {
			if !yield(s[:n]) {
				return
			}
			s = s[n:]
		}
		yield(s)
	}
}

func TestForwardTargetAndRequestID(t *testing.T) {
	t.Parallel()
	type seen struct{ path, host, id, accept, ctype, auth, body string }
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.URL.Path, r.Host, r.Header.Get("X-Request-Id"), r.Header.Get("Accept"), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(b)}
		io.WriteString(w, okJSON)
	}))
	t.Cleanup(srv.Close)
	target, err := url.Parse(srv.URL + "/v1/chat/completions")
	require.NoError(t, err)
	before := *target
	f := forwarder()
	for range 2 { // one parsed URL serves every request, unchanged
		_, err := f.Forward(context.Background(), httptest.NewRecorder(), &proxy.Request{
			URL: "http://127.0.0.1:1/ignored", Target: target, Body: []byte(`{"a":1}`), RequestID: "req-1", APIKey: "k",
		})
		require.NoError(t, err)
		s := <-got
		assert.Equal(t, seen{"/v1/chat/completions", target.Host, "req-1", "application/json", "application/json", "Bearer k", `{"a":1}`}, s)
	}
	assert.Equal(t, before, *target)
}

func TestStreamReusesUpstreamConnection(t *testing.T) {
	t.Parallel()
	// The backend ends its response a moment after [DONE], as servers do:
	// the relay reads that end so the transport keeps the connection.
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		sse(w, chunk("a"), finishChunk, "[DONE]")
		time.Sleep(time.Millisecond)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	f := forwarder()
	for range 5 {
		rec := httptest.NewRecorder()
		_, err := f.Forward(context.Background(), rec, streamRequest(srv.URL))
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n"))
	}
	assert.EqualValues(t, 1, conns.Load(), "one upstream connection serves every stream")
}

func TestStreamBackendLingeringAfterDone(t *testing.T) {
	t.Parallel()
	// A backend that keeps the response open after [DONE] does not keep
	// the relay: the stream is complete and succeeds.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		sse(w, chunk("a"), "[DONE]")
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	f := forwarder()
	f.IdleTimeout = time.Minute // the relay must not wait for this
	rec := newFlushRecorder()
	done := make(chan error, 1)
	go func() {
		_, err := f.Forward(context.Background(), rec, streamRequest(srv.URL))
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the relay waited for the backend to end its response after [DONE]")
	}
	assert.Equal(t, "data: "+chunk("a")+"\n\ndata: [DONE]\n\n", rec.body.String())
}
