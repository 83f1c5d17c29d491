package telemetry

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// scopeName is the instrumentation scope of the gateway's spans.
const scopeName = "github.com/nexusllm/nexus"

// traceContext is the W3C Trace Context propagator (traceparent,
// tracestate); it holds no state.
var traceContext propagation.TraceContext

// Tracer starts the gateway's spans and exports them in batches over
// OTLP/HTTP. A nil *Tracer is valid: it starts nothing and its Spans do
// nothing, so the request path costs one nil check when tracing is off.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	content  bool
}

// NewTracer returns the Tracer s asks for, nil when traces are not
// exported. It starts the batch span processor's goroutine; Shutdown stops
// it. Sampling is parent-based: a client's traceparent keeps its sampling
// decision, new traces are sampled at s.Ratio, unless OTEL_TRACES_SAMPLER
// chooses the sampler.
func NewTracer(ctx context.Context, c Config, s Settings, res *resource.Resource) (*Tracer, error) {
	if !s.Traces {
		return nil, nil
	}
	exp, err := NewSpanExporter(ctx, s)
	if err != nil {
		return nil, err
	}
	return NewTracerWithExporter(exp, c, s, res), nil
}

// NewTracerWithExporter returns a Tracer exporting through exp (any
// sdktrace.SpanExporter, e.g. an in-memory one in tests), with the sampler
// of s and the content rule of c. Shutdown shuts exp down.
func NewTracerWithExporter(exp sdktrace.SpanExporter, c Config, s Settings, res *resource.Resource) *Tracer {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp)}
	if res != nil {
		opts = append(opts, sdktrace.WithResource(res))
	}
	if s.RatioSampler {
		ratio := s.Ratio
		if ratio <= 0 || ratio > 1 {
			ratio = 1
		}
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	}
	p := sdktrace.NewTracerProvider(opts...)
	return &Tracer{
		provider: p,
		tracer:   p.Tracer(scopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		content:  c.ContentInSpans,
	}
}

// Shutdown exports the spans still queued and stops the Tracer; spans
// started later are not exported. It returns when ctx is done at the
// latest. Nil-safe.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// ForceFlush exports the spans ended so far. Nil-safe.
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// ContentAllowed reports whether spans may carry prompt content.
func (t *Tracer) ContentAllowed() bool { return t != nil && t.content }

// Span is a started span of the gateway. The zero Span (from a nil Tracer)
// does nothing.
type Span struct {
	t    *Tracer
	ctx  context.Context // carries span
	span trace.Span
}

// Recording reports whether the span records (it is sampled); a span
// that does not record still propagates its trace context.
func (s Span) Recording() bool { return s.span != nil && s.span.IsRecording() }

// SpanContext returns the span's identity (invalid for the zero Span).
func (s Span) SpanContext() trace.SpanContext {
	if s.span == nil {
		return trace.SpanContext{}
	}
	return s.span.SpanContext()
}

// Context returns ctx carrying the span (ctx itself for the zero Span).
func (s Span) Context(ctx context.Context) context.Context {
	if s.span == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, s.span)
}

// StartRequest starts the server span of one inference request, the child
// of the client's W3C traceparent in h when it carries a valid one, the
// root of a new trace otherwise.
func (t *Tracer) StartRequest(ctx context.Context, h http.Header, r Request) Span {
	if t == nil {
		return Span{}
	}
	ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(h))
	ctx, span := t.tracer.Start(ctx, r.Method+" "+r.Route, trace.WithSpanKind(trace.SpanKindServer))
	if span.IsRecording() {
		span.SetAttributes(r.attributes()...)
	}
	return Span{t: t, ctx: ctx, span: span}
}

// End ends the request's server span with its outcome. A status of 500 or
// more marks the span as failed. Nil-safe.
func (s Span) End(o Outcome) {
	if s.span == nil {
		return
	}
	if s.span.IsRecording() {
		s.span.SetAttributes(o.attributes(s.t.content)...)
		if o.Status >= http.StatusInternalServerError {
			s.span.SetStatus(codeError, o.Error)
		}
	}
	s.span.End()
}

// StartAttempt starts the client span of one backend attempt as a child of
// the request's span, and writes its W3C trace context into h (the headers
// sent to the backend), replacing a traceparent and tracestate copied from
// the client. h must not be nil. On the zero Span it does nothing and h
// keeps what it has.
func (s Span) StartAttempt(a Attempt, h http.Header) Span {
	if s.span == nil {
		return Span{}
	}
	ctx, span := s.t.tracer.Start(s.ctx, a.spanName(), trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(a.attributes()...)
	}
	h.Del("Traceparent")
	h.Del("Tracestate")
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
	return Span{t: s.t, ctx: ctx, span: span}
}

// EndAttempt ends an attempt's client span with what the backend did; an
// error marks it as failed. Nil-safe.
func (s Span) EndAttempt(r AttemptResult) {
	if s.span == nil {
		return
	}
	if s.span.IsRecording() {
		s.span.SetAttributes(r.attributes()...)
		if r.Err != nil {
			s.span.SetStatus(codeError, r.Err.Error())
		}
	}
	s.span.End()
}
