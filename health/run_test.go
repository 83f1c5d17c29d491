package health

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/registry"
)

const (
	waitFor = 10 * time.Second
	tick    = 10 * time.Millisecond
)

// startRun runs c.Run in the background and returns a function that stops
// it and waits until Run returned.
func startRun(t *testing.T, c *Checker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
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

func statusIs(b *registry.Backend, s registry.Status) func() bool {
	return func() bool { return b.Status() == s }
}

// TestRun is not parallel: it checks that no goroutine outlives Run.
func TestRun(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	a := newFake(t, flavorOpenAI, "alpha")
	b := newFake(t, flavorOllama, "llava:7b")
	reg := registry.New()
	ba := addBackend(t, reg, "a", a.URL(), registry.TypeVLLM, "")
	bb := addBackend(t, reg, "b", b.URL(), registry.TypeOllama, "")
	tr := &transitions{}
	c := New(reg, Config{
		Interval: 50 * time.Millisecond, Timeout: time.Second,
		FailureThreshold: 2, RecoveryThreshold: 2, OnChange: tr.record,
	})
	stop := startRun(t, c)

	require.Eventually(t, statusIs(ba, registry.StatusHealthy), waitFor, tick)
	require.Eventually(t, statusIs(bb, registry.StatusHealthy), waitFor, tick)
	require.Eventually(t, func() bool { return reg.HasModel("alpha") && reg.HasModel("llava:7b") }, waitFor, tick)

	// a fails for a while: it goes unhealthy, b is unaffected.
	a.fail.Store(500)
	require.Eventually(t, statusIs(ba, registry.StatusUnhealthy), waitFor, tick)
	assert.Equal(t, "HTTP 500", ba.LastError())
	assert.Equal(t, registry.StatusHealthy, bb.Status())

	// b's models change.
	b.setModels("llava:7b", "llama3.1:8b")
	require.Eventually(t, func() bool { return reg.HasModel("llama3.1:8b") }, waitFor, tick)
	m, ok := bb.Model("llama3.1:8b")
	require.True(t, ok)
	assert.Equal(t, registry.CapYes, m.Tools)

	// a recovers.
	a.fail.Store(0)
	require.Eventually(t, statusIs(ba, registry.StatusHealthy), waitFor, tick)

	// A backend added at runtime is probed.
	late := newFake(t, flavorLlama, "late-model")
	bl := addBackend(t, reg, "late", late.URL(), registry.TypeLlamaCpp, "")
	require.Eventually(t, statusIs(bl, registry.StatusHealthy), waitFor, tick)
	require.Eventually(t, func() bool { return reg.HasModel("late-model") }, waitFor, tick)

	// A removed backend is forgotten and no longer probed.
	require.NoError(t, reg.Remove(bb.ID))
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.states[bb]
		return !ok
	}, waitFor, tick)
	time.Sleep(100 * time.Millisecond) // let a probe that had already started end
	hits := b.probes.Load()
	time.Sleep(200 * time.Millisecond) // four intervals
	assert.Equal(t, hits, b.probes.Load(), "a removed backend is not probed")

	trs := tr.get()
	assert.Contains(t, trs, "a:unknown->healthy")
	assert.Contains(t, trs, "a:healthy->unhealthy")
	assert.Contains(t, trs, "a:unhealthy->healthy")
	assert.Contains(t, trs, "late:unknown->healthy")

	stop()
	a.srv.Close()
	b.srv.Close()
	late.srv.Close()
	goleak.VerifyNone(t, ignore)
}

func TestRunProbesNewBackendAtOnce(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	f := newFake(t, flavorOpenAI, "m")
	first := addBackend(t, reg, "first", f.URL(), registry.TypeGeneric, "")
	c := New(reg, Config{Interval: time.Hour})
	startRun(t, c)
	require.Eventually(t, statusIs(first, registry.StatusHealthy), waitFor, tick) // the first round ran
	b := addBackend(t, reg, "new", f.URL(), registry.TypeGeneric, "")
	// The next round is an hour away: only the registry notification can
	// get the backend probed now.
	require.Eventually(t, statusIs(b, registry.StatusHealthy), waitFor, tick)
}

func TestRunSpreadsProbesAcrossTheInterval(t *testing.T) {
	t.Parallel()
	const n = 3
	interval := 900 * time.Millisecond
	reg := registry.New()
	fakes := make([]*fake, n)
	for i := range fakes {
		fakes[i] = newFake(t, flavorOpenAI, "m")
		addBackend(t, reg, string(rune('a'+i)), fakes[i].URL(), registry.TypeGeneric, "")
	}
	var mu sync.Mutex
	first := map[string]time.Time{}
	c := New(reg, Config{Interval: interval, OnProbe: func(b *registry.Backend, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := first[b.Name]; !ok {
			first[b.Name] = time.Now()
		}
	}})
	startRun(t, c)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(first) == n
	}, waitFor, tick)
	mu.Lock()
	defer mu.Unlock()
	// Backend i starts i*interval/n into the round (300 ms apart); timers
	// never fire early, so a generous lower bound cannot flake.
	assert.GreaterOrEqual(t, first["b"].Sub(first["a"]), 200*time.Millisecond)
	assert.GreaterOrEqual(t, first["c"].Sub(first["b"]), 200*time.Millisecond)
}

func TestAtMostOneProbeInFlight(t *testing.T) {
	t.Parallel()
	f := newFake(t, flavorOpenAI, "m")
	f.delay.Store(int64(40 * time.Millisecond))
	reg := registry.New()
	b := addBackend(t, reg, "slow", f.URL(), registry.TypeGeneric, "")
	c := New(reg, Config{Interval: 10 * time.Millisecond, Timeout: time.Second})
	startRun(t, c)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				res := c.Check(t.Context(), b)
				assert.True(t, res.OK, "err %v", res.Err)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, f.maxInflight.Load(), "concurrent probes of one backend")
	assert.Greater(t, f.probes.Load(), int64(1))
}

func TestCheckJoinsRunningProbe(t *testing.T) {
	t.Parallel()
	f := newFake(t, flavorOpenAI, "m")
	f.delay.Store(int64(200 * time.Millisecond))
	reg := registry.New()
	b := addBackend(t, reg, "slow", f.URL(), registry.TypeGeneric, "")
	c := New(reg, Config{})
	t.Cleanup(c.Close)

	const callers = 5
	results := make(chan Result, callers)
	for range callers {
		go func() { results <- c.Check(t.Context(), b) }()
	}
	for range callers {
		res := <-results
		require.True(t, res.OK)
		assert.Equal(t, []string{"m"}, modelIDs(res.Models))
	}
	// Every caller got an answer, but the callers that arrived while a
	// probe was running shared it.
	assert.Less(t, f.probes.Load(), int64(callers))
	assert.EqualValues(t, 1, f.maxInflight.Load())
}

func TestCheckCancelledIsNotCounted(t *testing.T) {
	t.Parallel()
	f := newFake(t, flavorOpenAI, "m")
	f.delay.Store(int64(5 * time.Second))
	reg := registry.New()
	b := addBackend(t, reg, "b", f.URL(), registry.TypeGeneric, "")
	var changes atomic.Int64
	c := New(reg, Config{OnChange: func(*registry.Backend, registry.Status, registry.Status) { changes.Add(1) }})
	t.Cleanup(c.Close)

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		assert.Eventually(t, func() bool { return f.inflight.Load() == 1 }, waitFor, time.Millisecond)
		cancel()
	}()
	res := c.Check(ctx, b)
	assert.False(t, res.OK)
	assert.Equal(t, registry.StatusUnknown, b.Status(), "a cancelled probe is no failure")
	assert.Zero(t, changes.Load())

	// The next caller probes afresh.
	f.delay.Store(0)
	require.True(t, c.Check(t.Context(), b).OK)
	assert.Equal(t, registry.StatusHealthy, b.Status())
}

func TestRunStopsWithSlowBackends(t *testing.T) {
	t.Parallel()
	f := newFake(t, flavorOpenAI, "m")
	f.delay.Store(int64(time.Minute))
	reg := registry.New()
	for i := range 3 {
		addBackend(t, reg, string(rune('a'+i)), f.URL(), registry.TypeGeneric, "")
	}
	c := New(reg, Config{Interval: time.Hour, Timeout: time.Minute})
	stop := startRun(t, c)
	require.Eventually(t, func() bool { return f.inflight.Load() == 1 }, waitFor, tick)
	stop() // returns only once every probe goroutine has ended
	assert.Equal(t, registry.StatusUnknown, reg.Backends()[0].Status())
}
