package metrics

import (
	"math"

	"go.opentelemetry.io/otel/metric"
)

// BackendLoadFunc reports the load each backend's engine last reported, for
// the nexus_backend_reported_* and nexus_backend_kv_cache_usage_ratio
// gauges. It calls yield once per backend until yield returns false:
// running and waiting are the engine's requests in progress and queued,
// kvUsage its KV-cache usage from 0 to 1, and ok false when there is no
// fresh reading (the backend is then not exported). A NaN, negative or
// infinite value leaves that one gauge out for the backend (an engine that
// reports no KV-cache figure passes NaN). Backends not in the registry
// are skipped. It runs under the SDK's collection lock, so it must be quick
// and must not record metrics.
type BackendLoadFunc func(yield func(backendID string, running, waiting, kvUsage float64, ok bool) bool)

// WithBackendLoad sets the BackendLoadFunc the backend load gauges are
// observed from (see Metrics.SetBackendLoad).
func WithBackendLoad(fn BackendLoadFunc) Option {
	return func(o *options) { o.backendLoad = fn }
}

// WithQueueDepth sets the function nexus_queue_depth is observed from (see
// Metrics.SetQueueDepth).
func WithQueueDepth(depth func() int64) Option {
	return func(o *options) { o.queueDepth = depth }
}

// SetBackendLoad replaces the BackendLoadFunc; nil removes it, and the
// gauges are then not exported.
func (m *Metrics) SetBackendLoad(fn BackendLoadFunc) {
	if m == nil {
		return
	}
	m.backendLoad.Store(&fn)
}

// observeBackendLoad observes the backend load gauges from the
// BackendLoadFunc, if any.
func (m *Metrics) observeBackendLoad(o metric.Observer) {
	fn := *m.backendLoad.Load()
	if fn == nil {
		return
	}
	in := m.ext
	fn(func(id string, running, waiting, kv float64, ok bool) bool {
		if !ok {
			return true
		}
		if _, known := m.reg.Get(id); !known {
			return true
		}
		opts := m.pendingOpts(id) // the same label set: backend
		if gaugeValue(running) {
			o.ObserveFloat64(in.reportedRunning, running, opts...)
		}
		if gaugeValue(waiting) {
			o.ObserveFloat64(in.reportedWaiting, waiting, opts...)
		}
		if gaugeValue(kv) {
			o.ObserveFloat64(in.kvCacheUsage, kv, opts...)
		}
		return true
	})
}

func gaugeValue(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

// backendLoads returns, per backend ID, the running, waiting and KV usage
// the BackendLoadFunc reports (nil where a value is not reported), for
// /v1/stats: the same readings as the gauges.
func (m *Metrics) backendLoads() map[string][3]*float64 {
	p := m.backendLoad.Load()
	if p == nil || *p == nil {
		return nil
	}
	out := map[string][3]*float64{}
	(*p)(func(id string, running, waiting, kv float64, ok bool) bool {
		if !ok {
			return true
		}
		var l [3]*float64
		for i, v := range [3]float64{running, waiting, kv} {
			if gaugeValue(v) {
				l[i] = &v
			}
		}
		out[id] = l
		return true
	})
	return out
}
