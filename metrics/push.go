package metrics

import (
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// push is one exporter the instruments are pushed through periodically.
type push struct {
	exp      sdkmetric.Exporter
	interval time.Duration
}

// WithPush pushes every instrument through exp (for example an OTLP/HTTP
// exporter) every interval, alongside /metrics and Stats, under the same
// names (nexus_requests_total, ...). interval 0 means the SDK's default:
// OTEL_METRIC_EXPORT_INTERVAL or 60s. New creates the PeriodicReader (so a
// failing New starts nothing); Close stops it after a last push that
// flushes what was recorded. A nil exp is ignored.
func WithPush(exp sdkmetric.Exporter, interval time.Duration) Option {
	return func(o *options) {
		if exp != nil {
			o.pushes = append(o.pushes, push{exp: exp, interval: interval})
		}
	}
}

// WithResource sets the resource (service.name and the like) pushed
// readers export with. It does not change /metrics, which is served
// without target_info, nor Stats. nil means an empty resource.
func WithResource(r *resource.Resource) Option {
	return func(o *options) { o.resource = r }
}

// pushReaders returns a PeriodicReader per push.
func pushReaders(pushes []push) []sdkmetric.Reader {
	readers := make([]sdkmetric.Reader, 0, len(pushes))
	for _, p := range pushes {
		var opts []sdkmetric.PeriodicReaderOption
		if p.interval > 0 {
			opts = append(opts, sdkmetric.WithInterval(p.interval))
		}
		readers = append(readers, sdkmetric.NewPeriodicReader(p.exp, opts...))
	}
	return readers
}
