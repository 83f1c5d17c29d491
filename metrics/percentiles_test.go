package metrics_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trueQuantile is the nearest-rank q-quantile of sorted values.
func trueQuantile(sorted []time.Duration, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return float64(sorted[max(i, 0)]) / float64(time.Millisecond)
}

// TestStatsPercentilesAreTruthful records known latencies and checks that
// /v1/stats reports percentiles within 10% of the true ones, for every
// latency family, while /metrics keeps the contract's coarse buckets.
func TestStatsPercentilesAreTruthful(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same samples every run
	lognormal := func(medianMs, sigma float64) time.Duration {
		return time.Duration(medianMs * math.Exp(sigma*rng.NormFloat64()) * float64(time.Millisecond))
	}
	tests := []struct {
		name    string
		samples []time.Duration
	}{
		{"single 1.1 ms request", []time.Duration{1100 * time.Microsecond}},
		{"1000 log-normal, median 80 ms", gen(1000, func() time.Duration { return lognormal(80, 1) })},
		{"1000 uniform 1–3 ms", gen(1000, func() time.Duration { return time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Millisecond))) })},
		{"1000 bimodal 5 ms and 2 s", gen(1000, func() time.Duration {
			if rng.IntN(10) < 7 {
				return lognormal(5, 0.2)
			}
			return lognormal(2000, 0.3)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := registry.New()
			addBackend(t, reg, "gpu", registry.StatusHealthy, "m")
			m := newMetrics(t, reg)
			ctx := context.Background()
			for _, d := range tt.samples {
				m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "gpu", Status: 200, Duration: d,
					Stream: true, TTFT: d, Endpoint: metrics.EndpointChat})
				m.RecordQueueWait(ctx, d, metrics.QueueServed)
			}
			sorted := slices.Sorted(slices.Values(tt.samples))
			p50, p95 := trueQuantile(sorted, 0.5), trueQuantile(sorted, 0.95)

			s, err := m.Stats(ctx)
			require.NoError(t, err)
			for _, got := range []struct {
				what     string
				p50, p95 float64
			}{
				{"requests", s.Requests.P50DurationMs, s.Requests.P95DurationMs},
				{"model", s.Models[0].P50DurationMs, s.Models[0].P95DurationMs},
				{"ttft", s.TimeToFirstToken.P50Ms, s.TimeToFirstToken.P95Ms},
				{"endpoint", s.Endpoints[0].P50DurationMs, s.Endpoints[0].P95DurationMs},
				{"queue", p50, s.Queue.P95WaitMs}, // the queue has no p50
			} {
				assert.InEpsilon(t, p50, got.p50, 0.1, "%s p50 (true %.2f ms)", got.what, p50)
				assert.InEpsilon(t, p95, got.p95, 0.1, "%s p95 (true %.2f ms)", got.what, p95)
			}

			// /metrics is unchanged: the seed's buckets.
			f := scrape(t, m.Handler())
			assertBounds(t, f.Series(metrics.NameRequestDuration, L("model", "m", "backend", "gpu")).GetHistogram(), metrics.DurationBuckets())
			assertBounds(t, f.Series(metrics.NameTimeToFirstToken, L("model", "m", "backend", "gpu")).GetHistogram(), metrics.TTFTBuckets())
			assertBounds(t, f.Series(metrics.NameEndpointDuration, L("endpoint", "chat")).GetHistogram(), metrics.DurationBuckets())
			assertBounds(t, f.Series(metrics.NameQueueWait, L("outcome", "served")).GetHistogram(), metrics.DurationBuckets())
		})
	}
}

// TestSingleSampleIsExact: one 1.1 ms request reports 1.1 ms everywhere,
// not the 50 and 95 ms that interpolating in the 0–100 ms bucket gives.
func TestSingleSampleIsExact(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "gpu", registry.StatusHealthy, "m")
	m := newMetrics(t, reg)
	m.RecordRequest(context.Background(), metrics.Request{Model: "m", Backend: "gpu", Status: 200, Duration: 1100 * time.Microsecond})
	s, err := m.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1.1, s.Requests.AverageDurationMs)
	assert.Equal(t, 1.1, s.Requests.P50DurationMs)
	assert.Equal(t, 1.1, s.Requests.P95DurationMs)
}

func gen(n int, f func() time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = f()
	}
	return out
}
