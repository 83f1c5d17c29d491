package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestNilMetricsIsNoOp(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	ctx := context.Background()
	assert.NotPanics(t, func() {
		m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "b", Status: 200, Duration: time.Second})
		m.RecordError(ctx, metrics.ErrorTimeout, "m")
		m.RecordFallback(ctx, "a", "b")
		m.RecordProbe(ctx, "b", time.Millisecond)
		m.SetKnownModels([]string{"x"})
	})
	require.NoError(t, m.Close(ctx))
	_, err := m.Stats(ctx)
	require.Error(t, err)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
	rec = httptest.NewRecorder()
	m.StatsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/stats", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

func TestNewRejectsNilRegistry(t *testing.T) {
	t.Parallel()
	m, err := metrics.New(nil)
	require.Error(t, err)
	assert.Nil(t, m)
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "b", registry.StatusHealthy, "m")
	extra := sdkmetric.NewManualReader()
	m, err := metrics.New(reg, metrics.WithReader(extra))
	require.NoError(t, err)
	ctx := context.Background()
	m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "b", Status: 200})

	require.NoError(t, m.Close(ctx))
	require.NoError(t, m.Close(ctx))
	assert.NotPanics(t, func() {
		m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "b", Status: 200})
		m.RecordError(ctx, metrics.ErrorTimeout, "m")
	})
	_, err = m.Stats(ctx)
	require.Error(t, err, "Stats after Close")
	require.ErrorIs(t, extra.Collect(ctx, &metricdata.ResourceMetrics{}), sdkmetric.ErrReaderShutdown, "Close shuts extra readers down")

	srv := httptest.NewServer(m.StatsHandler())
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	var body struct {
		Error struct{ Message, Type string } `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "service_unavailable", body.Error.Type)
	assert.NotEmpty(t, body.Error.Message)

	f := scrape(t, m.Handler())
	assert.Empty(t, f, "a closed Metrics exports nothing, and the scrape still succeeds")
}

func TestStatsHandlerJSON(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "gpu-1", registry.StatusHealthy, "llama3:8b")
	m := newMetrics(t, reg)
	srv := httptest.NewServer(m.StatsHandler())
	t.Cleanup(srv.Close)

	get := func() map[string]any {
		resp, err := srv.Client().Get(srv.URL + "/v1/stats")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(raw, &doc), string(raw))
		return doc
	}

	doc := get()
	for _, key := range []string{"uptime_seconds", "requests", "backends", "models", "errors", "tokens", "fallbacks", "time_to_first_token",
		"endpoints", "keys", "rate_limited", "queue", "reloads", "log_lines_suppressed"} {
		assert.Contains(t, doc, key)
	}
	for _, key := range []string{"fallbacks", "endpoints", "keys"} {
		assert.Equal(t, []any{}, doc[key], "empty lists are [] not null: %s", key)
	}
	for _, key := range []string{"errors", "rate_limited", "log_lines_suppressed"} {
		assert.Equal(t, map[string]any{}, doc[key], "empty maps are {} not null: %s", key)
	}
	assert.Equal(t, map[string]any{"depth": 0.0, "waited": 0.0, "average_wait_ms": 0.0, "p95_wait_ms": 0.0,
		"served": 0.0, "timeouts": 0.0, "rejected": 0.0, "cancelled": 0.0}, doc["queue"])
	backends := doc["backends"].([]any)
	require.Len(t, backends, 1, "registry backends appear before any traffic")
	b := backends[0].(map[string]any)
	assert.Equal(t, "gpu-1", b["id"])
	assert.Equal(t, "gpu-1 name", b["name"])
	for _, key := range []string{"requests", "average_latency_ms", "pending", "errors", "probe_latency_ms", "status"} {
		assert.Contains(t, b, key)
	}

	m.RecordRequest(context.Background(), metrics.Request{Model: "llama3:8b", Backend: "gpu-1", Status: 200, Duration: 1234567 * time.Microsecond,
		Endpoint: metrics.EndpointChat})
	doc = get()
	req := doc["requests"].(map[string]any)
	assert.Equal(t, 1.0, req["total"])
	assert.Equal(t, 1.0, req["success"])
	assert.NotContains(t, req, "overflow", "overflow only appears when non-zero")
	model := doc["models"].([]any)[0].(map[string]any)
	assert.Equal(t, "llama3:8b", model["name"], "original, unsanitised name")
	assert.Equal(t, 1234.6, model["average_duration_ms"], "rounded to 1 dp")
	endpoint := doc["endpoints"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"name": "chat", "requests": 1.0, "errors": 0.0, "average_duration_ms": 1234.6,
		"p50_duration_ms": 1234.6, "p95_duration_ms": 1234.6, "prompt_tokens": 0.0, "completion_tokens": 0.0}, endpoint)
}

// TestCardinalityOverflowIsCounted forces the SDK's overflow series: totals
// stay exact and the overflow is reported separately.
func TestCardinalityOverflowIsCounted(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	models := []string{"m1", "m2", "m3", "m4", "m5", "m6"}
	addBackend(t, reg, "b", registry.StatusHealthy, models...)
	m := newMetrics(t, reg, metrics.WithCardinalityLimit(3))
	ctx := context.Background()
	for _, name := range models {
		m.RecordRequest(ctx, metrics.Request{Model: name, Backend: "b", Status: 200, Duration: time.Second})
		m.RecordError(ctx, metrics.ErrorTimeout, name)
	}
	f := scrape(t, m.Handler())
	assert.Equal(t, 6.0, f.SumCounter(metrics.NameRequests))
	assert.Equal(t, 4.0, f.Counter(metrics.NameRequests, L("otel_metric_overflow", "true")))

	s, err := m.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(6), s.Requests.Total)
	assert.Equal(t, uint64(4), s.Requests.Overflow)
	assert.Equal(t, uint64(2), s.Requests.Success)
	assert.Equal(t, uint64(4), s.Errors[metrics.OverflowLabel])
	assert.Equal(t, uint64(2), s.Errors["timeout"])
	var perModel uint64
	for _, ms := range s.Models {
		perModel += ms.Requests
	}
	assert.Equal(t, uint64(2), perModel, "overflowed requests belong to no model")
}

func TestWithPrometheusRegistryAndReader(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "b", registry.StatusHealthy, "m")
	own := prometheus.NewRegistry()
	embedder := prometheus.NewCounter(prometheus.CounterOpts{Name: "embedder_things_total", Help: "Things."})
	own.MustRegister(embedder)
	embedder.Add(7)
	extra := sdkmetric.NewManualReader()
	m := newMetrics(t, reg, metrics.WithPrometheusRegistry(own), metrics.WithReader(extra))
	assert.Same(t, own, m.Registry())

	ctx := context.Background()
	m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "b", Status: 200, Duration: time.Second})
	f := scrape(t, m.Handler())
	assert.Equal(t, 7.0, f.Counter("embedder_things_total", L()), "Handler serves the embedder's registry")
	assert.Equal(t, 1.0, f.SumCounter(metrics.NameRequests))

	var rm metricdata.ResourceMetrics
	require.NoError(t, extra.Collect(ctx, &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	var found bool
	for _, mt := range rm.ScopeMetrics[0].Metrics {
		if mt.Name == metrics.NameRequests {
			found = true
			assert.Equal(t, int64(1), mt.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
		}
	}
	assert.True(t, found, "the extra reader sees the instruments")
}

func TestEmbedderInstrumentsOnMeterProvider(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	m := newMetrics(t, reg)
	c, err := m.MeterProvider().Meter("embedder").Int64Counter("nexus_requests_total",
		metric.WithDescription("A name clash in another scope."))
	require.NoError(t, err)
	c.Add(context.Background(), 5)
	c2, err := m.MeterProvider().Meter("embedder").Int64Counter("embedder_jobs_total", metric.WithDescription("Jobs."))
	require.NoError(t, err)
	c2.Add(context.Background(), 2)

	s, err := m.Stats(context.Background())
	require.NoError(t, err)
	assert.Zero(t, s.Requests.Total, "Stats reads only Nexus's own scope")
	assert.Equal(t, 2.0, scrape(t, m.Handler()).SumCounter("embedder_jobs_total"))
}

func TestUptimeFromStartTime(t *testing.T) {
	t.Parallel()
	m := newMetrics(t, registry.New(), metrics.WithStartTime(time.Now().Add(-2*time.Hour)))
	s, err := m.Stats(context.Background())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, s.UptimeSeconds, uint64(7200))
	assert.Less(t, s.UptimeSeconds, uint64(7200+3600))

	future := newMetrics(t, registry.New(), metrics.WithStartTime(time.Now().Add(time.Hour)))
	s, err = future.Stats(context.Background())
	require.NoError(t, err)
	assert.Zero(t, s.UptimeSeconds)
}

// TestConcurrentRecordingAndReading records from many goroutines while
// others scrape and take Stats; the final totals are exact (run with -race).
func TestConcurrentRecordingAndReading(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "a", registry.StatusHealthy, "m1", "m2")
	addBackend(t, reg, "b", registry.StatusHealthy, "m1")
	m := newMetrics(t, reg)
	ctx := context.Background()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)

	const writers, each = 4, 500
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = m.Stats(ctx)
				if resp, err := srv.Client().Get(srv.URL); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				model := []string{"m1", "m2", "invented"}[i%3]
				backend := []string{"a", "b"}[(i+w)%2]
				m.RecordRequest(ctx, metrics.Request{Model: model, Backend: backend, Status: 200 + (i%2)*300,
					Duration: time.Duration(i) * time.Millisecond, HasUsage: true, PromptTokens: 1, CompletionTokens: 1,
					Endpoint: []string{metrics.EndpointChat, metrics.EndpointEmbeddings, "bogus"}[i%3], Key: "k"})
				m.RecordRateLimited(ctx, "k", metrics.LimitTokens)
				m.RecordQueueWait(ctx, time.Millisecond, metrics.QueueServed)
				if i%10 == 0 {
					m.SetKnownModels([]string{"invented"})
					m.SetKnownKeys([]string{"k"})
					m.SetQueueDepth(func() int64 { return int64(i) })
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	s, err := m.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(writers*each), s.Requests.Total)
	assert.Equal(t, uint64(writers*each/2), s.Requests.Success)
	assert.Equal(t, uint64(2*writers*each), s.Tokens.Total)
	var epSum, keySum, limited uint64
	for _, e := range s.Endpoints {
		epSum += e.Requests
	}
	for _, k := range s.Keys {
		keySum += k.Requests
		limited += k.RateLimited
	}
	assert.Equal(t, uint64(writers*each), epSum)
	assert.Equal(t, uint64(writers*each), keySum)
	assert.Equal(t, uint64(writers*each), limited)
	assert.Equal(t, uint64(writers*each), s.Queue.Served)
	assert.Equal(t, float64(writers*each), scrape(t, m.Handler()).SumCounter(metrics.NameRequests))
}
