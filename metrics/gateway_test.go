package metrics_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGatewayFamiliesScrape checks the exact values newMix records in the
// families beyond the seed's.
func TestGatewayFamiliesScrape(t *testing.T) {
	t.Parallel()
	fx := newMix(t)
	f := scrape(t, fx.m.Handler())
	counters := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{metrics.NameEndpointRequests, L("endpoint", "chat", "status", "200"), 3},
		{metrics.NameEndpointRequests, L("endpoint", "embeddings", "status", "502"), 1},
		{metrics.NameEndpointRequests, L("endpoint", "responses", "status", "200"), 1},
		{metrics.NameEndpointRequests, L("endpoint", "other", "status", "200"), 2},
		{metrics.NameEndpointTokens, L("endpoint", "chat", "type", "prompt"), 300},
		{metrics.NameEndpointTokens, L("endpoint", "chat", "type", "completion"), 150},
		{metrics.NameEndpointTokens, L("endpoint", "responses", "type", "prompt"), 10},
		{metrics.NameEndpointTokens, L("endpoint", "other", "type", "completion"), 20},
		{metrics.NameKeyRequests, L("key", "team_a", "status", "200"), 2},
		{metrics.NameKeyRequests, L("key", "other", "status", "200"), 1},
		{metrics.NameKeyRequests, L("key", "ci", "status", "502"), 1},
		{metrics.NameKeyTokens, L("key", "team_a", "type", "prompt"), 200},
		{metrics.NameKeyTokens, L("key", "team_a", "type", "completion"), 100},
		{metrics.NameKeyTokens, L("key", "other", "type", "prompt"), 100},
		{metrics.NameRateLimited, L("key", "team_a", "limit", "requests"), 2},
		{metrics.NameRateLimited, L("key", "ci", "limit", "tokens"), 1},
		{metrics.NameRateLimited, L("key", "other", "limit", "other"), 1},
		{metrics.NameRateLimited, L("key", "none", "limit", "concurrency"), 1},
		{metrics.NameLogSuppressed, L("kind", "backend_error"), 5},
		{metrics.NameLogSuppressed, L("kind", "other"), 2},
		{metrics.NameConfigReloads, L("result", "success"), 2},
		{metrics.NameConfigReloads, L("result", "failure"), 1},
	}
	for _, c := range counters {
		assert.Equal(t, c.want, f.Counter(c.name, c.labels), "%s%v", c.name, c.labels)
	}
	for name, n := range map[string]int{
		metrics.NameEndpointRequests: 4, metrics.NameEndpointTokens: 6, metrics.NameKeyRequests: 3,
		metrics.NameKeyTokens: 4, metrics.NameRateLimited: 4, metrics.NameLogSuppressed: 2,
		metrics.NameConfigReloads: 2, metrics.NameEndpointDuration: 4, metrics.NameQueueWait: 5,
	} {
		assert.Equal(t, n, f.Count(name), "series of %s", name)
	}

	count, sum := f.HistogramCount(metrics.NameEndpointDuration, L("endpoint", "chat"))
	assert.Equal(t, uint64(3), count)
	assert.InDelta(t, 2.1, sum, 1e-9)
	count, sum = f.HistogramCount(metrics.NameQueueWait, L("outcome", "served"))
	assert.Equal(t, uint64(2), count)
	assert.InDelta(t, 0.04, sum, 1e-9)
	count, _ = f.HistogramCount(metrics.NameQueueWait, L("outcome", "other"))
	assert.Equal(t, uint64(1), count, "unknown outcome")

	assert.Equal(t, 3.0, f.Gauge(metrics.NameQueueDepth, L()))
	ollama := L("backend", "ollama_local_11434")
	assert.Equal(t, 2.0, f.Gauge(metrics.NameBackendReportedRunning, ollama))
	assert.Equal(t, 1.0, f.Gauge(metrics.NameBackendReportedWaiting, ollama))
	assert.Equal(t, 0.5, f.Gauge(metrics.NameBackendKVCacheUsage, ollama))
	for _, name := range []string{metrics.NameBackendReportedRunning, metrics.NameBackendReportedWaiting, metrics.NameBackendKVCacheUsage} {
		assert.Equal(t, 1, f.Count(name), "%s: no reading and unregistered backends are not exported", name)
	}
}

func TestGatewayStats(t *testing.T) {
	t.Parallel()
	fx := newMix(t)
	s, err := fx.m.Stats(context.Background())
	require.NoError(t, err)

	wantP := map[string][2]float64{"chat": {400, 1500}, "embeddings": {2000, 2000}, "other": {300, 500}, "responses": {100, 100}}
	names := make([]string, 0, len(s.Endpoints))
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		names = append(names, e.Name)
		assertNear(t, wantP[e.Name][0], e.P50DurationMs, e.Name)
		assertNear(t, wantP[e.Name][1], e.P95DurationMs, e.Name)
		e.P50DurationMs, e.P95DurationMs = 0, 0
	}
	require.Equal(t, []string{"chat", "embeddings", "other", "responses"}, names, "sorted by name")
	assert.Equal(t, []metrics.EndpointStats{
		{Name: "chat", Requests: 3, AverageDurationMs: 700, PromptTokens: 300, CompletionTokens: 150},
		{Name: "embeddings", Requests: 1, Errors: 1, AverageDurationMs: 2000},
		{Name: "other", Requests: 2, AverageDurationMs: 400, PromptTokens: 10, CompletionTokens: 20},
		{Name: "responses", Requests: 1, AverageDurationMs: 100, PromptTokens: 10, CompletionTokens: 20},
	}, s.Endpoints)

	assert.Equal(t, []metrics.KeyStats{
		{Name: "ci", Requests: 1, Errors: 1, RateLimited: 1},
		{Name: "none", RateLimited: 1},
		{Name: "other", Requests: 1, PromptTokens: 100, CompletionTokens: 50, RateLimited: 1},
		{Name: "team-a", Requests: 2, PromptTokens: 200, CompletionTokens: 100, RateLimited: 2},
	}, s.Keys, "configured names, not sanitised")
	assert.Equal(t, map[string]uint64{"requests": 2, "tokens": 1, "concurrency": 1, "other": 1}, s.RateLimited)
	assert.Equal(t, map[string]uint64{"backend_error": 5, "other": 2}, s.LogLinesSuppressed)
	assert.Equal(t, metrics.ReloadStats{Success: 2, Failure: 1}, s.Reloads)

	assertNear(t, 5000, s.Queue.P95WaitMs)
	s.Queue.P95WaitMs = 0
	assert.Equal(t, metrics.QueueStats{Depth: 3, Waited: 6, AverageWaitMs: 1007, Served: 2, Timeouts: 1, Rejected: 1, Cancelled: 1}, s.Queue)

	// The endpoint and key views count the same requests as the seed's.
	var epSum, keySum uint64
	for _, e := range s.Endpoints {
		epSum += e.Requests
	}
	for _, k := range s.Keys {
		keySum += k.Requests
	}
	assert.Equal(t, s.Requests.Total, epSum)
	assert.Equal(t, uint64(4), keySum, "requests without a key are in no key")
}

func TestKnownKeysWithoutTrafficAreListed(t *testing.T) {
	t.Parallel()
	m := newMetrics(t, registry.New())
	m.SetKnownKeys([]string{"b", "a", "", "a"})
	s, err := m.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []metrics.KeyStats{{Name: "a"}, {Name: "b"}}, s.Keys)
	assert.Empty(t, s.Endpoints)
	assert.NotNil(t, s.Endpoints)
	assert.Zero(t, s.Queue)
}

// TestInventedEndpointsAndKeysAreBounded records thousands of names no
// configuration knows: each family keeps its closed set plus other.
func TestInventedEndpointsAndKeysAreBounded(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "gpu", registry.StatusHealthy, "m")
	m := newMetrics(t, reg)
	m.SetKnownKeys([]string{"team-a"})
	ctx := context.Background()
	const invented = 3000
	for i := range invented {
		name := fmt.Sprintf("made-up-%d", i)
		m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "gpu", Status: 200, Duration: time.Millisecond,
			Endpoint: name, Key: name, HasUsage: true, PromptTokens: 1, CompletionTokens: 1})
		m.RecordRateLimited(ctx, name, name)
		m.RecordLogSuppressed(ctx, name, 1)
		m.RecordQueueWait(ctx, time.Millisecond, name)
	}
	m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "gpu", Status: 200, Endpoint: metrics.EndpointChat, Key: "team-a"})
	m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "gpu", Status: 200, Endpoint: metrics.EndpointChat})

	f := scrape(t, m.Handler())
	assert.Equal(t, 2, f.Count(metrics.NameEndpointRequests), "chat and other")
	assert.Equal(t, float64(invented), f.Counter(metrics.NameEndpointRequests, L("endpoint", "other", "status", "200")))
	assert.Equal(t, 2, f.Count(metrics.NameEndpointDuration))
	assert.Equal(t, 2, f.Count(metrics.NameEndpointTokens), "other's prompt and completion")
	assert.Equal(t, 2, f.Count(metrics.NameKeyRequests), "team_a and other")
	assert.Equal(t, float64(invented), f.Counter(metrics.NameKeyRequests, L("key", "other", "status", "200")))
	assert.Equal(t, 2, f.Count(metrics.NameKeyTokens))
	assert.Equal(t, 1, f.Count(metrics.NameRateLimited))
	assert.Equal(t, float64(invented), f.Counter(metrics.NameRateLimited, L("key", "other", "limit", "other")))
	assert.Equal(t, 1, f.Count(metrics.NameLogSuppressed))
	assert.Equal(t, 1, f.Count(metrics.NameQueueWait))

	s, err := m.Stats(ctx)
	require.NoError(t, err)
	require.Len(t, s.Keys, 2)
	assert.Equal(t, "other", s.Keys[0].Name)
	assert.Equal(t, "team-a", s.Keys[1].Name)
	assert.Len(t, s.Endpoints, 2)
}

// TestKeyMemoCapFallsBackToOther: past the memo cap, even known key names
// are recorded as other, so the series set stays bounded.
func TestKeyMemoCapFallsBackToOther(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "gpu", registry.StatusHealthy, "m")
	m := newMetrics(t, reg, metrics.WithMemoCapForTest(4))
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%02d", i)
	}
	m.SetKnownKeys(keys)
	ctx := context.Background()
	for _, k := range keys {
		m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "gpu", Status: 200, Key: k})
		m.RecordRateLimited(ctx, k, metrics.LimitRequests)
	}
	f := scrape(t, m.Handler())
	assert.LessOrEqual(t, f.Count(metrics.NameKeyRequests), 5)
	assert.Equal(t, 20.0, f.SumCounter(metrics.NameKeyRequests), "nothing lost")
	assert.LessOrEqual(t, f.Count(metrics.NameRateLimited), 5)
	assert.Equal(t, 20.0, f.SumCounter(metrics.NameRateLimited))
}

func TestBackendLoadGauges(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "vllm-1", registry.StatusHealthy, "m")
	addBackend(t, reg, "llama-cpp", registry.StatusHealthy, "m")
	type reading struct {
		id            string
		run, wait, kv float64
		ok            bool
	}
	readings := []reading{
		{"vllm-1", 4, 2, 0.75, true},
		{"llama-cpp", 1, math.NaN(), -1, true}, // no queue or KV figures
		{"stranger", 9, 9, 0.9, true},          // not in the registry
	}
	load := func(yield func(string, float64, float64, float64, bool) bool) {
		for _, r := range readings {
			if !yield(r.id, r.run, r.wait, r.kv, r.ok) {
				return
			}
		}
	}
	m := newMetrics(t, reg, metrics.WithBackendLoad(load))
	f := scrape(t, m.Handler())
	assert.Equal(t, 4.0, f.Gauge(metrics.NameBackendReportedRunning, L("backend", "vllm_1")))
	assert.Equal(t, 2.0, f.Gauge(metrics.NameBackendReportedWaiting, L("backend", "vllm_1")))
	assert.Equal(t, 0.75, f.Gauge(metrics.NameBackendKVCacheUsage, L("backend", "vllm_1")))
	assert.Equal(t, 1.0, f.Gauge(metrics.NameBackendReportedRunning, L("backend", "llama_cpp")))
	assert.Equal(t, -1.0, f.Gauge(metrics.NameBackendReportedWaiting, L("backend", "llama_cpp")), "NaN is left out")
	assert.Equal(t, -1.0, f.Gauge(metrics.NameBackendKVCacheUsage, L("backend", "llama_cpp")), "negative is left out")
	assert.Equal(t, 2, f.Count(metrics.NameBackendReportedRunning), "stranger skipped")

	readings[0].ok = false
	f = scrape(t, m.Handler())
	assert.Equal(t, -1.0, f.Gauge(metrics.NameBackendReportedRunning, L("backend", "vllm_1")), "no reading, not exported")

	m.SetBackendLoad(nil)
	m.SetQueueDepth(nil)
	f = scrape(t, m.Handler())
	assert.Zero(t, f.Count(metrics.NameBackendReportedRunning))
	assert.Zero(t, f.Count(metrics.NameQueueDepth))
}

func TestQueueDepthOption(t *testing.T) {
	t.Parallel()
	depth := int64(7)
	m := newMetrics(t, registry.New(), metrics.WithQueueDepth(func() int64 { return depth }))
	assert.Equal(t, 7.0, scrape(t, m.Handler()).Gauge(metrics.NameQueueDepth, L()))
	s, err := m.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(7), s.Queue.Depth)
}

func TestNilMetricsNewMethodsAreNoOps(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	ctx := context.Background()
	assert.NotPanics(t, func() {
		m.RecordRequest(ctx, metrics.Request{Endpoint: metrics.EndpointChat, Key: "k"})
		m.SetKnownKeys([]string{"k"})
		m.RecordRateLimited(ctx, "k", metrics.LimitTokens)
		m.RecordLogSuppressed(ctx, "timeout", 3)
		m.RecordQueueWait(ctx, time.Second, metrics.QueueServed)
		m.SetQueueDepth(func() int64 { return 1 })
		m.RecordReload(ctx, nil)
		m.SetBackendLoad(nil)
	})
}
