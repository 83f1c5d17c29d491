package metrics

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// Exact Prometheus names of the instruments. The instruments carry these
// names themselves, so the exporter and the ManualReader see the same names.
const (
	NameRequests         = "nexus_requests_total"
	NameRequestDuration  = "nexus_request_duration_seconds"
	NameErrors           = "nexus_errors_total"
	NameFallbacks        = "nexus_fallbacks_total"
	NameTokens           = "nexus_tokens_total"
	NameBackendLatency   = "nexus_backend_latency_seconds"
	NameTimeToFirstToken = "nexus_time_to_first_token_seconds"
	NameBackendsTotal    = "nexus_backends_total"
	NameBackendsHealthy  = "nexus_backends_healthy"
	NameModelsAvailable  = "nexus_models_available"
	NamePendingRequests  = "nexus_pending_requests"
)

// Label keys.
const (
	keyModel     = "model"
	keyBackend   = "backend"
	keyStatus    = "status"
	keyErrorType = "error_type"
	keyFromModel = "from_model"
	keyToModel   = "to_model"
	keyType      = "type"
	keyOverflow  = "otel.metric.overflow"

	tokenPrompt     = "prompt"
	tokenCompletion = "completion"
)

// DurationBuckets returns the bucket bounds, in seconds, of
// nexus_request_duration_seconds and nexus_backend_latency_seconds.
func DurationBuckets() []float64 {
	return []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
}

// TokenBuckets returns the bucket bounds of nexus_tokens_total.
func TokenBuckets() []float64 {
	return []float64{10, 50, 100, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000}
}

// TTFTBuckets returns the bucket bounds, in seconds, of
// nexus_time_to_first_token_seconds.
func TTFTBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
}

// instruments holds every instrument of one Metrics.
type instruments struct {
	requests       metric.Int64Counter
	duration       metric.Float64Histogram
	errors         metric.Int64Counter
	fallbacks      metric.Int64Counter
	tokens         metric.Int64Histogram
	backendLatency metric.Float64Histogram
	ttft           metric.Float64Histogram

	backendsTotal   metric.Int64ObservableGauge
	backendsHealthy metric.Int64ObservableGauge
	modelsAvailable metric.Int64ObservableGauge
	pending         metric.Int64ObservableGauge
}

// newInstruments creates the instruments on meter. Counters and gauges have
// no unit (a unit would add a suffix to the Prometheus name), duration
// histograms have "s", the token histogram "{token}".
func newInstruments(meter metric.Meter) (*instruments, error) {
	var in instruments
	var errs [11]error
	in.requests, errs[0] = meter.Int64Counter(NameRequests,
		metric.WithDescription("Requests that reached a backend, by model served, backend and HTTP status returned to the client."))
	in.duration, errs[1] = meter.Float64Histogram(NameRequestDuration,
		metric.WithDescription("Duration of whole requests in seconds, by model served and backend."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(DurationBuckets()...))
	in.errors, errs[2] = meter.Int64Counter(NameErrors,
		metric.WithDescription("Failed requests and failed backend attempts, by error type and model."))
	in.fallbacks, errs[3] = meter.Int64Counter(NameFallbacks,
		metric.WithDescription("Requests served by a fallback model, by requested and serving model."))
	in.tokens, errs[4] = meter.Int64Histogram(NameTokens,
		metric.WithDescription("Tokens per request reported by the backend, by model, backend and type (prompt or completion)."),
		metric.WithUnit("{token}"), metric.WithExplicitBucketBoundaries(TokenBuckets()...))
	in.backendLatency, errs[5] = meter.Float64Histogram(NameBackendLatency,
		metric.WithDescription("Health probe round-trip time in seconds, by backend."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(DurationBuckets()...))
	in.ttft, errs[6] = meter.Float64Histogram(NameTimeToFirstToken,
		metric.WithDescription("Time from request start to the first content chunk of a stream in seconds, by model and backend."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(TTFTBuckets()...))
	in.backendsTotal, errs[7] = meter.Int64ObservableGauge(NameBackendsTotal,
		metric.WithDescription("Backends in the registry, whatever their status."))
	in.backendsHealthy, errs[8] = meter.Int64ObservableGauge(NameBackendsHealthy,
		metric.WithDescription("Backends currently healthy."))
	in.modelsAvailable, errs[9] = meter.Int64ObservableGauge(NameModelsAvailable,
		metric.WithDescription("Distinct models served by at least one healthy backend."))
	in.pending, errs[10] = meter.Int64ObservableGauge(NamePendingRequests,
		metric.WithDescription("Requests in flight, by backend."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return &in, nil
}

// registerFleet registers the callback that observes the registry-derived
// gauges at each collection. It runs under the SDK's pipeline lock, so it
// only reads the registry snapshot and atomics.
func (m *Metrics) registerFleet(meter metric.Meter) (metric.Registration, error) {
	in := m.inst
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		total, healthy, models := m.reg.Counts()
		o.ObserveInt64(in.backendsTotal, int64(total))
		o.ObserveInt64(in.backendsHealthy, int64(healthy))
		o.ObserveInt64(in.modelsAvailable, int64(models))
		for _, b := range m.reg.Backends() {
			o.ObserveInt64(in.pending, b.Pending(), m.pendingOpts(b.ID)...)
		}
		return nil
	}, in.backendsTotal, in.backendsHealthy, in.modelsAvailable, in.pending)
}
