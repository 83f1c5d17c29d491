package nexus

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/proxy"
	"github.com/nexusllm/nexus/telemetry"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// telemetryFlushTimeout bounds the last push of metrics and spans in
// Close, so an unreachable collector cannot hold shutdown.
const telemetryFlushTimeout = 5 * time.Second

// telemetrySetup is the OpenTelemetry export the configuration and the
// environment ask for ([telemetry], OTEL_*), built in New before the
// metrics (which push through metricExp) and started at the end of New
// (the tracer's batch goroutine), so that a failing New starts nothing.
type telemetrySetup struct {
	cfg       telemetry.Config
	settings  telemetry.Settings
	res       *resource.Resource
	metricExp sdkmetric.Exporter    // nil when metrics are not pushed
	spanExp   sdktrace.SpanExporter // nil when traces are off
}

// newTelemetrySetup resolves cfg.Telemetry against the environment and
// builds the exporters; it starts no goroutine.
func newTelemetrySetup(cfg Config, log *slog.Logger) (*telemetrySetup, error) {
	tc := telemetry.Config{
		Endpoint:       cfg.Telemetry.OTLPEndpoint,
		Traces:         cfg.Telemetry.Traces,
		SampleRatio:    cfg.Telemetry.SampleRatio,
		ServiceName:    cfg.Telemetry.ServiceName,
		ExportInterval: cfg.Telemetry.ExportInterval,
		ContentInSpans: cfg.Logging.EnableContentLogging,
		Logger:         log,
	}
	t := &telemetrySetup{cfg: tc, settings: tc.Resolve()}
	for _, w := range t.settings.Warnings {
		log.Warn("telemetry: " + w)
	}
	if !t.settings.Metrics && !t.settings.Traces {
		return t, nil
	}
	ctx := context.Background()
	t.res = telemetry.NewResource(ctx, tc)
	var err error
	if t.metricExp, err = telemetry.NewMetricExporter(ctx, t.settings); err != nil {
		return nil, err
	}
	if t.settings.Traces {
		if t.spanExp, err = telemetry.NewSpanExporter(ctx, t.settings); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// metricOptions are the options that make the gateway's own Metrics push
// over OTLP.
func (t *telemetrySetup) metricOptions() []metrics.Option {
	if t.metricExp == nil {
		return nil
	}
	return []metrics.Option{metrics.WithResource(t.res), metrics.WithPush(t.metricExp, t.settings.Interval)}
}

// startTracer starts the tracer, nil when traces are off. An embedder's
// own Metrics (WithMetrics) gets no push: it is noted here.
func (t *telemetrySetup) startTracer(ownsMetrics bool, log *slog.Logger) *telemetry.Tracer {
	if t.metricExp != nil && !ownsMetrics {
		log.Warn("telemetry: OTLP metrics are not pushed from a Metrics passed with WithMetrics; build it with metrics.WithPush")
	}
	if t.spanExp == nil {
		return nil
	}
	return telemetry.NewTracerWithExporter(t.spanExp, t.cfg, t.settings, t.res)
}

// callTrace is the tracing of one call: the request's server span and the
// current attempt's client span. Its zero value (tracing off) does nothing.
type callTrace struct {
	req, attempt telemetry.Span
}

// traceStart starts the request's server span, the child of the client's
// traceparent when it sent one.
func (c *call) traceStart() {
	if c.g.tracer == nil {
		return
	}
	c.trace.req = c.g.tracer.StartRequest(c.r.Context(), c.r.Header, telemetry.Request{
		Method: c.r.Method, Route: c.ep.path, Endpoint: c.ep.name,
		Operation: telemetry.Operation(c.ep.name), RequestID: c.id,
	})
}

// traceAttempt starts the client span of the attempt about to be made with
// preq and puts its trace context in preq's headers, in place of the
// client's traceparent.
func (c *call) traceAttempt(preq *proxy.Request) {
	if c.g.tracer == nil {
		return
	}
	att := c.att
	if preq.Header == nil {
		preq.Header = make(http.Header, 2)
	}
	c.trace.attempt = c.trace.req.StartAttempt(telemetry.Attempt{
		Operation:   telemetry.Operation(c.ep.name),
		Model:       att.Model,
		Provider:    telemetry.Provider(string(att.Backend.Type)),
		Backend:     att.Backend.Name,
		RouteReason: att.Reason,
		Number:      att.Number,
		Fallback:    att.Fallback,
		Target:      preq.Target,
	}, preq.Header)
}

// traceAttemptEnd ends the attempt's client span with what Forward
// returned.
func (c *call) traceAttemptEnd(res proxy.Result, err error) {
	if c.g.tracer == nil {
		return
	}
	r := telemetry.AttemptResult{Status: res.Status}
	if err != nil {
		r.Err = err
		if pe, ok := proxy.AsError(err); ok {
			r.Status = pe.StatusCode
			if pe.Kind != proxy.KindStatus {
				r.ErrorType = pe.Kind.String() // else error.type is the status code
			}
		}
	} else {
		r.ResponseModel = c.att.Model
		r.InputTokens, r.OutputTokens, r.HasUsage = res.Usage.PromptTokens, res.Usage.CompletionTokens, res.HasUsage
	}
	c.trace.attempt.EndAttempt(r)
	c.trace.attempt = telemetry.Span{}
}

// traceEnd ends the request's server span with the status the client got.
func (c *call) traceEnd(status int) {
	if c.g.tracer == nil {
		return
	}
	o := telemetry.Outcome{
		Status:       status,
		Error:        c.err,
		ErrorType:    c.errKind,
		RequestModel: c.req.Model,
		Translated:   c.trans,
	}
	if a := c.att; a != nil {
		o.Backend, o.RouteReason, o.Attempts, o.Fallback = a.Backend.Name, a.Reason, a.Number, a.Fallback
		o.Provider = telemetry.Provider(string(a.Backend.Type))
		if status < 400 {
			o.ResponseModel = a.Model
		}
	}
	if c.res.HasUsage {
		o.InputTokens, o.OutputTokens, o.HasUsage = c.res.Usage.PromptTokens, c.res.Usage.CompletionTokens, true
	}
	if c.g.tracer.ContentAllowed() {
		o.Prompt = openai.PromptPreview(c.body, 100)
	}
	c.trace.req.End(o)
}
