// Package metrics records Nexus's request metrics and serves them two ways:
// as Prometheus text on /metrics and as a JSON summary on /v1/stats.
//
// A Metrics owns one OpenTelemetry MeterProvider with two readers: a
// Prometheus exporter registered on a private (or embedder-supplied)
// prometheus.Registry, and a cumulative ManualReader from which Stats is
// computed, so both views come from the same instruments. The ManualReader
// aggregates histograms as base-2 exponential histograms, so the
// percentiles in Stats are accurate while /metrics keeps the contract's
// explicit buckets. WithPush adds a periodic push of the same instruments
// (OTLP, through package telemetry's exporter); other readers can be added
// with WithReader.
//
// Label values come only from a bounded set: models listed in the registry
// or passed to SetKnownModels, backends in the registry, API key names
// passed to SetKnownKeys, closed enums for status, error type, token type,
// endpoint, limit, queue outcome and reload result. Anything else is
// recorded as OtherLabel, so no client input can grow the number of series.
// Values are sanitised with SanitizeLabel. Recording reuses precomputed
// attribute sets and allocates nothing once a label tuple has been seen.
//
// A nil *Metrics is valid: every Record and Set method is then a no-op.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nexusllm/nexus/registry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
)

// meterName is the instrumentation scope of the Nexus instruments.
const meterName = "github.com/nexusllm/nexus/metrics"

// Metrics records request metrics for one gateway. Create it with New and
// release it with Close. All methods are safe for concurrent use.
type Metrics struct {
	reg      *registry.Registry
	promReg  *prometheus.Registry
	provider *sdkmetric.MeterProvider
	manual   *sdkmetric.ManualReader
	inst     *instruments
	ext      *gatewayInstruments
	fleet    metric.Registration
	gateway  metric.Registration
	start    time.Time
	handler  http.Handler

	known atomic.Pointer[map[string]struct{}]

	models   *names // model names accepted as labels
	backends *names // backend ids accepted as labels

	reqs      memo[reqKey, *reqEntry]
	errs      memo[errKey, []metric.AddOption]
	fallbacks memo[fallbackKey, []metric.AddOption]
	probes    memo[string, []metric.RecordOption]
	pendings  memo[string, []metric.ObserveOption]

	endpoints  [numEndpoints]endpointEntry // immutable after New
	epRequests counterVec[epStatusKey]

	knownKeys     atomic.Pointer[map[string]struct{}]
	keyNames      *names // key names accepted as labels
	keyRequests   counterVec[keyStatusKey]
	keyTokens     counterVec[keyTypeKey]
	rateLimited   counterVec[keyLimitKey]
	logSuppressed counterVec[ErrorType]
	reloads       [2]*obsCounter // success, failure
	queueOpts     [numOutcomes][]metric.RecordOption

	queueDepth  atomic.Pointer[func() int64]    // never nil; points to nil when unset
	backendLoad atomic.Pointer[BackendLoadFunc] // never nil; points to nil when unset

	rmPool sync.Pool // *metricdata.ResourceMetrics reused by Stats

	closeOnce sync.Once
	closeErr  error
}

// Option configures New.
type Option func(*options)

type options struct {
	promReg          *prometheus.Registry
	readers          []sdkmetric.Reader
	cardinalityLimit int
	start            time.Time
	exemplarFilter   exemplar.Filter
	memoCap          int64
	backendLoad      BackendLoadFunc
	queueDepth       func() int64
	pushes           []push
	resource         *resource.Resource
}

// WithPrometheusRegistry makes the Prometheus exporter register on r, the embedder's
// own registry, and Handler serve everything r gathers. By default a private
// prometheus.NewRegistry() is used. Two Metrics must not share one r: their
// series would collide and make scrapes fail.
func WithPrometheusRegistry(r *prometheus.Registry) Option {
	return func(o *options) {
		if r != nil {
			o.promReg = r
		}
	}
}

// WithReader adds an extra reader (for example an OTLP periodic reader) to
// the MeterProvider. It is shut down by Close.
func WithReader(r sdkmetric.Reader) Option {
	return func(o *options) {
		if r != nil {
			o.readers = append(o.readers, r)
		}
	}
}

// WithCardinalityLimit sets the SDK's limit on series per instrument and
// reader (default 2000); 0 or less means unlimited. It is a second line of
// defence behind the bounded label set: series past the limit are merged
// into one series labelled otel_metric_overflow="true".
func WithCardinalityLimit(n int) Option {
	return func(o *options) { o.cardinalityLimit = n }
}

// WithStartTime sets the moment uptime is counted from (default: when New
// was called).
func WithStartTime(t time.Time) Option {
	return func(o *options) { o.start = t }
}

// WithExemplarFilter sets which measurements carry exemplars. The default is
// exemplar.AlwaysOffFilter: Handler serves the classic text format, which
// has no exemplars, and the filter costs time on every measurement. Pass
// exemplar.TraceBasedFilter when an extra reader exports them.
func WithExemplarFilter(f exemplar.Filter) Option {
	return func(o *options) {
		if f != nil {
			o.exemplarFilter = f
		}
	}
}

// withMemoCap bounds each label memo (tests use small caps).
func withMemoCap(n int64) Option {
	return func(o *options) { o.memoCap = n }
}

// New creates the MeterProvider, the Prometheus exporter, the ManualReader
// and every instrument, observing fleet gauges from reg.
func New(reg *registry.Registry, opts ...Option) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: nil registry")
	}
	o := options{cardinalityLimit: 2000, exemplarFilter: exemplar.AlwaysOffFilter, memoCap: defaultMemoCap}
	for _, opt := range opts {
		opt(&o)
	}
	if o.promReg == nil {
		o.promReg = prometheus.NewRegistry()
	}
	if o.start.IsZero() {
		o.start = time.Now()
	}
	exp, err := otelprom.New(
		otelprom.WithRegisterer(o.promReg),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
	)
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	// Cumulative, so Stats never resets; exponential histograms for
	// accurate percentiles.
	manual := sdkmetric.NewManualReader(sdkmetric.WithAggregationSelector(statsAggregation))
	res := o.resource
	if res == nil {
		res = resource.Empty()
	}
	popts := []sdkmetric.Option{
		sdkmetric.WithResource(res),
		sdkmetric.WithReader(exp),
		sdkmetric.WithReader(manual),
		sdkmetric.WithCardinalityLimit(o.cardinalityLimit),
		sdkmetric.WithExemplarFilter(o.exemplarFilter),
	}
	for _, r := range append(o.readers, pushReaders(o.pushes)...) {
		popts = append(popts, sdkmetric.WithReader(r))
	}
	m := &Metrics{
		reg:       reg,
		promReg:   o.promReg,
		provider:  sdkmetric.NewMeterProvider(popts...),
		manual:    manual,
		start:     o.start,
		models:    newNames(o.memoCap),
		backends:  newNames(o.memoCap),
		keyNames:  newNames(o.memoCap),
		endpoints: newEndpointEntries(),
		reloads:   newReloadCounters(),
		queueOpts: newQueueOpts(),
	}
	m.reqs.max, m.errs.max, m.fallbacks.max = o.memoCap, o.memoCap, o.memoCap
	m.probes.max, m.pendings.max = o.memoCap, o.memoCap
	m.epRequests.max, m.keyRequests.max, m.keyTokens.max = o.memoCap, o.memoCap, o.memoCap
	m.rateLimited.max, m.logSuppressed.max = o.memoCap, o.memoCap
	m.known.Store(&map[string]struct{}{})
	m.knownKeys.Store(&map[string]struct{}{})
	m.queueDepth.Store(&o.queueDepth)
	m.backendLoad.Store(&o.backendLoad)

	meter := m.provider.Meter(meterName)
	if m.inst, err = newInstruments(meter); err == nil {
		m.fleet, err = m.registerFleet(meter)
	}
	if err == nil {
		if m.ext, err = newGatewayInstruments(meter); err == nil {
			m.gateway, err = m.registerGateway(meter)
		}
	}
	if err != nil {
		_ = m.provider.Shutdown(context.Background())
		return nil, fmt.Errorf("metrics: instruments: %w", err)
	}
	m.handler = promhttp.HandlerFor(o.promReg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	})
	return m, nil
}

// Handler returns the GET /metrics handler: the Prometheus text exposition
// of everything the Prometheus registry gathers. A series that fails to
// encode is dropped instead of failing the whole scrape. On a nil *Metrics
// it answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// MeterProvider returns the provider behind the instruments, so embedders
// can add their own instruments to the same exports (Stats ignores them).
// Pass extra readers with WithReader. It is nil for a nil *Metrics.
func (m *Metrics) MeterProvider() *sdkmetric.MeterProvider {
	if m == nil {
		return nil
	}
	return m.provider
}

// Registry returns the Prometheus registry the exporter is registered on
// (nil for a nil *Metrics).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.promReg
}

// SetKnownModels replaces the set of extra model names accepted as label
// values besides the registry's models: aliases, fallback targets and
// configured names not yet discovered.
func (m *Metrics) SetKnownModels(names []string) {
	if m == nil {
		return
	}
	set := make(map[string]struct{}, len(names))
	for _, n := range names {
		if n != "" {
			set[n] = struct{}{}
		}
	}
	m.known.Store(&set)
}

// Close shuts the MeterProvider and all its readers down (a reader added
// with WithPush pushes once more, bounded by ctx) and unregisters the
// callbacks. Later calls return the first call's result. Recording
// after Close is a no-op and Stats fails.
func (m *Metrics) Close(ctx context.Context) error {
	if m == nil {
		return nil
	}
	m.closeOnce.Do(func() {
		// Shut down first: a pushing reader's last push still observes
		// the gauges.
		err := m.provider.Shutdown(ctx)
		m.closeErr = errors.Join(m.fleet.Unregister(), m.gateway.Unregister(), err)
	})
	return m.closeErr
}

// uptime returns whole seconds since the start time.
func (m *Metrics) uptime() uint64 {
	d := time.Since(m.start)
	if d < 0 {
		return 0
	}
	return uint64(d / time.Second)
}
