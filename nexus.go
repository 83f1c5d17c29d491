// Package nexus is an OpenAI-compatible gateway in front of many LLM
// inference backends (Ollama, vLLM, llama.cpp, LM Studio, exo, or any
// OpenAI-compatible server).
//
// A Gateway keeps a registry of backends and the models they serve, checks
// their health in the background, routes each chat request to the best
// backend (capabilities, load, latency, priority, aliases and fallback
// chains), fails over before the first byte reaches the client, and records
// metrics through OpenTelemetry, exposed at /metrics (Prometheus) and
// /v1/stats (JSON).
//
// A Gateway is an http.Handler serving the inference API: build it with
// New, call Start, mount it in your own mux, and Close it when done. The
// operational surfaces are separate handlers to mount if you want them:
// AdminHandler (the fleet API), DashboardHandler (the web page) and
// Metrics().Handler() / StatsHandler(); Handler serves everything at once,
// as `nexus serve` does.
//
//	gw, err := nexus.New(cfg)
//	if err != nil { ... }
//	if err := gw.Start(ctx); err != nil { ... }
//	defer gw.Close()
//	mux.Handle("/v1/", gw)
//	mux.Handle("/llm/", http.StripPrefix("/llm", gw.DashboardHandler()))
package nexus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nexusllm/nexus/dashboard"
	"github.com/nexusllm/nexus/health"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/proxy"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
	"github.com/nexusllm/nexus/telemetry"
)

// MaxBodyBytes is the largest request body the gateway accepts.
const MaxBodyBytes = 10 << 20

// Gateway routes OpenAI-compatible requests to backends. It is safe for
// concurrent use. Build it with New.
type Gateway struct {
	cfg         Config
	reg         *registry.Registry
	router      atomic.Pointer[routing.Router] // swapped whole on reload
	fwd         *proxy.Forwarder
	metrics     *metrics.Metrics
	ownsMetrics bool
	tracer      *telemetry.Tracer // nil when traces are off
	checker     *health.Checker
	history     *dashboard.History
	dash        *dashboard.Dashboard
	client      *http.Client
	ownsClient  bool
	log         *slog.Logger
	auth        atomic.Pointer[authenticator] // nil when no keys are configured; swapped whole on reload
	limit       *limiter                      // nil when max_concurrent_requests is 0
	started     time.Time
	responses   *responseMemory // which backend created which response
	uploads     *uploadGuard    // request bodies being read, per client address
	sampler     *logSampler     // bounds repeated warning lines
	fleet       *fleet          // load signals and the capacity queue (fleet.go)
	shared      *sharedLimits   // per-key budgets in Redis; nil = in memory (limitstore.go)

	// Passive health: consecutive failed requests that eject a backend,
	// and how long before one request may try it again.
	passiveThreshold int
	passiveCooldown  time.Duration

	inferenceMux, adminMux, dashMux, allMux *http.ServeMux

	// Readiness: probed once Start's first probe round has finished;
	// draining once Drain was called (shutdown).
	probed, draining atomic.Bool

	disc   discoveryRun // mDNS discovery between Start and Close (discovery.go)
	reload reloadState  // live configuration reload (reload.go)

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	closed  bool
	running bool
}

// New validates cfg and builds a Gateway from it. It starts nothing: call
// Start to begin health checking. cfg is copied.
func New(cfg Config, opts ...Option) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	base := o.logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, started: time.Now(), log: base.With(logging.ComponentKey, "gateway")}
	tel, err := newTelemetrySetup(cfg, g.log) // tracing.go; starts nothing
	if err != nil {
		return nil, fmt.Errorf("nexus: telemetry: %w", err)
	}
	shared, err := openSharedLimits(cfg.Limits, o.limitStore, base) // limitstore.go
	if err != nil {
		return nil, err
	}
	g.shared = shared
	keys, err := cfg.keyring(shared.options()...)
	if err != nil {
		_ = shared.Close()
		return nil, err
	}
	g.auth.Store(newAuthenticator(keys, cfg.secrets()))
	g.limit = newLimiter(cfg.Server.MaxConcurrentRequests)
	g.responses = newResponseMemory(responseMemorySize, responseMemoryTTL)
	g.uploads = newUploadGuard(cfg.Server.MaxUploadsPerClient)
	g.sampler = newLogSampler(logLinesPerSecond)
	g.passiveThreshold = cmp.Or(cfg.HealthCheck.PassiveFailureThreshold, 3)
	g.passiveCooldown = time.Duration(cmp.Or(cfg.HealthCheck.PassiveCooldownSeconds, 30)) * time.Second
	g.reg = o.registry
	if g.reg == nil {
		g.reg = registry.New()
	}
	g.fleet = newFleet(cfg, g.reg, base)
	router, err := cfg.newRouter(g.reg, o.strategy) // reload.go
	if err != nil {
		return nil, err
	}
	g.router.Store(router)
	g.reload = reloadState{load: o.loader, strategy: o.strategy, cur: cfg}
	g.disc = discoveryRun{browser: o.browser, log: discoveryLogger(base)}

	g.metrics = o.metrics
	if g.metrics == nil {
		m, err := metrics.New(g.reg, append(tel.metricOptions(), metrics.WithStartTime(g.started))...)
		if err != nil {
			return nil, fmt.Errorf("nexus: metrics: %w", err)
		}
		g.metrics, g.ownsMetrics = m, true
	}
	g.metrics.SetKnownModels(router.KnownModels())
	g.metrics.SetKnownKeys(keys.Names())
	g.fleet.observe(g.metrics, g.reg)
	g.shared.observe(g.metrics, g.log)

	g.client = o.client
	if g.client == nil {
		g.client, g.ownsClient = newBackendClient(cfg.Server.ConnectTimeout), true
	}
	timeout := time.Duration(cfg.Server.RequestTimeoutSeconds) * time.Second
	g.fwd = &proxy.Forwarder{
		Client:           g.client,
		FirstByteTimeout: cmp.Or(cfg.Server.FirstByteTimeout, timeout),
		RequestTimeout:   timeout,
		IdleTimeout:      cmp.Or(cfg.Server.StreamIdleTimeout, min(60*time.Second, timeout)),
	}
	hc := cfg.HealthCheck
	g.checker = health.New(g.reg, health.Config{
		Interval:          time.Duration(hc.IntervalSeconds) * time.Second,
		Timeout:           time.Duration(hc.TimeoutSeconds) * time.Second,
		FailureThreshold:  hc.FailureThreshold,
		RecoveryThreshold: hc.RecoveryThreshold,
		Client:            g.client,
		Logger:            base.With(logging.ComponentKey, "health"),
		OnProbe: func(b *registry.Backend, latency time.Duration) {
			g.metrics.RecordProbe(context.Background(), b.ID, latency)
		},
	})
	g.history = dashboard.NewHistory(dashboard.DefaultHistoryCapacity)
	g.dash = dashboard.New(dashboard.Config{
		Backends: g.backendInfos,
		History:  g.history,
		Stats:    func(ctx context.Context) (any, error) { return g.metrics.Stats(ctx) },
		Models:   func() any { return g.modelList(nil) },
		Health:   func() any { return g.Health() },
	})
	routes := routeTable(dashboard.Paths())
	g.inferenceMux = g.buildMux(routes, surfaceInference)
	g.adminMux = g.buildMux(routes, surfaceAdmin)
	g.dashMux = g.buildMux(routes, surfaceDashboard)
	g.allMux = g.buildMux(routes, surfaceInference, surfaceAdmin, surfaceDashboard, surfaceMetrics)
	if err := g.addBackends(cfg.Backends); err != nil {
		g.dash.Close()
		if g.ownsMetrics {
			_ = g.metrics.Close(context.Background())
		}
		return nil, err
	}
	g.tracer = tel.startTracer(g.ownsMetrics, g.log)
	return g, nil
}

// addBackends adds the configured backends, last in New so that a failure
// anywhere leaves a caller's registry as it was: on error the backends
// already added are removed again.
func (g *Gateway) addBackends(backends []BackendConfig) error {
	for i, bc := range backends {
		if _, err := g.reg.Add(backendFromConfig(bc)); err != nil {
			for _, added := range backends[:i] {
				_ = g.reg.Remove(added.Name)
			}
			return fmt.Errorf("nexus: backend %q: %w", bc.Name, err)
		}
	}
	return nil
}

// newBackendClient returns a client whose transport keeps many idle
// connections per backend, dials with a bounded timeout and leaves bodies
// uncompressed so streams relay as they arrive.
func newBackendClient(connectTimeout time.Duration) *http.Client {
	return &http.Client{Transport: NewTransport(connectTimeout)}
}

// NewTransport returns the transport the gateway reaches backends with by
// default: many idle connections kept per backend, dials bounded by
// connectTimeout, and no compression so streams relay as they arrive. Pass
// it in an http.Client to WithHTTPClient to start from these settings.
func NewTransport(connectTimeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
}

func backendFromConfig(bc BackendConfig) registry.Config {
	t, _ := registry.ParseType(bc.Type)
	endpoints, _ := registry.ParseEndpoints(bc.Endpoints) // checked by Validate
	rc := registry.Config{
		Endpoints: endpoints,
		Name:      bc.Name,
		URL:       bc.URL,
		Type:      t,
		Priority:  bc.Priority,
		APIKey:    bc.APIKey,
		Source:    registry.SourceStatic,

		MaxConcurrency: bc.MaxConcurrency,
	}
	for _, m := range bc.Models {
		rc.Models = append(rc.Models, registry.Model{
			ID:            m.ID,
			ContextLength: m.ContextLength,
			Vision:        capability(m.Vision),
			Tools:         capability(m.Tools),
			JSONMode:      capability(m.JSONMode),
		})
	}
	if len(rc.Models) > 0 {
		// Models listed in the configuration make the backend usable at
		// once; the health checker still probes it.
		rc.Status = registry.StatusHealthy
	}
	return rc
}

func capability(b *bool) registry.Capability {
	if b == nil {
		return registry.CapUnknown
	}
	return registry.CapabilityOf(*b)
}

// Start probes every backend once (so models are known when it returns) and
// then, when health checking is enabled, keeps checking them in the
// background until Close or until ctx is done.
func (g *Gateway) Start(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("nexus: gateway is closed")
	}
	if g.running {
		return errors.New("nexus: gateway already started")
	}
	g.running = true
	var wg sync.WaitGroup
	for _, b := range g.reg.Backends() {
		wg.Go(func() { g.checker.Check(ctx, b) })
	}
	wg.Wait()
	g.probed.Store(true)
	g.startDiscovery(ctx) // discovery.go
	if !g.cfg.HealthCheck.Enabled && g.fleet.poller == nil {
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	g.cancel, g.done = cancel, done
	go func() {
		defer close(done)
		var bg sync.WaitGroup
		if g.cfg.HealthCheck.Enabled {
			bg.Go(func() { g.checker.Run(runCtx) })
		}
		bg.Go(func() { g.fleet.run(runCtx) }) // load signals (fleet.go)
		bg.Wait()
	}()
	return nil
}

// Close stops background work, waits for it, and releases what the gateway
// owns (its metrics and idle backend connections). In-flight requests are
// not interrupted; shut your http.Server down first to drain them.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	cancel, done := g.cancel, g.done
	g.mu.Unlock()
	g.dash.Close()
	g.stopDiscovery()
	if cancel != nil {
		cancel()
		<-done
	}
	// The last push of metrics and spans is bounded.
	ctx, cancelFlush := context.WithTimeout(context.Background(), telemetryFlushTimeout)
	defer cancelFlush()
	err := g.tracer.Shutdown(ctx)
	err = errors.Join(err, g.shared.Close()) // before the metrics it reports to
	if g.ownsMetrics {
		err = errors.Join(err, g.metrics.Close(ctx))
	}
	if g.ownsClient {
		g.client.CloseIdleConnections()
	}
	return err
}

// Registry returns the gateway's backend registry.
func (g *Gateway) Registry() *registry.Registry { return g.reg }

// Metrics returns the gateway's metrics.
func (g *Gateway) Metrics() *metrics.Metrics { return g.metrics }

// Dashboard returns the gateway's web dashboard. A server that drains
// connections on shutdown should call its Close first (for example with
// http.Server.RegisterOnShutdown), so open live-update streams end.
func (g *Gateway) Dashboard() *dashboard.Dashboard { return g.dash }

// History returns the log of recent requests shown by the dashboard and
// GET /v1/history.
func (g *Gateway) History() *dashboard.History { return g.history }

// Router returns the gateway's router.
func (g *Gateway) Router() *routing.Router { return g.router.Load() }
