package nexus

import (
	"log/slog"
	"net/http"

	"github.com/nexusllm/nexus/discovery"
	"github.com/nexusllm/nexus/limits"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// Option customises a Gateway built by New.
type Option func(*options)

type options struct {
	registry *registry.Registry
	metrics  *metrics.Metrics
	logger   *slog.Logger
	client   *http.Client
	strategy routing.Strategy
	browser  discovery.Browser                // WithDiscoveryBrowser (discovery.go)
	loader   func() (Config, []string, error) // WithConfigLoader (reload.go)
	// limitStore replaces the configured store of per-key budgets
	// (WithLimitStore, limitstore.go).
	limitStore func([]limits.Limit) (limits.Store, error)
}

// WithRegistry makes the gateway use reg instead of a registry of its own.
// The configured backends are added to it. Use it to add or remove backends
// at run time from your own code.
func WithRegistry(reg *registry.Registry) Option {
	return func(o *options) { o.registry = reg }
}

// WithMetrics makes the gateway record into m instead of a Metrics of its
// own. The caller keeps ownership: Gateway.Close does not close m. m must
// have been built on the same registry as the gateway (see WithRegistry).
func WithMetrics(m *metrics.Metrics) Option {
	return func(o *options) { o.metrics = m }
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithHTTPClient sets the client used to reach backends (requests and
// health probes). Its Timeout should be zero; the gateway bounds each phase
// itself. The default is a client with a transport tuned for many
// concurrent requests per backend.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.client = c }
}

// WithStrategy replaces the routing strategy named in the configuration by
// an embedder's own.
func WithStrategy(s routing.Strategy) Option {
	return func(o *options) { o.strategy = s }
}
