package signals

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/registry"
)

const (
	waitFor = 10 * time.Second
	tick    = 5 * time.Millisecond
)

func addBackend(t testing.TB, reg *registry.Registry, name, url string, typ registry.Type, key string) *registry.Backend {
	t.Helper()
	b, err := reg.Add(registry.Config{Name: name, URL: url, Type: typ, APIKey: key, Status: registry.StatusHealthy})
	require.NoError(t, err)
	return b
}

// loadOf parses a fixture into the reading a poll of it should publish.
func loadOf(t testing.TB, parse func([]byte) (*registry.Load, error), name string) *registry.Load {
	t.Helper()
	l, err := parse(fixture(t, name))
	require.NoError(t, err)
	return l
}

func TestPollEachEngine(t *testing.T) {
	t.Parallel()
	llama := loadOf(t, ParseLlamaCppSlots, "llamacpp_slots.json")
	tests := []struct {
		typ  registry.Type
		want *registry.Load
	}{
		{registry.TypeVLLM, loadOf(t, ParseVLLM, "vllm_metrics.txt")},
		{registry.TypeSGLang, loadOf(t, ParseSGLang, "sglang_metrics.txt")},
		{registry.TypeLlamaCpp, llama},
		{registry.TypeOllama, loadOf(t, ParseOllamaPS, "ollama_ps.json")},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ), func(t *testing.T) {
			t.Parallel()
			e := engineFor(t, tc.typ)
			reg := registry.New()
			b := addBackend(t, reg, "b", e.URL(), tc.typ, "sk-secret")
			p := New(reg, Config{Timeout: 5 * time.Second})
			defer p.Close()

			before := time.Now()
			got, err := p.Poll(context.Background(), b)
			require.NoError(t, err)
			assert.Same(t, got, b.Load(), "published on the backend")
			assert.False(t, got.UpdatedAt.Before(before), "stamped when read")
			assert.True(t, got.Fresh(time.Now(), p.MaxAge()))
			want := *tc.want
			want.UpdatedAt = got.UpdatedAt
			assert.Equal(t, &want, got)
			assert.Equal(t, "Bearer sk-secret", e.auth())
			assert.Equal(t, int64(1), e.hits.Load(), "one request per read")
		})
	}
}

func TestPollLlamaCppFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		drop    []string // paths the server does not serve
		want    *registry.Load
		wantErr bool
	}{
		{name: "slots off: metrics and props", drop: []string{"/slots"},
			want: want(func(l *registry.Load) { l.Running, l.Waiting, l.SlotsBusy, l.SlotsTotal = 3, 2, 3, 4 })},
		{name: "slots and metrics off: props", drop: []string{"/slots", "/metrics"},
			want: want(func(l *registry.Load) { l.SlotsTotal = 4 })},
		{name: "slots and props off: metrics", drop: []string{"/slots", "/props"},
			want: want(func(l *registry.Load) { l.Running, l.Waiting, l.SlotsBusy = 3, 2, 3 })},
		{name: "nothing served", drop: []string{"/slots", "/metrics", "/props"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := engineFor(t, registry.TypeLlamaCpp)
			for _, path := range tc.drop {
				e.setPage(path, nil)
			}
			reg := registry.New()
			b := addBackend(t, reg, "llama", e.URL(), registry.TypeLlamaCpp, "")
			p := New(reg, Config{Timeout: 5 * time.Second})
			defer p.Close()
			got, err := p.Poll(context.Background(), b)
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "GET /slots: HTTP 404")
				assert.Nil(t, b.Load())
				return
			}
			require.NoError(t, err)
			tc.want.UpdatedAt = got.UpdatedAt
			assert.Equal(t, tc.want, got)
			assert.Equal(t, max(tc.want.SlotsTotal, 0), b.MaxConcurrency())
		})
	}
}

// TestPollFailureLeavesHealthAndReading: a backend that errors, answers
// garbage or hangs keeps its health status and its last reading, which
// then goes stale.
func TestPollFailureLeavesHealthAndReading(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status registry.Status
		breakE func(e *engine)
		errHas string
	}{
		{"500", registry.StatusHealthy, func(e *engine) { e.fail.Store(500) }, "GET /metrics: HTTP 500"},
		{"503 while unhealthy", registry.StatusUnhealthy, func(e *engine) { e.fail.Store(503) }, "HTTP 503"},
		{"garbage", registry.StatusHealthy, func(e *engine) { e.garbage.Store(true) }, "no load metrics"},
		{"hang", registry.StatusHealthy, func(e *engine) { e.hang.Store(true) }, "deadline exceeded"},
		{"gone", registry.StatusHealthy, func(e *engine) { e.srv.Close() }, "GET /metrics"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := engineFor(t, registry.TypeVLLM)
			reg := registry.New()
			b := addBackend(t, reg, "v", e.URL(), registry.TypeVLLM, "sk-secret")
			p := New(reg, Config{Interval: time.Second, Timeout: 200 * time.Millisecond})
			defer p.Close()
			first, err := p.Poll(context.Background(), b)
			require.NoError(t, err)
			b.SetStatus(tc.status, "earlier reason")
			reason := b.LastError()

			tc.breakE(e)
			got, err := p.Poll(context.Background(), b)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Contains(t, err.Error(), tc.errHas)
			assert.NotContains(t, err.Error(), "sk-secret")
			assert.Equal(t, tc.status, b.Status(), "health untouched")
			assert.Equal(t, reason, b.LastError(), "health untouched")
			assert.Same(t, first, b.Load(), "last reading kept")
			later := first.UpdatedAt.Add(p.MaxAge() + time.Nanosecond)
			assert.Nil(t, b.FreshLoad(later, p.MaxAge()), "and it goes stale")
		})
	}
}

func TestPollBodyLimit(t *testing.T) {
	t.Parallel()
	page := append(fixture(t, "vllm_metrics.txt"), bytes.Repeat([]byte("# padding\n"), MaxBody/10)...)
	e := newEngine(t, map[string][]byte{"/metrics": page})
	reg := registry.New()
	b := addBackend(t, reg, "v", e.URL(), registry.TypeVLLM, "")
	p := New(reg, Config{Timeout: 5 * time.Second})
	defer p.Close()
	_, err := p.Poll(context.Background(), b)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than")
	assert.Nil(t, b.Load())
}

func TestPollNotPollable(t *testing.T) {
	t.Parallel()
	for _, typ := range registry.Types() {
		e := engineFor(t, registry.TypeVLLM)
		reg := registry.New()
		b := addBackend(t, reg, "b", e.URL(), typ, "")
		p := New(reg, Config{})
		_, err := p.Poll(context.Background(), b)
		switch typ {
		case registry.TypeVLLM, registry.TypeSGLang, registry.TypeLlamaCpp, registry.TypeOllama:
			assert.True(t, Pollable(typ), typ)
			assert.NotErrorIs(t, err, ErrNotPollable, typ)
		default:
			assert.False(t, Pollable(typ), typ)
			assert.ErrorIs(t, err, ErrNotPollable, typ)
			assert.Zero(t, e.hits.Load(), "%s: no request", typ)
		}
		p.Close()
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                      Config
		interval, timeout, page time.Duration
	}{
		{Config{}, time.Second, time.Second, 3 * time.Second},
		{Config{Interval: 10 * time.Second}, 10 * time.Second, DefaultMaxTimeout, 30 * time.Second},
		{Config{Interval: 50 * time.Millisecond, Timeout: time.Second, MaxAge: time.Minute}, 50 * time.Millisecond, time.Second, time.Minute},
	}
	for _, tc := range tests {
		got := tc.in.withDefaults()
		assert.Equal(t, tc.interval, got.Interval)
		assert.Equal(t, tc.timeout, got.Timeout)
		assert.Equal(t, tc.page, got.MaxAge)
		assert.NotNil(t, got.Logger)
	}
}

// startRun runs p.Run in the background and returns a function that stops
// it and waits until Run returned.
func startRun(t *testing.T, p *Poller) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(waitFor):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestRun is not parallel: it checks that no goroutine outlives Run.
func TestRun(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	engines := map[registry.Type]*engine{}
	backends := map[registry.Type]*registry.Backend{}
	reg := registry.New()
	for _, typ := range []registry.Type{registry.TypeVLLM, registry.TypeSGLang, registry.TypeLlamaCpp, registry.TypeOllama, registry.TypeOpenAI} {
		engines[typ] = engineFor(t, typ)
		backends[typ] = addBackend(t, reg, string(typ), engines[typ].URL(), typ, "key-"+string(typ))
	}
	hung := engineFor(t, registry.TypeVLLM)
	hung.hang.Store(true)
	bh := addBackend(t, reg, "hung", hung.URL(), registry.TypeVLLM, "")

	p := New(reg, Config{Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond})
	stop := startRun(t, p)

	for typ, b := range backends {
		if typ == registry.TypeOpenAI {
			continue
		}
		require.Eventually(t, func() bool { return b.Load() != nil }, waitFor, tick, "%s read", typ)
		assert.Equal(t, "Bearer key-"+string(typ), engines[typ].auth())
	}
	assert.Equal(t, 9, backends[registry.TypeVLLM].Load().Running)
	assert.Equal(t, 4, backends[registry.TypeLlamaCpp].MaxConcurrency(), "reported slots")

	// A change in the engine shows on the next reads.
	engines[registry.TypeVLLM].setPage("/metrics", []byte("vllm:num_requests_running 1\nvllm:num_requests_waiting 6\n"))
	require.Eventually(t, func() bool {
		return backends[registry.TypeVLLM].Load().Waiting == 6
	}, waitFor, tick)
	assert.True(t, backends[registry.TypeVLLM].Load().Saturated(0, 0))

	// Readings keep coming while one backend hangs, and it has at most one
	// read in flight.
	before := backends[registry.TypeSGLang].Load()
	require.Eventually(t, func() bool { return backends[registry.TypeSGLang].Load() != before }, waitFor, tick)
	require.Eventually(t, func() bool { return hung.hits.Load() >= 2 }, waitFor, tick)
	assert.Equal(t, int64(1), hung.maxInflight.Load(), "one read in flight per backend")
	assert.Nil(t, bh.Load())
	assert.Equal(t, registry.StatusHealthy, bh.Status())

	// Other types are never polled.
	assert.Zero(t, engines[registry.TypeOpenAI].hits.Load())
	assert.Nil(t, backends[registry.TypeOpenAI].Load())

	// A removed backend is no longer read.
	require.NoError(t, reg.Remove(backends[registry.TypeOllama].ID))
	time.Sleep(100 * time.Millisecond) // let a read that had started end
	hits := engines[registry.TypeOllama].hits.Load()
	time.Sleep(100 * time.Millisecond) // five intervals
	assert.Equal(t, hits, engines[registry.TypeOllama].hits.Load(), "a removed backend is not read")

	stop()
	for _, e := range engines {
		e.srv.Close()
	}
	hung.srv.Close()
	goleak.VerifyNone(t, ignore)
}

// TestPollJoinsRunningRead: Poll waits for a read already in flight rather
// than sending a second one at the same time.
func TestPollJoinsRunningRead(t *testing.T) {
	t.Parallel()
	e := engineFor(t, registry.TypeSGLang)
	reg := registry.New()
	b := addBackend(t, reg, "s", e.URL(), registry.TypeSGLang, "")
	p := New(reg, Config{Timeout: 5 * time.Second})
	defer p.Close()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := p.Poll(context.Background(), b)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(8), e.hits.Load())
	assert.Equal(t, int64(1), e.maxInflight.Load())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slot := p.slot(b)
	slot <- struct{}{} // a read in flight
	_, err := p.Poll(ctx, b)
	assert.ErrorIs(t, err, context.Canceled)
	<-slot
}

func Example() {
	reg := registry.New()
	_, _ = reg.Add(registry.Config{Name: "gpu-1", URL: "http://127.0.0.1:1", Type: registry.TypeVLLM})
	p := New(reg, Config{Interval: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	go p.Run(ctx) // reads every vLLM, SGLang, llama.cpp and Ollama backend each second
	cancel()

	b, _ := reg.Get("gpu-1")
	if l := b.FreshLoad(time.Now(), p.MaxAge()); l != nil && l.Saturated(0, 0) {
		fmt.Println("gpu-1 is saturated")
	}
	fmt.Println(p.MaxAge())
	// Output: 3s
}
