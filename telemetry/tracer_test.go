package telemetry_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/nexusllm/nexus/telemetry"
)

const (
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
	clientParent  = "00-" + clientTraceID + "-" + clientSpanID + "-01"
)

func newTestTracer(t *testing.T, c telemetry.Config) (*telemetry.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr := telemetry.NewTracerWithExporter(exp, c, telemetry.Settings{Traces: true, Ratio: 1, RatioSampler: true}, nil)
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

func attrs(kv []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kv))
	for _, a := range kv {
		m[string(a.Key)] = a.Value.AsInterface()
	}
	return m
}

// request runs one request with a failed and a successful attempt.
func request(tr *telemetry.Tracer, in http.Header, prompt string) (attempts [2]http.Header) {
	req := tr.StartRequest(context.Background(), in, telemetry.Request{
		Method: "POST", Route: "/v1/chat/completions", Endpoint: "chat", Operation: "chat", RequestID: "req-1",
	})
	target, _ := url.Parse("http://127.0.0.1:9001/v1/chat/completions")
	for i, status := range []int{503, 200} {
		attempts[i] = http.Header{"Traceparent": {"from-client"}, "Tracestate": {"client=1"}}
		span := req.StartAttempt(telemetry.Attempt{
			Operation: "chat", Model: "llama3", Provider: "vllm", Backend: []string{"gpu-a", "gpu-b"}[i],
			RouteReason: "priority", Number: i + 1, Target: target,
		}, attempts[i])
		r := telemetry.AttemptResult{Status: status}
		if status != 200 {
			r.Err = errors.New("backend returned HTTP 503")
		} else {
			r.ResponseModel, r.InputTokens, r.OutputTokens, r.HasUsage = "llama3", 12, 34, true
		}
		span.EndAttempt(r)
	}
	req.End(telemetry.Outcome{
		Status: 200, RequestModel: "llama", ResponseModel: "llama3", Provider: "vllm", Backend: "gpu-b",
		RouteReason: "priority", Attempts: 2, InputTokens: 12, OutputTokens: 34, HasUsage: true, Prompt: prompt,
	})
	return attempts
}

func TestTracerSpans(t *testing.T) {
	t.Parallel()
	tr, exp := newTestTracer(t, telemetry.Config{})
	sent := request(tr, http.Header{"Traceparent": {clientParent}, "Tracestate": {"vendor=x"}}, "secret prompt")
	require.NoError(t, tr.ForceFlush(context.Background()))

	spans := exp.GetSpans()
	require.Len(t, spans, 3)
	server := spans[2]
	assert.Equal(t, "POST /v1/chat/completions", server.Name)
	assert.Equal(t, trace.SpanKindServer, server.SpanKind)
	assert.Equal(t, clientTraceID, server.SpanContext.TraceID().String())
	assert.Equal(t, clientSpanID, server.Parent.SpanID().String(), "the client's traceparent is the parent")
	assert.True(t, server.Parent.IsRemote())
	sa := attrs(server.Attributes)
	assert.Equal(t, "chat", sa["gen_ai.operation.name"])
	assert.Equal(t, "llama", sa["gen_ai.request.model"])
	assert.Equal(t, "llama3", sa["gen_ai.response.model"])
	assert.Equal(t, int64(12), sa["gen_ai.usage.input_tokens"])
	assert.Equal(t, int64(34), sa["gen_ai.usage.output_tokens"])
	assert.Equal(t, int64(200), sa["http.response.status_code"])
	assert.Equal(t, int64(2), sa["nexus.attempts"])
	assert.NotContains(t, sa, "nexus.prompt_preview", "no content without content logging")
	assert.Equal(t, codes.Unset, server.Status.Code)

	for i, span := range spans[:2] {
		assert.Equal(t, "chat llama3", span.Name)
		assert.Equal(t, trace.SpanKindClient, span.SpanKind)
		assert.Equal(t, server.SpanContext.SpanID(), span.Parent.SpanID())
		a := attrs(span.Attributes)
		assert.Equal(t, "127.0.0.1", a["server.address"])
		assert.Equal(t, int64(9001), a["server.port"])
		assert.Equal(t, "vllm", a["gen_ai.provider.name"])
		assert.Equal(t, int64(i+1), a["nexus.attempt"])
		assert.Equal(t, "priority", a["nexus.route_reason"])
		// The backend gets the attempt's context, the client's tracestate kept.
		want := "00-" + clientTraceID + "-" + span.SpanContext.SpanID().String() + "-01"
		assert.Equal(t, []string{want}, sent[i].Values("Traceparent"))
		assert.Equal(t, "vendor=x", sent[i].Get("Tracestate"))
	}
	assert.Equal(t, codes.Error, spans[0].Status.Code)
	assert.Equal(t, "503", attrs(spans[0].Attributes)["error.type"])
	assert.Equal(t, "gpu-a", attrs(spans[0].Attributes)["nexus.backend"])
	assert.Equal(t, codes.Unset, spans[1].Status.Code)
	assert.Equal(t, "llama3", attrs(spans[1].Attributes)["gen_ai.response.model"])
}

func TestTracerNewTraceAndContent(t *testing.T) {
	t.Parallel()
	tr, exp := newTestTracer(t, telemetry.Config{ContentInSpans: true})
	sent := request(tr, http.Header{"Traceparent": {"00-garbage"}}, "hello there")
	require.NoError(t, tr.ForceFlush(context.Background()))
	spans := exp.GetSpans()
	require.Len(t, spans, 3)
	server := spans[2]
	assert.False(t, server.Parent.IsValid(), "an invalid traceparent starts a new trace")
	assert.Equal(t, "hello there", attrs(server.Attributes)["nexus.prompt_preview"])
	assert.Contains(t, sent[1].Get("Traceparent"), server.SpanContext.TraceID().String())
	assert.Empty(t, sent[1].Get("Tracestate"), "the client's tracestate goes with its traceparent")
}

func TestTracerServerError(t *testing.T) {
	t.Parallel()
	tr, exp := newTestTracer(t, telemetry.Config{})
	span := tr.StartRequest(context.Background(), http.Header{}, telemetry.Request{Method: "POST", Route: "/v1/embeddings"})
	span.End(telemetry.Outcome{Status: 503, Error: "no healthy backend", ErrorType: "no_healthy_backend"})
	require.NoError(t, tr.ForceFlush(context.Background()))
	spans := exp.GetSpans()
	require.Len(t, spans, 1)
	assert.Equal(t, codes.Error, spans[0].Status.Code)
	assert.Equal(t, "no healthy backend", spans[0].Status.Description)
	assert.Equal(t, "no_healthy_backend", attrs(spans[0].Attributes)["error.type"])
}

func TestUnsampledRequestStillPropagates(t *testing.T) {
	t.Parallel()
	tr, exp := newTestTracer(t, telemetry.Config{})
	// The client decided not to sample (flags 00): parent-based sampling
	// keeps that, and the backend still gets the trace context.
	unsampled := "00-" + clientTraceID + "-" + clientSpanID + "-00"
	sent := request(tr, http.Header{"Traceparent": {unsampled}}, "")
	require.NoError(t, tr.ForceFlush(context.Background()))
	assert.Empty(t, exp.GetSpans())
	assert.Regexp(t, "^00-"+clientTraceID+"-[0-9a-f]{16}-00$", sent[0].Get("Traceparent"))
}

func TestNilTracer(t *testing.T) {
	t.Parallel()
	var tr *telemetry.Tracer
	h := http.Header{"Traceparent": {clientParent}}
	span := tr.StartRequest(context.Background(), h, telemetry.Request{})
	assert.False(t, span.Recording())
	assert.False(t, span.SpanContext().IsValid())
	att := span.StartAttempt(telemetry.Attempt{}, h)
	att.EndAttempt(telemetry.AttemptResult{})
	span.End(telemetry.Outcome{})
	assert.Equal(t, clientParent, h.Get("Traceparent"), "tracing off: the client's header passes as it was")
	assert.False(t, tr.ContentAllowed())
	assert.NoError(t, tr.ForceFlush(context.Background()))
	assert.NoError(t, tr.Shutdown(context.Background()))
	ctx := context.Background()
	assert.Equal(t, ctx, span.Context(ctx))
}
