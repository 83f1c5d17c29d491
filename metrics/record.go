package metrics

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Request describes one request that reached a backend. It is passed by
// value; recording it allocates nothing once its label tuple has been seen.
type Request struct {
	// Model is the model actually served (label "model").
	Model string
	// Backend is the backend ID (label "backend").
	Backend string
	// Status is the HTTP status returned to the client (label "status").
	Status int
	// Duration is the whole request, observed in
	// nexus_request_duration_seconds.
	Duration time.Duration
	// Stream reports whether the response was streamed. It is not a label
	// (the contract has none for it); it documents the call.
	Stream bool
	// PromptTokens and CompletionTokens are the usage the backend reported.
	PromptTokens, CompletionTokens int64
	// HasUsage reports whether the backend reported usage; only then is
	// nexus_tokens_total observed.
	HasUsage bool
	// TTFT is the time to the first content chunk of a stream; 0 means
	// not measured and records nothing.
	TTFT time.Duration
	// Endpoint is the inference API the request came in on, one of the
	// Endpoint constants (label "endpoint" of nexus_endpoint_* families);
	// any other value, "" included, is recorded as OtherLabel.
	Endpoint string
	// Key is the configured name of the client's API key (label "key" of
	// nexus_key_* families); a name not passed to SetKnownKeys is recorded
	// as OtherLabel, and "" (no key) records nothing in those families.
	Key string
}

// ErrorType is the closed set of values of the error_type label.
type ErrorType string

// Error types. They are label values, not Go errors, hence the Error prefix
// instead of Err.
const (
	ErrorModelNotFound      ErrorType = "model_not_found"
	ErrorFallbackExhausted  ErrorType = "fallback_exhausted"
	ErrorNoHealthyBackend   ErrorType = "no_healthy_backend"
	ErrorCapabilityMismatch ErrorType = "capability_mismatch"
	ErrorInvalidRequest     ErrorType = "invalid_request"
	ErrorBackendError       ErrorType = "backend_error"
	ErrorTimeout            ErrorType = "timeout"
	ErrorClientClosed       ErrorType = "client_closed"
	// ErrorOverloaded: the gateway refused a request because it was
	// already handling server.max_concurrent_requests of them.
	ErrorOverloaded ErrorType = "overloaded"
)

// Valid reports whether t is one of the declared error types. Others are
// recorded as OtherLabel.
func (t ErrorType) Valid() bool {
	switch t {
	case ErrorModelNotFound, ErrorFallbackExhausted, ErrorNoHealthyBackend, ErrorCapabilityMismatch,
		ErrorInvalidRequest, ErrorBackendError, ErrorTimeout, ErrorClientClosed, ErrorOverloaded:
		return true
	}
	return false
}

// reqKey identifies a request label tuple by accepted raw names (or
// OtherLabel) and a normalised status.
type reqKey struct {
	model, backend string
	status         int
}

// reqEntry holds the option slices for one request label tuple.
type reqEntry struct {
	add        []metric.AddOption    // model, backend, status
	rec        []metric.RecordOption // model, backend
	prompt     []metric.RecordOption // model, backend, type=prompt
	completion []metric.RecordOption // model, backend, type=completion
}

type errKey struct {
	typ   ErrorType
	model string
}

type fallbackKey struct{ from, to string }

// acceptModel returns name if it may be a label value, else OtherLabel.
func (m *Metrics) acceptModel(name string) string {
	if name != "" {
		if m.reg.HasModel(name) {
			return name
		}
		if _, ok := (*m.known.Load())[name]; ok {
			return name
		}
	}
	return OtherLabel
}

// acceptBackend returns id if a registry backend has it, else OtherLabel.
func (m *Metrics) acceptBackend(id string) string {
	if _, ok := m.reg.Get(id); ok {
		return id
	}
	return OtherLabel
}

// normStatus maps statuses outside 100–599 to 0, labelled OtherLabel.
func normStatus(s int) int {
	if s < 100 || s > 599 {
		return 0
	}
	return s
}

func statusLabel(s int) string {
	if s == 0 {
		return OtherLabel
	}
	return strconv.Itoa(s)
}

func addOpts(kv ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

func recOpts(kv ...attribute.KeyValue) []metric.RecordOption {
	return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// requestEntry returns the cached options for a request's labels.
func (m *Metrics) requestEntry(model, backend string, status int) *reqEntry {
	k := reqKey{m.acceptModel(model), m.acceptBackend(backend), normStatus(status)}
	if e, ok := m.reqs.load(k); ok {
		return e
	}
	return m.newRequestEntry(k)
}

func (m *Metrics) newRequestEntry(k reqKey) *reqEntry {
	e := m.buildRequestEntry(m.models.labelOf(k.model), m.backends.labelOf(k.backend), k.status)
	k.model, k.backend = cloneName(k.model), cloneName(k.backend)
	if got, ok := m.reqs.store(k, e); ok {
		return got
	}
	// Memo full: record under the fixed tuple (other, other, status), of
	// which there are at most 501.
	k = reqKey{OtherLabel, OtherLabel, k.status}
	if got, ok := m.reqs.load(k); ok {
		return got
	}
	return m.reqs.force(k, m.buildRequestEntry(OtherLabel, OtherLabel, k.status))
}

func (m *Metrics) buildRequestEntry(model, backend string, status int) *reqEntry {
	mk, bk := attribute.String(keyModel, model), attribute.String(keyBackend, backend)
	return &reqEntry{
		add:        addOpts(mk, bk, attribute.String(keyStatus, statusLabel(status))),
		rec:        recOpts(mk, bk),
		prompt:     recOpts(mk, bk, attribute.String(keyType, tokenPrompt)),
		completion: recOpts(mk, bk, attribute.String(keyType, tokenCompletion)),
	}
}

// cloneName copies a name kept as a memo key, so the memo never pins a
// caller's larger buffer (for example a request body).
func cloneName(s string) string {
	if s == OtherLabel {
		return OtherLabel
	}
	return strings.Clone(s)
}

// RecordRequest records one request that reached a backend: it counts it in
// nexus_requests_total, observes its duration, its token usage when
// HasUsage is set, and its TTFT when positive; and it records the same
// request, duration and usage by endpoint and, when Key is set, by key.
func (m *Metrics) RecordRequest(ctx context.Context, r Request) {
	if m == nil {
		return
	}
	e := m.requestEntry(r.Model, r.Backend, r.Status)
	in := m.inst
	seconds := nonNegative(r.Duration).Seconds()
	in.requests.Add(ctx, 1, e.add...)
	in.duration.Record(ctx, seconds, e.rec...)
	if r.HasUsage {
		if r.PromptTokens >= 0 {
			in.tokens.Record(ctx, r.PromptTokens, e.prompt...)
		}
		if r.CompletionTokens >= 0 {
			in.tokens.Record(ctx, r.CompletionTokens, e.completion...)
		}
	}
	if r.TTFT > 0 {
		in.ttft.Record(ctx, r.TTFT.Seconds(), e.rec...)
	}
	status := normStatus(r.Status)
	m.recordEndpoint(ctx, &r, status, seconds)
	if r.Key != "" {
		m.recordKey(&r, status)
	}
}

// RecordError counts one error of type t for model (the model the client
// asked for; unknown names are recorded as OtherLabel).
func (m *Metrics) RecordError(ctx context.Context, t ErrorType, model string) {
	if m == nil {
		return
	}
	if !t.Valid() {
		t = OtherLabel
	}
	k := errKey{t, m.acceptModel(model)}
	opts, ok := m.errs.load(k)
	if !ok {
		opts = m.newErrorOpts(k)
	}
	m.inst.errors.Add(ctx, 1, opts...)
}

func (m *Metrics) newErrorOpts(k errKey) []metric.AddOption {
	build := func(k errKey, model string) []metric.AddOption {
		return addOpts(attribute.String(keyErrorType, string(k.typ)), attribute.String(keyModel, model))
	}
	opts := build(k, m.models.labelOf(k.model))
	k.model = cloneName(k.model)
	if got, ok := m.errs.store(k, opts); ok {
		return got
	}
	k.model = OtherLabel // at most 9 such keys
	if got, ok := m.errs.load(k); ok {
		return got
	}
	return m.errs.force(k, build(k, OtherLabel))
}

// RecordFallback counts one request for model from that was served by the
// fallback model to.
func (m *Metrics) RecordFallback(ctx context.Context, from, to string) {
	if m == nil {
		return
	}
	k := fallbackKey{m.acceptModel(from), m.acceptModel(to)}
	opts, ok := m.fallbacks.load(k)
	if !ok {
		opts = m.newFallbackOpts(k)
	}
	m.inst.fallbacks.Add(ctx, 1, opts...)
}

func (m *Metrics) newFallbackOpts(k fallbackKey) []metric.AddOption {
	build := func(from, to string) []metric.AddOption {
		return addOpts(attribute.String(keyFromModel, from), attribute.String(keyToModel, to))
	}
	opts := build(m.models.labelOf(k.from), m.models.labelOf(k.to))
	k.from, k.to = cloneName(k.from), cloneName(k.to)
	if got, ok := m.fallbacks.store(k, opts); ok {
		return got
	}
	k = fallbackKey{OtherLabel, OtherLabel}
	if got, ok := m.fallbacks.load(k); ok {
		return got
	}
	return m.fallbacks.force(k, build(OtherLabel, OtherLabel))
}

// RecordProbe observes the round-trip time of one health probe of a backend
// that got an HTTP answer.
func (m *Metrics) RecordProbe(ctx context.Context, backendID string, latency time.Duration) {
	if m == nil {
		return
	}
	m.inst.backendLatency.Record(ctx, nonNegative(latency).Seconds(), m.probeOpts(backendID)...)
}

func (m *Metrics) probeOpts(backendID string) []metric.RecordOption {
	id := m.acceptBackend(backendID)
	if opts, ok := m.probes.load(id); ok {
		return opts
	}
	if opts, ok := m.probes.store(cloneName(id), recOpts(attribute.String(keyBackend, m.backends.labelOf(id)))); ok {
		return opts
	}
	return m.probes.force(OtherLabel, recOpts(attribute.String(keyBackend, OtherLabel)))
}

// pendingOpts returns the observe options for a registry backend's pending
// gauge.
func (m *Metrics) pendingOpts(backendID string) []metric.ObserveOption {
	if opts, ok := m.pendings.load(backendID); ok {
		return opts
	}
	mk := func(label string) []metric.ObserveOption {
		return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(attribute.String(keyBackend, label)))}
	}
	if opts, ok := m.pendings.store(cloneName(backendID), mk(m.backends.labelOf(backendID))); ok {
		return opts
	}
	return m.pendings.force(OtherLabel, mk(OtherLabel))
}

func nonNegative(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}
