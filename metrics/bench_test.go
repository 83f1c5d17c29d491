package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/require"
)

// benchMetrics returns a Metrics over models×backends, every backend serving
// every model.
func benchMetrics(b *testing.B, models, backends int) (*metrics.Metrics, []string, []string) {
	b.Helper()
	reg := registry.New()
	var ms []registry.Model
	var modelNames, backendIDs []string
	for i := range models {
		name := fmt.Sprintf("model-%02d:7b", i)
		ms = append(ms, registry.Model{ID: name})
		modelNames = append(modelNames, name)
	}
	for i := range backends {
		id := fmt.Sprintf("gpu-%d", i)
		_, err := reg.Add(registry.Config{Name: id, URL: "http://127.0.0.1:1", Models: ms})
		require.NoError(b, err)
		backendIDs = append(backendIDs, id)
	}
	m, err := metrics.New(reg)
	require.NoError(b, err)
	b.Cleanup(func() { _ = m.Close(context.Background()) })
	return m, modelNames, backendIDs
}

func fullRequest(model, backend string) metrics.Request {
	return metrics.Request{
		Model: model, Backend: backend, Status: 200, Duration: 1200 * time.Millisecond,
		Stream: true, PromptTokens: 120, CompletionTokens: 380, HasUsage: true, TTFT: 90 * time.Millisecond,
		Endpoint: metrics.EndpointChat,
	}
}

// BenchmarkRecordRequest measures one full request (counter, duration, two
// token observations, TTFT, and the endpoint families) with its labels
// cached.
func BenchmarkRecordRequest(b *testing.B) {
	m, models, backends := benchMetrics(b, 1, 1)
	ctx := context.Background()
	r := fullRequest(models[0], backends[0])
	m.RecordRequest(ctx, r)
	b.ReportAllocs()
	for b.Loop() {
		m.RecordRequest(ctx, r)
	}
}

// BenchmarkRecordRequestWithKey is BenchmarkRecordRequest for a request
// with an API key (the key families too).
func BenchmarkRecordRequestWithKey(b *testing.B) {
	m, models, backends := benchMetrics(b, 1, 1)
	m.SetKnownKeys([]string{"team-a"})
	ctx := context.Background()
	r := fullRequest(models[0], backends[0])
	r.Key = "team-a"
	m.RecordRequest(ctx, r)
	b.ReportAllocs()
	for b.Loop() {
		m.RecordRequest(ctx, r)
	}
}

// BenchmarkRecordRateLimited measures one refusal count.
func BenchmarkRecordRateLimited(b *testing.B) {
	m, _, _ := benchMetrics(b, 1, 1)
	m.SetKnownKeys([]string{"team-a"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.RecordRateLimited(ctx, "team-a", metrics.LimitTokens)
	}
}

// BenchmarkRecordQueueWait measures one queue wait observation.
func BenchmarkRecordQueueWait(b *testing.B) {
	m, _, _ := benchMetrics(b, 1, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.RecordQueueWait(ctx, 3*time.Millisecond, metrics.QueueServed)
	}
}

// BenchmarkRecordRequestParallel is BenchmarkRecordRequest from all procs.
func BenchmarkRecordRequestParallel(b *testing.B) {
	m, models, backends := benchMetrics(b, 4, 2)
	ctx := context.Background()
	for _, mo := range models {
		for _, be := range backends {
			m.RecordRequest(ctx, fullRequest(mo, be))
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.RecordRequest(ctx, fullRequest(models[i%len(models)], backends[i%len(backends)]))
			i++
		}
	})
}

// BenchmarkRecordError measures an error count with its labels cached.
func BenchmarkRecordError(b *testing.B) {
	m, models, _ := benchMetrics(b, 1, 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.RecordError(ctx, metrics.ErrorBackendError, models[0])
	}
}

// BenchmarkStats1000Series measures Stats over about 1000 series: 40
// models × 5 backends, each with requests, duration, two token types and
// TTFT.
func BenchmarkStats1000Series(b *testing.B) {
	m, models, backends := benchMetrics(b, 40, 5)
	ctx := context.Background()
	for _, mo := range models {
		for _, be := range backends {
			m.RecordRequest(ctx, fullRequest(mo, be))
		}
	}
	m.RecordQueueWait(ctx, time.Millisecond, metrics.QueueServed)
	b.ReportAllocs()
	for b.Loop() {
		s, err := m.Stats(ctx)
		if err != nil || s.Requests.Total != 200 {
			b.Fatal(err, s.Requests.Total)
		}
	}
}
