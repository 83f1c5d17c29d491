package dashboard

import (
	"github.com/nexusllm/nexus/api"

	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// event is one parsed Server-Sent Event; comment holds a ": ..." line.
type event struct {
	name, data, comment, retry string
}

// stream is an open /v1/events connection read by a goroutine.
type stream struct {
	events chan event
	done   chan error // receives the reason the stream ended
	cancel context.CancelFunc
	header http.Header
}

func openStream(t *testing.T, f *fixture) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/v1/events", nil)
	require.NoError(t, err)
	res, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	s := &stream{events: make(chan event, 1024), done: make(chan error, 1), cancel: cancel, header: res.Header}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (event{}) {
					s.events <- ev
				}
				ev = event{}
			case strings.HasPrefix(line, ":"):
				ev.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case strings.HasPrefix(line, "retry: "):
				ev.retry = line[len("retry: "):]
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		s.done <- err
	}()
	t.Cleanup(cancel)
	return s
}

// next returns the next event named name (or with a comment when name is
// ":"), skipping others; it fails the test after 10 s.
func (s *stream) next(t *testing.T, name string) event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.name == name || (name == ":" && ev.comment != "") {
				return ev
			}
		case err := <-s.done:
			t.Fatalf("stream ended while waiting for %q: %v", name, err)
		case <-timeout:
			t.Fatalf("no %q event within 10 s", name)
		}
	}
}

// ended waits for the stream to end; it fails the test after 10 s.
func (s *stream) ended(t *testing.T) error {
	t.Helper()
	for {
		select {
		case <-s.events:
		case err := <-s.done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("stream still open after 10 s")
		}
	}
}

func short(c *Config) { c.StatsInterval = 20 * time.Millisecond }

// eventually polls cond for up to 10 s (a hang detector, not a timing
// assertion).
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, msg)
}

func TestEventsStreamHeaderAndHello(t *testing.T) {
	t.Parallel()
	f := newFixture(t, short)
	s := openStream(t, f)
	assert.Equal(t, "text/event-stream", s.header.Get("Content-Type"))
	assert.Equal(t, "no-store", s.header.Get("Cache-Control"))
	first := <-s.events
	assert.Equal(t, event{retry: "3000", comment: "connected"}, first)
}

func TestEventsDeliverEachRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, short)
	s := openStream(t, f)
	s.next(t, "backends") // the pump is subscribed once a snapshot went out

	want := api.HistoryEntry{Time: time.Now().UTC(), RequestID: "abc-1", Model: "llama3", Backend: "gpu-1", Status: 502,
		Stream: true, Error: "line one\nline two"}
	f.hist.Add(want)
	ev := s.next(t, "request")
	var got api.HistoryEntry
	require.NoError(t, json.Unmarshal([]byte(ev.data), &got), "an error with a newline stays on one data line")
	assert.True(t, want.Time.Equal(got.Time))
	got.Time = want.Time
	assert.Equal(t, want, got)
}

func TestEventsPushSnapshotsPeriodically(t *testing.T) {
	t.Parallel()
	f := newFixture(t, short)
	s := openStream(t, f)
	var last float64
	for range 4 {
		ev := s.next(t, "stats")
		var st struct {
			Calls float64 `json:"calls"`
		}
		require.NoError(t, json.Unmarshal([]byte(ev.data), &st))
		assert.Greater(t, st.Calls, last, "each tick takes a new snapshot")
		last = st.Calls
	}
	var bs []api.Backend
	require.NoError(t, json.Unmarshal([]byte(s.next(t, "backends").data), &bs))
	require.Len(t, bs, 2)
	assert.Equal(t, "gpu-1", bs[0].Name)
	assert.NotContains(t, s.next(t, "backends").data, secretKey)
	var h map[string]any
	require.NoError(t, json.Unmarshal([]byte(s.next(t, "health").data), &h))
	assert.Equal(t, "degraded", h["status"])
}

func TestEventsSkipFailedStatistics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, short)
	f.failStats(errStats)
	s := openStream(t, f)
	for backends := 0; backends < 3; {
		select {
		case ev := <-s.events:
			assert.NotEqual(t, "stats", ev.name, "no statistics when they cannot be taken")
			if ev.name == "backends" {
				backends++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no snapshot within 10 s")
		}
	}
	assert.GreaterOrEqual(t, f.statsCalls.Load(), int64(3), "statistics are tried each tick")
}

// TestEventsShareOneSnapshotPerTick shows that every client receives the
// same snapshot: statistics are computed once per tick, not per client.
func TestEventsShareOneSnapshotPerTick(t *testing.T) {
	t.Parallel()
	f := newFixture(t, short)
	a := openStream(t, f)
	a.next(t, "stats")
	b := openStream(t, f)
	calls := func(s *stream) float64 {
		var st struct {
			Calls float64 `json:"calls"`
		}
		require.NoError(t, json.Unmarshal([]byte(s.next(t, "stats").data), &st))
		return st.Calls
	}
	seenByA := map[float64]bool{}
	var fromB []float64
	for range 5 {
		fromB = append(fromB, calls(b))
	}
	for len(seenByA) == 0 || !seenByA[fromB[len(fromB)-1]] {
		seenByA[calls(a)] = true
	}
	for _, c := range fromB {
		assert.True(t, seenByA[c], "snapshot %v reached b but not a", c)
	}
}

func TestEventsPing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.PingInterval = 10 * time.Millisecond; c.StatsInterval = time.Hour })
	s := openStream(t, f)
	<-s.events // hello
	assert.Equal(t, "ping", s.next(t, ":").comment)
}

func TestEventsEndWhenTheClientLeaves(t *testing.T) {
	t.Parallel()
	f := newFixture(t, short)
	a, b := openStream(t, f), openStream(t, f)
	a.next(t, "stats")
	b.next(t, "stats")
	n, pumping := f.dash.hub.streams()
	assert.Equal(t, 2, n)
	assert.True(t, pumping)
	assert.Equal(t, 1, f.hist.subscribers(), "one pump serves every stream")

	a.cancel()
	eventually(t, func() bool { n, _ := f.dash.hub.streams(); return n == 1 }, "a's handler returns")
	b.next(t, "stats") // b is still served

	b.cancel()
	eventually(t, func() bool {
		n, pumping := f.dash.hub.streams()
		return n == 0 && !pumping && f.hist.subscribers() == 0
	}, "the pump stops after the last stream")

	// A new stream starts a new pump.
	c := openStream(t, f)
	c.next(t, "stats")
	f.hist.Add(api.HistoryEntry{RequestID: "after-restart"})
	assert.Contains(t, c.next(t, "request").data, "after-restart")
}

func TestCloseEndsStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.StatsInterval = time.Hour })
	streams := []*stream{openStream(t, f), openStream(t, f), openStream(t, f)}
	for _, s := range streams {
		s.next(t, "backends")
	}
	f.dash.Close()
	for _, s := range streams {
		assert.ErrorIs(t, s.ended(t), io.EOF, "the response ends cleanly")
	}
	n, pumping := f.dash.hub.streams()
	assert.Zero(t, n)
	assert.False(t, pumping)
	assert.Zero(t, f.hist.subscribers())

	res, body := f.do(t, http.MethodGet, "/v1/events", nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Contains(t, body, "shutting down")
	f.dash.Close() // idempotent

	// The rest of the dashboard keeps answering.
	res, _ = f.do(t, http.MethodGet, "/v1/history", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

func TestBroadcastNeverWaitsForASlowStream(t *testing.T) {
	t.Parallel()
	d := New(Config{})
	defer d.Close()
	ctx := context.Background()
	slow := &client{ch: make(chan []byte, 1)}
	fast := &client{ch: make(chan []byte, 8)}
	d.hub.clients[slow] = struct{}{}
	d.hub.clients[fast] = struct{}{}
	for range 3 {
		d.hub.broadcast(ctx, pingFrame)
	}
	assert.Len(t, slow.ch, 1)
	assert.True(t, slow.lagged.Load(), "a dropped frame marks the stream for a resync")
	assert.Len(t, fast.ch, 3)
	assert.False(t, fast.lagged.Load())

	stopped, cancel := context.WithCancel(ctx)
	cancel()
	d.hub.broadcast(stopped, pingFrame)
	assert.Len(t, fast.ch, 3, "a stopped pump sends nothing")
}

func TestLaggingStreamIsToldToResync(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config) { c.StatsInterval = time.Hour })
	s := openStream(t, f)
	s.next(t, "backends")
	// Flood the history faster than anyone reads: the pump's subscription
	// or the stream's queue overflows, and the client hears about it.
	for i := range 20000 {
		f.hist.Add(api.HistoryEntry{RequestID: "flood", Status: i})
	}
	s.next(t, "resync")
}

func TestEncodeEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"request", map[string]string{"a": "x\ny"}, "event: request\ndata: {\"a\":\"x\\ny\"}\n\n"},
		{"stats", nil, "event: stats\ndata: null\n\n"},
		{"stats", func() {}, "event: error\ndata: {\"message\":\"could not encode stats: json: unsupported type: func()\"}\n\n"},
	} {
		assert.Equal(t, tc.want, string(encodeEvent(tc.name, tc.v)))
	}
}

func TestEventsHead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, body := f.do(t, http.MethodHead, "/v1/events", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Empty(t, body)
	eventually(t, func() bool { n, p := f.dash.hub.streams(); return n == 0 && !p }, "HEAD leaves no stream")
}

func BenchmarkEncodeEvent(b *testing.B) {
	e := api.HistoryEntry{Time: time.Now(), RequestID: "0123456789", Model: "llama3", ActualModel: "llama3", Backend: "gpu-1",
		Status: 200, DurationMS: 123.4, PromptTokens: 100, CompletionTokens: 200, RouteReason: "score"}
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeEvent("request", e)
	}
}

// BenchmarkBroadcast fans one encoded frame out to 50 open streams, the
// dashboard's target number of viewers.
func BenchmarkBroadcast(b *testing.B) {
	d := New(Config{})
	defer d.Close()
	clients := make([]*client, 50)
	for i := range clients {
		clients[i] = &client{ch: make(chan []byte, 1)}
		d.hub.clients[clients[i]] = struct{}{}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d.hub.broadcast(ctx, pingFrame)
		for _, c := range clients {
			<-c.ch
		}
	}
}
