package nexus

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nexusllm/nexus/discovery"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/registry"
)

// WithDiscoveryBrowser makes mDNS discovery (when [discovery] is enabled)
// find backends through b instead of real multicast DNS, for tests and for
// embedders with their own service directory. nil means real mDNS.
func WithDiscoveryBrowser(b discovery.Browser) Option {
	return func(o *options) { o.browser = b }
}

// discoveryRun is the mDNS discovery the gateway runs between Start and
// Close. The zero value is "not running".
type discoveryRun struct {
	browser discovery.Browser // from WithDiscoveryBrowser; nil means real mDNS
	log     *slog.Logger

	mu     sync.Mutex
	d      *discovery.Discoverer // nil until started
	cancel context.CancelFunc
	wg     sync.WaitGroup // Run and the probes of new backends
}

// startDiscovery starts browsing for backends when [discovery] is enabled:
// each newly discovered backend is added to the registry with source mdns
// and probed at once; one not announced for the grace period is removed.
// A browser that cannot work is logged as a warning; the gateway goes on
// with its other backends. It runs until ctx is done or stopDiscovery.
func (g *Gateway) startDiscovery(ctx context.Context) {
	dc := g.cfg.Discovery
	if !dc.Enabled {
		return
	}
	r := &g.disc
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	log := r.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r.d = discovery.New(g.reg, discovery.Config{
		ServiceTypes: dc.ServiceTypes,
		GracePeriod:  time.Duration(dc.GracePeriodSeconds) * time.Second,
		MaxBackends:  dc.MaxBackends,
		Browser:      r.browser,
		Logger:       log,
		OnAdd: func(b *registry.Backend) {
			// Probe at once so the backend's models are known, without
			// holding up the browser.
			r.wg.Go(func() {
				if ctx.Err() == nil {
					g.checker.Check(ctx, b)
				}
			})
		},
	})
	d := r.d
	r.wg.Go(func() {
		if err := d.Run(ctx); err != nil {
			log.Warn("mDNS discovery is not working; going on with the configured backends", "error", err)
		}
	})
	log.Info("mDNS discovery started", "service_types", dc.ServiceTypes,
		"grace_period_seconds", dc.GracePeriodSeconds, "max_backends", dc.MaxBackends)
}

// stopDiscovery stops browsing and waits for its goroutines. Discovered
// backends stay registered.
func (g *Gateway) stopDiscovery() {
	r := &g.disc
	r.mu.Lock()
	cancel := r.cancel
	r.cancel = nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
}

// DiscoveryStats returns what mDNS discovery did since Start; ok is false
// when discovery is not enabled or not started.
func (g *Gateway) DiscoveryStats() (s discovery.Stats, ok bool) {
	g.disc.mu.Lock()
	d := g.disc.d
	g.disc.mu.Unlock()
	if d == nil {
		return discovery.Stats{}, false
	}
	return d.Stats(), true
}

// discoveryLogger is the logger of the discovery component.
func discoveryLogger(base *slog.Logger) *slog.Logger {
	return base.With(logging.ComponentKey, "discovery")
}
