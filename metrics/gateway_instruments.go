package metrics

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// Exact Prometheus names of the gateway's instruments beyond the seed's:
// endpoints, API keys and their limits, the queue, configuration reloads,
// log sampling and the load the backends' engines report.
const (
	NameEndpointRequests       = "nexus_endpoint_requests_total"
	NameEndpointDuration       = "nexus_endpoint_request_duration_seconds"
	NameEndpointTokens         = "nexus_endpoint_tokens_total"
	NameKeyRequests            = "nexus_key_requests_total"
	NameKeyTokens              = "nexus_key_tokens_total"
	NameRateLimited            = "nexus_rate_limited_total"
	NameLogSuppressed          = "nexus_log_lines_suppressed_total"
	NameQueueDepth             = "nexus_queue_depth"
	NameQueueWait              = "nexus_queue_wait_seconds"
	NameConfigReloads          = "nexus_config_reloads_total"
	NameBackendReportedRunning = "nexus_backend_reported_running"
	NameBackendReportedWaiting = "nexus_backend_reported_waiting"
	NameBackendKVCacheUsage    = "nexus_backend_kv_cache_usage_ratio"
)

// Label keys of the gateway's instruments.
const (
	keyEndpoint = "endpoint"
	keyKey      = "key"
	keyLimit    = "limit"
	keyKind     = "kind"
	keyOutcome  = "outcome"
	keyResult   = "result"
)

// gatewayInstruments holds the instruments beyond the seed's. Counters are
// observable, fed from atomics (see obsCounter), so recording them costs
// an atomic add; the histograms are synchronous.
type gatewayInstruments struct {
	endpointRequests metric.Int64ObservableCounter
	endpointDuration metric.Float64Histogram
	endpointTokens   metric.Int64ObservableCounter
	keyRequests      metric.Int64ObservableCounter
	keyTokens        metric.Int64ObservableCounter
	rateLimited      metric.Int64ObservableCounter
	logSuppressed    metric.Int64ObservableCounter
	queueDepth       metric.Int64ObservableGauge
	queueWait        metric.Float64Histogram
	reloads          metric.Int64ObservableCounter
	reportedRunning  metric.Float64ObservableGauge
	reportedWaiting  metric.Float64ObservableGauge
	kvCacheUsage     metric.Float64ObservableGauge
}

func newGatewayInstruments(meter metric.Meter) (*gatewayInstruments, error) {
	var in gatewayInstruments
	var errs [13]error
	in.endpointRequests, errs[0] = meter.Int64ObservableCounter(NameEndpointRequests,
		metric.WithDescription("Requests that reached a backend, by inference endpoint and HTTP status returned to the client."))
	in.endpointDuration, errs[1] = meter.Float64Histogram(NameEndpointDuration,
		metric.WithDescription("Duration of whole requests in seconds, by inference endpoint."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(DurationBuckets()...))
	in.endpointTokens, errs[2] = meter.Int64ObservableCounter(NameEndpointTokens,
		metric.WithDescription("Tokens reported by backends, by inference endpoint and type (prompt or completion)."))
	in.keyRequests, errs[3] = meter.Int64ObservableCounter(NameKeyRequests,
		metric.WithDescription("Requests that reached a backend, by configured API key name and HTTP status returned to the client."))
	in.keyTokens, errs[4] = meter.Int64ObservableCounter(NameKeyTokens,
		metric.WithDescription("Tokens reported by backends, by configured API key name and type (prompt or completion)."))
	in.rateLimited, errs[5] = meter.Int64ObservableCounter(NameRateLimited,
		metric.WithDescription("Requests refused by a per-key limit, by API key name and limit (requests, tokens or concurrency)."))
	in.logSuppressed, errs[6] = meter.Int64ObservableCounter(NameLogSuppressed,
		metric.WithDescription("Log lines dropped by log sampling, by error kind."))
	in.queueDepth, errs[7] = meter.Int64ObservableGauge(NameQueueDepth,
		metric.WithDescription("Requests waiting in the gateway's queue for a free slot."))
	in.queueWait, errs[8] = meter.Float64Histogram(NameQueueWait,
		metric.WithDescription("Time requests spent in the gateway's queue in seconds, by outcome (served, timeout, rejected or cancelled)."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(DurationBuckets()...))
	in.reloads, errs[9] = meter.Int64ObservableCounter(NameConfigReloads,
		metric.WithDescription("Configuration reloads, by result (success or failure)."))
	in.reportedRunning, errs[10] = meter.Float64ObservableGauge(NameBackendReportedRunning,
		metric.WithDescription("Requests the backend's engine last reported running, by backend."))
	in.reportedWaiting, errs[11] = meter.Float64ObservableGauge(NameBackendReportedWaiting,
		metric.WithDescription("Requests the backend's engine last reported waiting, by backend."))
	in.kvCacheUsage, errs[12] = meter.Float64ObservableGauge(NameBackendKVCacheUsage,
		metric.WithDescription("KV-cache usage the backend's engine last reported, from 0 to 1, by backend."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return &in, nil
}

// registerGateway registers the callback that observes the gateway's
// observable instruments at each collection. Like the fleet callback it
// runs under the SDK's pipeline lock and only reads atomics, memos and the
// embedder's callbacks.
func (m *Metrics) registerGateway(meter metric.Meter) (metric.Registration, error) {
	in := m.ext
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.epRequests.observe(o, in.endpointRequests)
		for i := range m.endpoints {
			e := &m.endpoints[i]
			if e.prompt.n.Load() > 0 || e.completion.n.Load() > 0 {
				e.prompt.observe(o, in.endpointTokens)
				e.completion.observe(o, in.endpointTokens)
			}
		}
		m.keyRequests.observe(o, in.keyRequests)
		m.keyTokens.observe(o, in.keyTokens)
		m.rateLimited.observe(o, in.rateLimited)
		m.logSuppressed.observe(o, in.logSuppressed)
		if m.reloads[0].n.Load() > 0 || m.reloads[1].n.Load() > 0 {
			for _, c := range m.reloads {
				c.observe(o, in.reloads)
			}
		}
		if depth := *m.queueDepth.Load(); depth != nil {
			o.ObserveInt64(in.queueDepth, depth())
		}
		m.observeBackendLoad(o)
		return nil
	}, in.endpointRequests, in.endpointTokens, in.keyRequests, in.keyTokens, in.rateLimited,
		in.logSuppressed, in.reloads, in.queueDepth, in.reportedRunning, in.reportedWaiting, in.kvCacheUsage)
}
