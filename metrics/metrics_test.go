package metrics_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nexusllm/nexus/internal/promtest"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mixFixture records a known mix of traffic over two backends.
type mixFixture struct {
	reg *registry.Registry
	m   *metrics.Metrics
}

func newMix(t *testing.T) mixFixture {
	t.Helper()
	reg := registry.New()
	addBackend(t, reg, "ollama-local:11434", registry.StatusHealthy, "llama3:70b", "4o")
	gpu := addBackend(t, reg, "gpu-2", registry.StatusUnhealthy, "4o", "mistral")
	m := newMetrics(t, reg, metrics.WithStartTime(time.Now().Add(-90*time.Second)))
	m.SetKnownModels([]string{"fast"})
	m.SetKnownKeys([]string{"team-a", "ci"})
	ctx := context.Background()
	ms := time.Millisecond
	for _, r := range []metrics.Request{
		{Model: "llama3:70b", Backend: "ollama-local:11434", Status: 200, Duration: 200 * ms, HasUsage: true, PromptTokens: 100, CompletionTokens: 50,
			Endpoint: metrics.EndpointChat, Key: "team-a"},
		{Model: "llama3:70b", Backend: "ollama-local:11434", Status: 200, Duration: 400 * ms, HasUsage: true, PromptTokens: 100, CompletionTokens: 50, Stream: true, TTFT: 50 * ms,
			Endpoint: metrics.EndpointChat, Key: "team-a"},
		{Model: "llama3:70b", Backend: "ollama-local:11434", Status: 200, Duration: 1500 * ms, HasUsage: true, PromptTokens: 100, CompletionTokens: 50, Stream: true, TTFT: 150 * ms,
			Endpoint: metrics.EndpointChat, Key: "intruder"},
		{Model: "4o", Backend: "gpu-2", Status: 502, Duration: 2 * time.Second, Endpoint: metrics.EndpointEmbeddings, Key: "ci"},
		{Model: "gpt-5-turbo", Backend: "gpu-2", Status: 200, Duration: 100 * ms, HasUsage: true, PromptTokens: 10, CompletionTokens: 20,
			Endpoint: metrics.EndpointResponses},
		{Model: "gpt-5-turbo", Backend: "gpu-2", Status: 200, Duration: 300 * ms, HasUsage: true, PromptTokens: 10, CompletionTokens: 20,
			Endpoint: "made-up-endpoint"},
		{Model: "llama3:70b", Backend: "ghost", Status: 200, Duration: 500 * ms},
	} {
		m.RecordRequest(ctx, r)
	}
	m.RecordError(ctx, metrics.ErrorModelNotFound, "gpt-5-turbo")
	m.RecordError(ctx, metrics.ErrorBackendError, "4o")
	m.RecordError(ctx, metrics.ErrorBackendError, "4o")
	m.RecordError(ctx, metrics.ErrorType("weird"), "llama3:70b")
	m.RecordFallback(ctx, "fast", "llama3:70b")
	m.RecordFallback(ctx, "bogus", "4o")
	m.RecordProbe(ctx, "ollama-local:11434", 30*ms)
	m.RecordProbe(ctx, "ollama-local:11434", 50*ms)
	m.RecordProbe(ctx, "ghost", 10*ms)
	gpu.Begin()
	gpu.Begin()

	m.RecordRateLimited(ctx, "team-a", metrics.LimitRequests)
	m.RecordRateLimited(ctx, "team-a", metrics.LimitRequests)
	m.RecordRateLimited(ctx, "ci", metrics.LimitTokens)
	m.RecordRateLimited(ctx, "nobody", "weird")
	m.RecordRateLimited(ctx, "", metrics.LimitConcurrency)
	m.RecordLogSuppressed(ctx, string(metrics.ErrorBackendError), 5)
	m.RecordLogSuppressed(ctx, "bogus", 2)
	m.RecordLogSuppressed(ctx, string(metrics.ErrorTimeout), 0)
	for _, w := range []struct {
		d       time.Duration
		outcome string
	}{
		{10 * ms, metrics.QueueServed}, {30 * ms, metrics.QueueServed}, {5 * time.Second, metrics.QueueTimeout},
		{0, metrics.QueueRejected}, {time.Second, metrics.QueueCancelled}, {2 * ms, "lost"},
	} {
		m.RecordQueueWait(ctx, w.d, w.outcome)
	}
	m.SetQueueDepth(func() int64 { return 3 })
	m.RecordReload(ctx, nil)
	m.RecordReload(ctx, nil)
	m.RecordReload(ctx, errors.New("bad toml"))
	m.SetBackendLoad(func(yield func(string, float64, float64, float64, bool) bool) {
		_ = yield("ollama-local:11434", 2, 1, 0.5, true) &&
			yield("gpu-2", 0, 0, 0, false) &&
			yield("ghost", 1, 1, 1, true)
	})
	return mixFixture{reg: reg, m: m}
}

func TestScrapeHasExactValues(t *testing.T) {
	t.Parallel()
	fx := newMix(t)
	f := scrape(t, fx.m.Handler())

	ollama := "ollama_local_11434"
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{L("model", "llama3_70b", "backend", ollama, "status", "200"), 3},
		{L("model", "_4o", "backend", "gpu_2", "status", "502"), 1},
		{L("model", "other", "backend", "gpu_2", "status", "200"), 2},
		{L("model", "llama3_70b", "backend", "other", "status", "200"), 1},
	} {
		assert.Equal(t, tc.want, f.Counter(metrics.NameRequests, tc.labels), "%v", tc.labels)
	}
	assert.Equal(t, 4, f.Count(metrics.NameRequests))

	dur := f.Series(metrics.NameRequestDuration, L("model", "llama3_70b", "backend", ollama)).GetHistogram()
	require.NotNil(t, dur)
	assert.Equal(t, uint64(3), dur.GetSampleCount())
	assert.InDelta(t, 2.1, dur.GetSampleSum(), 1e-9)
	wantCum := map[float64]uint64{0.1: 0, 0.25: 1, 0.5: 2, 1: 2, 2.5: 3, 300: 3}
	bounds := append(metrics.DurationBuckets(), math.Inf(1))
	require.Len(t, dur.GetBucket(), len(bounds))
	for i, b := range dur.GetBucket() {
		assert.Equal(t, bounds[i], b.GetUpperBound())
		if want, ok := wantCum[b.GetUpperBound()]; ok {
			assert.Equal(t, want, b.GetCumulativeCount(), "le=%v", b.GetUpperBound())
		}
	}
	for _, tc := range []struct {
		labels map[string]string
		count  uint64
		sum    float64
	}{
		{L("model", "_4o", "backend", "gpu_2"), 1, 2},
		{L("model", "other", "backend", "gpu_2"), 2, 0.4},
		{L("model", "llama3_70b", "backend", "other"), 1, 0.5},
	} {
		h := f.Series(metrics.NameRequestDuration, tc.labels).GetHistogram()
		assert.Equal(t, tc.count, h.GetSampleCount(), "%v", tc.labels)
		assert.InDelta(t, tc.sum, h.GetSampleSum(), 1e-9, "%v", tc.labels)
	}

	for _, tc := range []struct {
		labels map[string]string
		count  uint64
		sum    float64
	}{
		{L("model", "llama3_70b", "backend", ollama, "type", "prompt"), 3, 300},
		{L("model", "llama3_70b", "backend", ollama, "type", "completion"), 3, 150},
		{L("model", "other", "backend", "gpu_2", "type", "prompt"), 2, 20},
		{L("model", "other", "backend", "gpu_2", "type", "completion"), 2, 40},
	} {
		h := f.Series(metrics.NameTokens, tc.labels).GetHistogram()
		assert.Equal(t, tc.count, h.GetSampleCount(), "%v", tc.labels)
		assert.Equal(t, tc.sum, h.GetSampleSum(), "%v", tc.labels)
		assertBounds(t, h, metrics.TokenBuckets())
	}
	assert.Equal(t, 4, f.Count(metrics.NameTokens), "no tokens without usage")

	ttft := f.Series(metrics.NameTimeToFirstToken, L("model", "llama3_70b", "backend", ollama)).GetHistogram()
	assert.Equal(t, uint64(2), ttft.GetSampleCount())
	assert.InDelta(t, 0.2, ttft.GetSampleSum(), 1e-9)
	assertBounds(t, ttft, metrics.TTFTBuckets())
	assertBounds(t, f.Series(metrics.NameBackendLatency, L("backend", ollama)).GetHistogram(), metrics.DurationBuckets())
	assert.Equal(t, 1, f.Count(metrics.NameTimeToFirstToken))

	assert.Equal(t, 1.0, f.Counter(metrics.NameErrors, L("error_type", "model_not_found", "model", "other")))
	assert.Equal(t, 2.0, f.Counter(metrics.NameErrors, L("error_type", "backend_error", "model", "_4o")))
	assert.Equal(t, 1.0, f.Counter(metrics.NameErrors, L("error_type", "other", "model", "llama3_70b")))
	assert.Equal(t, 3, f.Count(metrics.NameErrors))

	assert.Equal(t, 1.0, f.Counter(metrics.NameFallbacks, L("from_model", "fast", "to_model", "llama3_70b")))
	assert.Equal(t, 1.0, f.Counter(metrics.NameFallbacks, L("from_model", "other", "to_model", "_4o")))

	probe := f.Series(metrics.NameBackendLatency, L("backend", ollama)).GetHistogram()
	assert.Equal(t, uint64(2), probe.GetSampleCount())
	assert.InDelta(t, 0.08, probe.GetSampleSum(), 1e-9)
	assert.Equal(t, uint64(1), f.Series(metrics.NameBackendLatency, L("backend", "other")).GetHistogram().GetSampleCount())

	assert.Equal(t, 2.0, f.Gauge(metrics.NameBackendsTotal, L()))
	assert.Equal(t, 1.0, f.Gauge(metrics.NameBackendsHealthy, L()))
	assert.Equal(t, 2.0, f.Gauge(metrics.NameModelsAvailable, L()))
	assert.Equal(t, 2.0, f.Gauge(metrics.NamePendingRequests, L("backend", "gpu_2")))
	assert.Equal(t, 0.0, f.Gauge(metrics.NamePendingRequests, L("backend", ollama)))
}

func TestScrapeShape(t *testing.T) {
	t.Parallel()
	fx := newMix(t)
	text := scrapeText(t, fx.m.Handler())
	assert.NotContains(t, text, "otel_scope")
	assert.NotContains(t, text, "target_info")
	f := promtest.Parse(t, text)
	want := map[string]string{
		metrics.NameRequests: "COUNTER", metrics.NameRequestDuration: "HISTOGRAM", metrics.NameErrors: "COUNTER",
		metrics.NameFallbacks: "COUNTER", metrics.NameTokens: "HISTOGRAM", metrics.NameBackendLatency: "HISTOGRAM",
		metrics.NameTimeToFirstToken: "HISTOGRAM", metrics.NameBackendsTotal: "GAUGE", metrics.NameBackendsHealthy: "GAUGE",
		metrics.NameModelsAvailable: "GAUGE", metrics.NamePendingRequests: "GAUGE",

		metrics.NameEndpointRequests: "COUNTER", metrics.NameEndpointDuration: "HISTOGRAM", metrics.NameEndpointTokens: "COUNTER",
		metrics.NameKeyRequests: "COUNTER", metrics.NameKeyTokens: "COUNTER", metrics.NameRateLimited: "COUNTER",
		metrics.NameLogSuppressed: "COUNTER", metrics.NameQueueDepth: "GAUGE", metrics.NameQueueWait: "HISTOGRAM",
		metrics.NameConfigReloads: "COUNTER", metrics.NameBackendReportedRunning: "GAUGE",
		metrics.NameBackendReportedWaiting: "GAUGE", metrics.NameBackendKVCacheUsage: "GAUGE",
	}
	require.Len(t, f, len(want), "exactly the contract's families and the gateway's")
	for name, typ := range want {
		mf := f[name]
		require.NotNil(t, mf, name)
		assert.Equal(t, typ, mf.GetType().String(), name)
		assert.NotEmpty(t, strings.TrimSpace(mf.GetHelp()), name)
	}
}

func TestStatsMatchesMix(t *testing.T) {
	t.Parallel()
	fx := newMix(t)
	s, err := fx.m.Stats(context.Background())
	require.NoError(t, err)

	assert.GreaterOrEqual(t, s.UptimeSeconds, uint64(90))
	assert.Less(t, s.UptimeSeconds, uint64(90+3600))
	assert.Equal(t, uint64(7), s.Requests.Total)
	assert.Equal(t, uint64(6), s.Requests.Success)
	assert.Equal(t, uint64(1), s.Requests.Errors)
	assert.Zero(t, s.Requests.Overflow)
	assert.Equal(t, 714.3, s.Requests.AverageDurationMs)
	// Durations 100 200 300 400 500 1500 2000 ms: the percentiles are
	// near the true ones, not interpolated in the 0.25–0.5 s and 1–2.5 s
	// buckets (375 and 2237.5 ms).
	assertNear(t, 400, s.Requests.P50DurationMs)
	assertNear(t, 2000, s.Requests.P95DurationMs)

	assert.Equal(t, []metrics.BackendStats{
		{ID: "gpu-2", Name: "gpu-2 name", Status: "unhealthy", Requests: 3, Errors: 1, AverageLatencyMs: 800, Pending: 2},
		{ID: "ollama-local:11434", Name: "ollama-local:11434 name", Status: "healthy", Requests: 3, AverageLatencyMs: 700, ProbeLatencyMs: 40,
			ReportedRunning: ptr(2.0), ReportedWaiting: ptr(1.0), KVCacheUsage: ptr(0.5)}, // what the engine reported
		{ID: "other", Name: "other", Requests: 1, AverageLatencyMs: 500, ProbeLatencyMs: 10},
	}, s.Backends)

	for _, tc := range []struct{ p50, p95 float64 }{{2000, 2000}, {400, 1500}, {0, 0}, {100, 300}} {
		require.NotEmpty(t, s.Models)
		assertNear(t, tc.p50, s.Models[0].P50DurationMs, s.Models[0].Name)
		assertNear(t, tc.p95, s.Models[0].P95DurationMs, s.Models[0].Name)
		s.Models[0].P50DurationMs, s.Models[0].P95DurationMs = 0, 0
		s.Models = append(s.Models[1:], s.Models[0]) // rotate: all four end where they began
	}
	assert.Equal(t, []metrics.ModelStats{
		{Name: "4o", Requests: 1, Errors: 1, AverageDurationMs: 2000},
		{Name: "llama3:70b", Requests: 4, AverageDurationMs: 650, PromptTokens: 300, CompletionTokens: 150, AverageTTFTMs: 100},
		{Name: "mistral"},
		{Name: "other", Requests: 2, AverageDurationMs: 200, PromptTokens: 20, CompletionTokens: 40},
	}, s.Models)

	assert.Equal(t, map[string]uint64{"model_not_found": 1, "backend_error": 2, "other": 1}, s.Errors)
	assert.Equal(t, metrics.TokenStats{Prompt: 320, Completion: 190, Total: 510}, s.Tokens)
	assert.Equal(t, []metrics.FallbackStats{{From: "fast", To: "llama3:70b", Count: 1}, {From: "other", To: "4o", Count: 1}}, s.Fallbacks)
	assertNear(t, 50, s.TimeToFirstToken.P50Ms)
	assertNear(t, 150, s.TimeToFirstToken.P95Ms)
	assert.Equal(t, uint64(2), s.TimeToFirstToken.Count)
	assert.Equal(t, 100.0, s.TimeToFirstToken.AverageMs)
}

// assertNear checks a percentile against the true value: within 10%, and
// exact for 0.
func assertNear(t *testing.T, want, got float64, msg ...any) {
	t.Helper()
	if want == 0 {
		assert.Zero(t, got, msg...)
		return
	}
	assert.InEpsilon(t, want, got, 0.1, msg...)
}

// TestStatsAgreesWithScrape compares the two views taken one after the
// other with no traffic in between.
func TestStatsAgreesWithScrape(t *testing.T) {
	t.Parallel()
	fx := newMix(t)
	f := scrape(t, fx.m.Handler())
	s, err := fx.m.Stats(context.Background())
	require.NoError(t, err)

	assert.Equal(t, f.SumCounter(metrics.NameRequests), float64(s.Requests.Total))
	var backendSum, modelSum uint64
	for _, b := range s.Backends {
		backendSum += b.Requests
		assert.Equal(t, float64(b.Requests), sumWhere(f, metrics.NameRequests, "backend", metrics.SanitizeLabel(b.ID)), b.ID)
	}
	for _, m := range s.Models {
		modelSum += m.Requests
		assert.Equal(t, float64(m.Requests), sumWhere(f, metrics.NameRequests, "model", metrics.SanitizeLabel(m.Name)), m.Name)
	}
	assert.Equal(t, s.Requests.Total, backendSum)
	assert.Equal(t, s.Requests.Total, modelSum)

	var errSum uint64
	for _, n := range s.Errors {
		errSum += n
	}
	assert.Equal(t, f.SumCounter(metrics.NameErrors), float64(errSum))
	var fbSum uint64
	for _, fb := range s.Fallbacks {
		fbSum += fb.Count
	}
	assert.Equal(t, f.SumCounter(metrics.NameFallbacks), float64(fbSum))

	var tokSum float64
	for _, m := range f[metrics.NameTokens].GetMetric() {
		tokSum += m.GetHistogram().GetSampleSum()
	}
	assert.Equal(t, tokSum, float64(s.Tokens.Total))
}

// assertBounds checks a parsed histogram's bucket bounds: want plus +Inf.
func assertBounds(t *testing.T, h *dto.Histogram, want []float64) {
	t.Helper()
	got := make([]float64, 0, len(h.GetBucket()))
	for _, b := range h.GetBucket() {
		got = append(got, b.GetUpperBound())
	}
	assert.Equal(t, append(want, math.Inf(1)), got)
}

func sumWhere(f families, name, key, value string) float64 {
	var s float64
	for _, m := range f[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == key && lp.GetValue() == value {
				s += m.GetCounter().GetValue()
			}
		}
	}
	return s
}

func TestTwoMetricsAreIndependent(t *testing.T) {
	t.Parallel()
	regA, regB := registry.New(), registry.New()
	addBackend(t, regA, "a", registry.StatusHealthy, "m")
	addBackend(t, regB, "b", registry.StatusHealthy, "m")
	addBackend(t, regB, "b2", registry.StatusUnhealthy, "m")
	a, b := newMetrics(t, regA), newMetrics(t, regB)
	ctx := context.Background()
	for range 3 {
		a.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "a", Status: 200, Duration: time.Second})
	}
	b.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "b", Status: 500, Duration: time.Second})

	fa, fb := scrape(t, a.Handler()), scrape(t, b.Handler())
	assert.Equal(t, 3.0, fa.SumCounter(metrics.NameRequests))
	assert.Equal(t, 1, fa.Count(metrics.NameRequests))
	assert.Equal(t, 1.0, fb.SumCounter(metrics.NameRequests))
	assert.Equal(t, 1.0, fa.Gauge(metrics.NameBackendsTotal, L()))
	assert.Equal(t, 2.0, fb.Gauge(metrics.NameBackendsTotal, L()))

	sa, err := a.Stats(ctx)
	require.NoError(t, err)
	sb, err := b.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), sa.Requests.Total)
	assert.Equal(t, uint64(1), sb.Requests.Errors)

	require.NoError(t, a.Close(ctx))
	b.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "b", Status: 200})
	sb, err = b.Stats(ctx)
	require.NoError(t, err, "closing one leaves the other working")
	assert.Equal(t, uint64(2), sb.Requests.Total)
}

func TestGaugesFollowRegistry(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	m := newMetrics(t, reg)
	f := scrape(t, m.Handler())
	assert.Equal(t, 0.0, f.Gauge(metrics.NameBackendsTotal, L()), "gauges exist before any traffic")
	assert.Equal(t, 0.0, f.Gauge(metrics.NameBackendsHealthy, L()))
	assert.Equal(t, 0.0, f.Gauge(metrics.NameModelsAvailable, L()))
	assert.Zero(t, f.Count(metrics.NameRequests), "never-recorded instruments are absent")

	a := addBackend(t, reg, "a", registry.StatusUnknown, "m1", "m2")
	b := addBackend(t, reg, "b", registry.StatusUnknown, "m2", "m3")
	f = scrape(t, m.Handler())
	assert.Equal(t, 2.0, f.Gauge(metrics.NameBackendsTotal, L()))
	assert.Equal(t, 0.0, f.Gauge(metrics.NameBackendsHealthy, L()))
	assert.Equal(t, 0.0, f.Gauge(metrics.NameModelsAvailable, L()))

	a.SetStatus(registry.StatusHealthy, "")
	a.Begin()
	b.Begin()
	b.Begin()
	b.Begin()
	f = scrape(t, m.Handler())
	assert.Equal(t, 1.0, f.Gauge(metrics.NameBackendsHealthy, L()))
	assert.Equal(t, 2.0, f.Gauge(metrics.NameModelsAvailable, L()))
	assert.Equal(t, 1.0, f.Gauge(metrics.NamePendingRequests, L("backend", "a")))
	assert.Equal(t, 3.0, f.Gauge(metrics.NamePendingRequests, L("backend", "b")))

	b.SetStatus(registry.StatusHealthy, "")
	b.End()
	require.NoError(t, reg.SetModels("a", []registry.Model{{ID: "m4"}}))
	f = scrape(t, m.Handler())
	assert.Equal(t, 2.0, f.Gauge(metrics.NameBackendsHealthy, L()))
	assert.Equal(t, 3.0, f.Gauge(metrics.NameModelsAvailable, L()), "m2, m3, m4")
	assert.Equal(t, 2.0, f.Gauge(metrics.NamePendingRequests, L("backend", "b")))

	require.NoError(t, reg.Remove("a"))
	f = scrape(t, m.Handler())
	assert.Equal(t, 1.0, f.Gauge(metrics.NameBackendsTotal, L()))
	assert.Equal(t, -1.0, f.Gauge(metrics.NamePendingRequests, L("backend", "a")), "removed backend's series is gone")

	s, err := m.Stats(context.Background())
	require.NoError(t, err)
	require.Len(t, s.Backends, 1)
	assert.Equal(t, int64(2), s.Backends[0].Pending)
}
