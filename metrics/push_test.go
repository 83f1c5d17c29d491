package metrics_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
)

// memExporter keeps what is pushed to it.
type memExporter struct {
	mu       sync.Mutex
	pushed   []metricdata.ResourceMetrics
	shutdown bool
}

func (e *memExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (e *memExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (e *memExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pushed = append(e.pushed, *rm)
	return nil
}

func (e *memExporter) ForceFlush(context.Context) error { return nil }

func (e *memExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutdown = true
	return nil
}

func TestWithPushFlushesOnClose(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "gpu", registry.StatusHealthy, "llama3")
	exp := &memExporter{}
	res := resource.NewSchemaless(attribute.String("service.name", "nexus-test"))
	// An interval longer than the test: only Close pushes.
	m, err := metrics.New(reg, metrics.WithPush(exp, time.Hour), metrics.WithResource(res), metrics.WithPush(nil, 0))
	require.NoError(t, err)
	for range 3 {
		m.RecordRequest(context.Background(), metrics.Request{Model: "llama3", Backend: "gpu", Status: 200, Duration: time.Second})
	}
	assert.NotContains(t, scrapeText(t, m.Handler()), "nexus-test", "the resource does not reach /metrics")
	require.NoError(t, m.Close(context.Background()))

	exp.mu.Lock()
	defer exp.mu.Unlock()
	assert.True(t, exp.shutdown)
	require.Len(t, exp.pushed, 1)
	got := exp.pushed[0]
	name, _ := got.Resource.Set().Value("service.name")
	assert.Equal(t, "nexus-test", name.AsString())
	var total int64
	names := map[string]bool{}
	for _, sm := range got.ScopeMetrics {
		for _, md := range sm.Metrics {
			names[md.Name] = true
			if md.Name == metrics.NameRequests {
				for _, dp := range md.Data.(metricdata.Sum[int64]).DataPoints {
					total += dp.Value
				}
			}
		}
	}
	assert.Equal(t, int64(3), total, "pushed under the Prometheus name with the recorded count")
	assert.True(t, names[metrics.NameRequestDuration])
	assert.True(t, names[metrics.NameBackendsTotal], "observed gauges are pushed too")
}
