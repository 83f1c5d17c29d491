package nexus_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// words splits text into stream chunks that concatenate back to it.
func words(text string) []string {
	f := strings.Fields(text)
	for i := 1; i < len(f); i++ {
		f[i] = " " + f[i]
	}
	return f
}

// TestLongStreamOutlivesRequestTimeout: request_timeout_seconds bounds a
// plain exchange, never a stream whose events keep flowing; the stream is
// bounded by the first-byte and idle timeouts instead.
func TestLongStreamOutlivesRequestTimeout(t *testing.T) {
	t.Parallel()
	text := strings.TrimSpace(strings.Repeat("token ", 40))
	streamer := nexustest.NewBackend(t, nexustest.Models("long"), nexustest.Stream(words(text)...),
		nexustest.ChunkDelay(30*time.Millisecond)) // 40 events: about 1.2 s
	slow := nexustest.NewBackend(t, nexustest.Models("slow"), nexustest.Delay(1500*time.Millisecond))
	cfg := testConfig(backendConfig("streamer", streamer, 1), backendConfig("slow", slow, 1))
	cfg.Server.RequestTimeoutSeconds = 1
	cfg.Server.FirstByteTimeout = 0 // = request_timeout_seconds
	cfg.Server.StreamIdleTimeout = 500 * time.Millisecond
	_, url := startGateway(t, cfg)
	client := testClient(t)

	start := time.Now()
	r := doChat(client, url, "long", true)
	require.NoError(t, cleanStream(r, text))
	require.Greater(t, time.Since(start), time.Second, "the stream must have outlived request_timeout_seconds to prove anything")

	r = doChat(client, url, "slow", false)
	assert.Equal(t, http.StatusGatewayTimeout, r.status, "a plain exchange is bounded by request_timeout_seconds: %s", r.body)
}

// TestConcurrencyLimit: past max_concurrent_requests chat requests get 503
// with Retry-After at once, while health, metrics and models keep
// answering; a freed slot is usable again.
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Delay(time.Minute))
	quick := nexustest.NewBackend(t, nexustest.Models("q"))
	cfg := testConfig(backendConfig("slow", be, 1), backendConfig("quick", quick, 1))
	cfg.Server.MaxConcurrentRequests = 2
	cfg.Server.FirstByteTimeout = time.Minute
	gw, url := startGateway(t, cfg)
	client := testClient(t)

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions",
				strings.NewReader(`{"model":"m","messages":[]}`))
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	require.Eventually(t, func() bool { return be.InFlight() == 2 }, 10*time.Second, 5*time.Millisecond)

	for _, stream := range []bool{false, true} {
		r := doChat(client, url, "q", stream)
		require.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
		assert.Equal(t, "1", r.header.Get("Retry-After"))
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		e := decodeAPIError(t, []byte(r.body))
		assert.Equal(t, "server_error", e.Error.Type)
		assert.Equal(t, nexus.CodeOverloaded, *e.Error.Code)
		assert.Contains(t, e.Error.Message, "maximum of 2 concurrent requests")
	}
	assert.Zero(t, quick.ChatHits(), "a refused request never reaches a backend")
	for _, path := range []string{"/health", "/metrics", "/v1/models", "/v1/stats"} {
		resp, err := client.Get(url + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s answers under overload", path)
	}
	st, err := gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 2, st.Errors["overloaded"])

	cancel()
	wg.Wait()
	require.Eventually(t, func() bool { return doChat(client, url, "q", false).status == http.StatusOK },
		10*time.Second, 10*time.Millisecond, "freed slots are usable again")
}

// TestConcurrencyLimitBurst: a burst far over the limit is answered, each
// request either served or refused with 503 overloaded; nothing collapses,
// times out or errors otherwise.
func TestConcurrencyLimitBurst(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Delay(50*time.Millisecond), nexustest.NoRecord())
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.MaxConcurrentRequests = 8
	_, url := startGateway(t, cfg)
	client := testClient(t)

	const n = 100
	results := make([]chatResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = doChat(client, url, "m", i%2 == 0) })
	}
	wg.Wait()
	served := 0
	for _, r := range results {
		require.NoError(t, r.err)
		switch r.status {
		case http.StatusOK:
			served++
		case http.StatusServiceUnavailable:
			assert.Equal(t, nexus.CodeOverloaded, *decodeAPIError(t, []byte(r.body)).Error.Code)
		default:
			t.Fatalf("unexpected answer %d: %s", r.status, r.body)
		}
	}
	assert.GreaterOrEqual(t, served, 8, "at least one request per slot is served")
	assert.LessOrEqual(t, be.ChatHits(), int64(served), "refused requests never reach the backend")
}

// TestConcurrencyLimitOff: max_concurrent_requests = 0 refuses nothing.
func TestConcurrencyLimitOff(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Delay(20*time.Millisecond), nexustest.NoRecord())
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.MaxConcurrentRequests = 0
	_, url := startGateway(t, cfg)
	client := testClient(t)
	var wg sync.WaitGroup
	statuses := make([]int, 60)
	for i := range statuses {
		wg.Go(func() { statuses[i] = doChat(client, url, "m", false).status })
	}
	wg.Wait()
	for _, s := range statuses {
		assert.Equal(t, http.StatusOK, s)
	}
}
