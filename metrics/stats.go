package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// OverflowLabel names, in Stats, measurements the SDK merged into its
// overflow series because an instrument hit the cardinality limit.
const OverflowLabel = "_overflow"

// Stats is the /v1/stats document: a summary of the instruments computed
// from one ManualReader collection, so its totals equal what /metrics
// reports at the same moment. Durations are in milliseconds rounded to one
// decimal; an average over nothing is 0. Percentiles come from the
// ManualReader's exponential histograms (within a few percent of the true
// value, clamped to the recorded minimum and maximum), not from the
// coarse buckets /metrics shows. Backends are sorted by id, models,
// endpoints and keys by name, fallbacks by from then to. Names are shown as
// configured, not sanitised; two names that sanitise to the same label
// share one series, so both show its figures. Lists are [] and maps {}
// when empty, never null.
type Stats struct {
	// UptimeSeconds counts whole seconds since the start time.
	UptimeSeconds uint64 `json:"uptime_seconds"`
	// Requests sums nexus_requests_total and nexus_request_duration_seconds.
	Requests RequestStats `json:"requests"`
	// Backends has every registry backend, even without requests, plus
	// any other backend label seen (OtherLabel, removed backends).
	Backends []BackendStats `json:"backends"`
	// Models has every registry model, even without requests, plus any
	// other model label seen (OtherLabel, aliases, removed models).
	Models []ModelStats `json:"models"`
	// Errors sums nexus_errors_total by error type.
	Errors map[string]uint64 `json:"errors"`
	// Tokens sums nexus_tokens_total.
	Tokens TokenStats `json:"tokens"`
	// Fallbacks lists nexus_fallbacks_total.
	Fallbacks []FallbackStats `json:"fallbacks"`
	// TimeToFirstToken summarises nexus_time_to_first_token_seconds.
	TimeToFirstToken LatencyStats `json:"time_to_first_token"`
	// Endpoints has every endpoint label seen in nexus_endpoint_* (the
	// Endpoint constants and OtherLabel).
	Endpoints []EndpointStats `json:"endpoints"`
	// Keys has every key passed to SetKnownKeys, even without requests,
	// plus any other key label seen (OtherLabel, NoKeyLabel, keys no
	// longer configured).
	Keys []KeyStats `json:"keys"`
	// RateLimited sums nexus_rate_limited_total by limit.
	RateLimited map[string]uint64 `json:"rate_limited"`
	// Queue summarises the gateway's queue.
	Queue QueueStats `json:"queue"`
	// Reloads counts nexus_config_reloads_total.
	Reloads ReloadStats `json:"reloads"`
	// LogLinesSuppressed sums nexus_log_lines_suppressed_total by kind.
	LogLinesSuppressed map[string]uint64 `json:"log_lines_suppressed"`
}

// RequestStats counts requests that reached a backend.
type RequestStats struct {
	// Total is the sum of nexus_requests_total.
	Total uint64 `json:"total"`
	// Success counts requests answered with a 2xx status.
	Success uint64 `json:"success"`
	// Errors counts requests answered with any other status.
	Errors uint64 `json:"errors"`
	// Overflow counts requests in Total whose labels the SDK dropped at
	// the cardinality limit, so they are neither Success nor Errors.
	Overflow uint64 `json:"overflow,omitempty"`
	// AverageDurationMs, P50DurationMs and P95DurationMs describe
	// nexus_request_duration_seconds over all requests.
	AverageDurationMs float64 `json:"average_duration_ms"`
	P50DurationMs     float64 `json:"p50_duration_ms"`
	P95DurationMs     float64 `json:"p95_duration_ms"`
}

// BackendStats describes one backend.
type BackendStats struct {
	// ID is the backend id as configured (not sanitised).
	ID string `json:"id"`
	// Name is the registry name; for a backend no longer registered it
	// repeats ID.
	Name string `json:"name"`
	// Status is the current registry status; empty if not registered.
	Status string `json:"status,omitempty"`
	// Requests and Errors count requests (errors: non-2xx statuses).
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// AverageLatencyMs is the mean request duration on this backend.
	AverageLatencyMs float64 `json:"average_latency_ms"`
	// Pending is the live number of requests in flight.
	Pending int64 `json:"pending"`
	// ProbeLatencyMs is the mean health-probe round trip.
	ProbeLatencyMs float64 `json:"probe_latency_ms"`
	// ReportedRunning, ReportedWaiting and KVCacheUsage are what the
	// backend's engine last reported (the BackendLoadFunc: vLLM, SGLang,
	// llama.cpp, Ollama); omitted when it reported nothing.
	ReportedRunning *float64 `json:"reported_running,omitempty"`
	ReportedWaiting *float64 `json:"reported_waiting,omitempty"`
	KVCacheUsage    *float64 `json:"kv_cache_usage,omitempty"`
}

// ModelStats describes one model (the model served, after aliases and
// fallbacks).
type ModelStats struct {
	// Name is the model name as configured or discovered (not sanitised).
	Name string `json:"name"`
	// Requests and Errors count requests (errors: non-2xx statuses).
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// AverageDurationMs, P50DurationMs and P95DurationMs describe the
	// request durations of this model.
	AverageDurationMs float64 `json:"average_duration_ms"`
	P50DurationMs     float64 `json:"p50_duration_ms"`
	P95DurationMs     float64 `json:"p95_duration_ms"`
	// PromptTokens and CompletionTokens sum the reported usage.
	PromptTokens     uint64 `json:"prompt_tokens"`
	CompletionTokens uint64 `json:"completion_tokens"`
	// AverageTTFTMs is the mean time to first token of its streams.
	AverageTTFTMs float64 `json:"average_ttft_ms"`
}

// TokenStats sums reported token usage.
type TokenStats struct {
	Prompt     uint64 `json:"prompt"`
	Completion uint64 `json:"completion"`
	// Total is Prompt plus Completion, plus any tokens whose type label
	// was lost to the cardinality limit.
	Total uint64 `json:"total"`
}

// FallbackStats counts requests for From served by the fallback model To.
type FallbackStats struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count uint64 `json:"count"`
}

// LatencyStats summarises a latency histogram.
type LatencyStats struct {
	Count     uint64  `json:"count"`
	AverageMs float64 `json:"average_ms"`
	P50Ms     float64 `json:"p50_ms"`
	P95Ms     float64 `json:"p95_ms"`
}

// errNilMetrics is returned by Stats on a nil *Metrics.
var errNilMetrics = errors.New("metrics: disabled")

// StatsHandler returns the GET /v1/stats handler: Stats as JSON. If the
// snapshot cannot be taken (after Close) it answers 503 with an
// OpenAI-style error body.
func (m *Metrics) StatsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		s, err := m.Stats(r.Context())
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
				"message": "statistics are unavailable: " + err.Error(),
				"type":    "service_unavailable",
				"code":    "service_unavailable",
			}})
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	})
}

// Stats takes one snapshot of the instruments and summarises it.
func (m *Metrics) Stats(ctx context.Context) (Stats, error) {
	if m == nil {
		return Stats{}, errNilMetrics
	}
	f, err := m.collect(ctx)
	if err != nil {
		return Stats{}, err
	}
	return m.build(f), nil
}
