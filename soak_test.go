package nexus_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

// The tests in this file count goroutines, so they must not run in
// parallel with other tests (top-level tests that do not call t.Parallel
// run alone).

// TestCancelStormLeavesNothingBehind: hundreds of clients that go away
// mid-request or mid-stream leave every backend healthy and every counter
// where it started: pending requests, backend handlers, concurrency slots,
// connections on both sides, goroutines.
func TestCancelStormLeavesNothingBehind(t *testing.T) {
	base := goleak.IgnoreCurrent()
	const n = 150
	slow := nexustest.NewBackend(t, nexustest.Models("plain"), nexustest.Delay(time.Minute), nexustest.NoRecord())
	long := nexustest.NewBackend(t, nexustest.Models("stream"), nexustest.NoRecord(),
		nexustest.Stream(words(strings.Repeat("tok ", 500))...), nexustest.ChunkDelay(20*time.Millisecond))
	cfg := testConfig(backendConfig("slow", slow, 1), backendConfig("long", long, 1))
	cfg.Server.FirstByteTimeout = time.Minute
	cfg.Server.MaxConcurrentRequests = n // a leaked slot would refuse a later wave
	h := newHarness(t, cfg)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}

	// plainWave sends n requests that hang at the backend, waits until
	// they all arrived, then cancels them.
	plainWave := func(canceled int64) {
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var refused atomic.Int64
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/v1/chat/completions",
					strings.NewReader(`{"model":"plain","messages":[{"role":"user","content":"hi"}]}`))
				if resp, err := client.Do(req); err == nil {
					refused.Add(1) // only an early refusal answers before the cancel
					resp.Body.Close()
				}
			})
		}
		require.Eventually(t, func() bool { return slow.InFlight() == n || refused.Load() > 0 },
			20*time.Second, 5*time.Millisecond)
		require.Zero(t, refused.Load(), "every request of the wave must be admitted")
		cancel()
		wg.Wait()
		require.NoError(t, slow.WaitCanceled(t.Context(), canceled))
	}

	plainWave(n)

	// A wave of streams, each cancelled after its first event once all of
	// them are running.
	ctx, cancel := context.WithCancel(t.Context())
	var started, wg sync.WaitGroup
	var problems atomic.Int64
	started.Add(n)
	for range n {
		wg.Go(func() {
			first := false
			defer func() {
				if !first {
					problems.Add(1)
					started.Done()
				}
			}()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/v1/chat/completions",
				strings.NewReader(`{"model":"stream","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(line, "data: ") {
				return
			}
			first = true
			started.Done()
			<-ctx.Done()
		})
	}
	started.Wait()
	require.Zero(t, problems.Load(), "every stream must start")
	cancel()
	wg.Wait()
	require.NoError(t, long.WaitCanceled(t.Context(), n))

	// The slots of both waves are free again.
	plainWave(2 * n)

	h.requireIdle(t, client)
	for _, be := range []*nexustest.Backend{slow, long} {
		require.Eventually(t, func() bool { return be.InFlight() == 0 }, 10*time.Second, 5*time.Millisecond)
	}
	for _, b := range h.gw.Registry().Backends() {
		assert.Equal(t, registry.StatusHealthy, b.Status(), "clients leaving is not %s's fault", b.Name)
		assert.Zero(t, b.Failures())
	}
	st, err := h.gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 3*n, st.Errors["client_closed"])
	assert.Zero(t, st.Errors["backend_error"]+st.Errors["timeout"]+st.Errors["overloaded"])

	h.requireNoUpstreamConns(t)
	slow.Close()
	long.Close()
	goleak.VerifyNone(t, base)
}

// TestSoak runs thousands of plain requests and streams, 200 at a time,
// against three backends while one fails and recovers and another is
// stopped and restarted. Every client gets a well-formed answer (a plain
// request always succeeds thanks to failover; a stream succeeds or, if its
// backend died mid-way, ends with an error event and [DONE]); afterwards
// the backends are healthy again and goroutines and connections are back
// at their baseline.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	base := goleak.IgnoreCurrent()
	const (
		total       = 2000
		concurrency = 200
	)
	text := "one two three four five six seven eight"
	opts := []nexustest.Option{nexustest.Models("m"), nexustest.Stream(words(text)...),
		nexustest.ChunkDelay(5 * time.Millisecond), nexustest.NoRecord()}
	stable := nexustest.NewBackend(t, opts...)
	flappy := nexustest.NewBackend(t, opts...)
	restarted := nexustest.NewBackend(t, opts...)
	cfg := testConfig(backendConfig("stable", stable, 3), backendConfig("flappy", flappy, 2),
		backendConfig("restarted", restarted, 1))
	cfg.Server.FirstByteTimeout = 10 * time.Second
	cfg.Server.StreamIdleTimeout = 10 * time.Second
	cfg.Server.MaxConcurrentRequests = 0
	cfg.HealthCheck.Enabled = true
	cfg.HealthCheck.IntervalSeconds = 1
	cfg.HealthCheck.TimeoutSeconds = 1
	cfg.HealthCheck.RecoveryThreshold = 1
	h := newHarness(t, cfg)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: time.Minute}

	// Chaos: flappy fails its chat requests every other 50 ms; restarted
	// goes down for 200 ms every second, cutting what it is serving, and
	// comes back (the health probes, every second, return it to rotation).
	chaos, stopChaos := context.WithCancel(t.Context())
	var chaosDone sync.WaitGroup
	chaosDone.Go(func() {
		for i := 1; chaos.Err() == nil; i++ {
			flappy.SetChatFail([]int{0, 500}[i%2])
			switch i % 20 {
			case 0:
				restarted.Stop()
			case 4:
				_ = restarted.Restart()
			}
			select {
			case <-chaos.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		flappy.SetChatFail(0)
		_ = restarted.Restart()
	})

	var next atomic.Int64
	var mu sync.Mutex
	var problems []string
	var cut atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := next.Add(1); i <= total; i = next.Add(1) {
				stream := i%2 == 0
				r := doChat(client, h.url, "m", stream)
				err := soakVerdict(r, stream, text)
				if err == errCut {
					cut.Add(1)
					continue
				}
				if err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("request %d: %v", i, err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	stopChaos()
	chaosDone.Wait()
	assert.Empty(t, problems)
	t.Logf("%d requests, %d streams cut by a backend stopping mid-way", total, cut.Load())

	// Probes bring every backend back.
	for _, b := range h.gw.Registry().Backends() {
		require.Eventually(t, b.Healthy, 10*time.Second, 10*time.Millisecond, "backend %s did not recover", b.Name)
	}
	h.requireIdle(t, client)
	for _, be := range []*nexustest.Backend{stable, flappy, restarted} {
		require.Eventually(t, func() bool { return be.InFlight() == 0 }, 10*time.Second, 5*time.Millisecond)
	}
	st, err := h.gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, total, st.Requests.Total)
	assert.Positive(t, st.Errors["backend_error"], "the chaos made attempts fail")
	t.Logf("errors by type: %v; chat hits: stable %d, flappy %d, restarted %d", st.Errors, stable.ChatHits(), flappy.ChatHits(), restarted.ChatHits())

	h.requireNoUpstreamConns(t)
	for _, be := range []*nexustest.Backend{stable, flappy, restarted} {
		be.Close()
	}
	goleak.VerifyNone(t, base)
}

// errCut marks a stream cut by its backend after it had started.
var errCut = fmt.Errorf("stream cut mid-way")

// soakVerdict returns nil for a complete answer, errCut for a stream its
// backend cut after it started (properly ended with an error event and
// [DONE]), and an error for anything else.
func soakVerdict(r chatResult, stream bool, text string) error {
	switch {
	case r.err != nil:
		return r.err
	case r.status != http.StatusOK:
		return fmt.Errorf("status %d: %s", r.status, r.body)
	case !stream:
		if !strings.Contains(r.body, text) {
			return fmt.Errorf("plain reply without its content: %s", r.body)
		}
		return nil
	}
	if cleanStream(r, text) == nil {
		return nil
	}
	events := parseEvents(r.body)
	if n := len(events); n >= 2 && events[n-1].data == "[DONE]" && strings.Contains(events[n-2].data, `"backend_stream_error"`) {
		return errCut
	}
	return fmt.Errorf("malformed stream: %s", r.body)
}
