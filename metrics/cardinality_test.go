package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInventedModelsAreBounded records 5000 model names no registry knows:
// the series set stays at the known names plus other.
func TestInventedModelsAreBounded(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "gpu", registry.StatusHealthy, "llama3:8b", "qwen2:7b")
	m := newMetrics(t, reg)
	m.SetKnownModels([]string{"alias-fast"})
	ctx := context.Background()
	const invented = 5000
	for i := range invented {
		name := fmt.Sprintf("client-made-up-%d", i)
		m.RecordRequest(ctx, metrics.Request{Model: name, Backend: "gpu", Status: 200, Duration: time.Millisecond})
		m.RecordError(ctx, metrics.ErrorModelNotFound, name)
		m.RecordFallback(ctx, name, "llama3:8b")
	}
	for _, name := range []string{"llama3:8b", "qwen2:7b", "alias-fast"} {
		m.RecordRequest(ctx, metrics.Request{Model: name, Backend: "gpu", Status: 200, Duration: time.Millisecond})
	}
	known := 3
	f := scrape(t, m.Handler())
	assert.LessOrEqual(t, f.Count(metrics.NameRequests), known+1)
	assert.Equal(t, known+1, f.Count(metrics.NameRequests))
	assert.Equal(t, float64(invented), f.Counter(metrics.NameRequests, L("model", "other", "backend", "gpu", "status", "200")))
	assert.Equal(t, 1, f.Count(metrics.NameErrors))
	assert.Equal(t, 1, f.Count(metrics.NameFallbacks))
	assert.Equal(t, known+1, f.Count(metrics.NameRequestDuration))

	s, err := m.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(invented+known), s.Requests.Total)
	names := make([]string, 0, len(s.Models))
	for _, ms := range s.Models {
		names = append(names, ms.Name)
	}
	assert.Equal(t, []string{"alias-fast", "llama3:8b", "other", "qwen2:7b"}, names)
}

func TestUnknownStatusAndBackend(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "gpu", registry.StatusHealthy, "m")
	m := newMetrics(t, reg)
	ctx := context.Background()
	for _, st := range []int{0, -1, 99, 600, 1000} {
		m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "gpu", Status: st})
	}
	m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "gpu", Status: 204, Duration: -time.Second})
	m.RecordRequest(ctx, metrics.Request{Model: "m", Backend: "", Status: 499})
	f := scrape(t, m.Handler())
	assert.Equal(t, 5.0, f.Counter(metrics.NameRequests, L("model", "m", "backend", "gpu", "status", "other")))
	assert.Equal(t, 1.0, f.Counter(metrics.NameRequests, L("model", "m", "backend", "gpu", "status", "204")))
	assert.Equal(t, 1.0, f.Counter(metrics.NameRequests, L("model", "m", "backend", "other", "status", "499")))
	assert.Equal(t, 0.0, f.Series(metrics.NameRequestDuration, L("model", "m", "backend", "gpu")).GetHistogram().GetSampleSum(),
		"negative durations count as 0")

	s, err := m.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), s.Requests.Total)
	assert.Equal(t, uint64(1), s.Requests.Success)
	assert.Equal(t, uint64(6), s.Requests.Errors)
}
