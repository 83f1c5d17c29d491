package telemetry_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/nexusllm/nexus/telemetry"
)

// benchRequest traces one request with one attempt, as the gateway does.
func benchRequest(b *testing.B, tr *telemetry.Tracer, in http.Header) {
	b.Helper()
	target, _ := url.Parse("http://127.0.0.1:9001/v1/chat/completions")
	ctx := context.Background()
	out := make(http.Header, 2)
	b.ReportAllocs()
	for b.Loop() {
		req := tr.StartRequest(ctx, in, telemetry.Request{Method: "POST", Route: "/v1/chat/completions",
			Endpoint: "chat", Operation: "chat", RequestID: "req-1"})
		att := req.StartAttempt(telemetry.Attempt{Operation: "chat", Model: "llama3", Provider: "vllm",
			Backend: "gpu", RouteReason: "highest_score", Number: 1, Target: target}, out)
		att.EndAttempt(telemetry.AttemptResult{Status: 200, ResponseModel: "llama3", InputTokens: 10, OutputTokens: 20, HasUsage: true})
		req.End(telemetry.Outcome{Status: 200, RequestModel: "llama3", ResponseModel: "llama3", Backend: "gpu",
			RouteReason: "highest_score", Attempts: 1, InputTokens: 10, OutputTokens: 20, HasUsage: true})
	}
}

// BenchmarkTraceRequest is the cost tracing adds to one request with one
// backend attempt: sampled (both spans recorded and queued for export),
// unsampled (only the trace context propagated), and off (nil Tracer).
func BenchmarkTraceRequest(b *testing.B) {
	parent := http.Header{"Traceparent": {clientParent}}
	b.Run("sampled", func(b *testing.B) {
		tr := telemetry.NewTracerWithExporter(tracetest.NewNoopExporter(), telemetry.Config{},
			telemetry.Settings{Traces: true, Ratio: 1, RatioSampler: true}, nil)
		defer func() { _ = tr.Shutdown(context.Background()) }()
		benchRequest(b, tr, parent)
	})
	b.Run("unsampled", func(b *testing.B) {
		tr := telemetry.NewTracerWithExporter(tracetest.NewNoopExporter(), telemetry.Config{},
			telemetry.Settings{Traces: true, Ratio: 1, RatioSampler: true}, nil)
		defer func() { _ = tr.Shutdown(context.Background()) }()
		benchRequest(b, tr, http.Header{"Traceparent": {"00-" + clientTraceID + "-" + clientSpanID + "-00"}})
	})
	b.Run("off", func(b *testing.B) {
		benchRequest(b, nil, parent)
	})
}
