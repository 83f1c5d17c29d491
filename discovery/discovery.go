// Package discovery finds inference backends announced with mDNS/DNS-SD
// (RFC 6762/6763) and keeps them in a registry.Registry.
//
// A Discoverer browses service types (by default _ollama._tcp and _llm._tcp)
// through a Browser, resolves each announcement to a backend and adds it
// with Source registry.SourceMDNS and status unknown, so the health checker
// probes it before it receives traffic. The announcement's TXT record may
// say:
//
//   - type: the engine (ollama, vllm, llamacpp, sglang, …; see
//     registry.ParseType); unknown or missing means ollama for _ollama._tcp
//     and generic otherwise;
//   - api_path: the base path of the API; a trailing "/v1" is dropped,
//     because the gateway appends "/v1/..." itself (so "/v1" never becomes
//     "/v1/v1");
//   - version: kept in the backend's Metadata.
//
// A backend is named "mdns-<instance>" and keyed by its service type and
// instance name, so a host whose address or port changes stays one backend.
// A backend configured by other means with the same URL wins over an
// announcement. A backend not announced again for GracePeriod is removed.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultGracePeriod = 60 * time.Second
	DefaultMaxBackends = 64
)

// DefaultServiceTypes returns the service types browsed when
// Config.ServiceTypes is empty: Ollama's and the generic LLM one.
func DefaultServiceTypes() []string {
	return []string{"_ollama._tcp.local.", "_llm._tcp.local."}
}

// Config tunes a Discoverer. The zero value is usable: every zero field
// takes its default.
type Config struct {
	// ServiceTypes are the DNS-SD service types to browse, such as
	// "_ollama._tcp.local." (the trailing dot and ".local" may be left
	// out). Empty means DefaultServiceTypes.
	ServiceTypes []string
	// GracePeriod is how long a backend stays registered after it was last
	// announced; default 60s. It must be well above the Browser's re-query
	// interval.
	GracePeriod time.Duration
	// MaxBackends bounds how many discovered backends are registered at
	// once; announcements of further instances are ignored and counted in
	// Stats.Ignored. Default 64.
	MaxBackends int
	// Browser finds the announcements. nil means NewMDNSBrowser with zero
	// MDNSOptions (real multicast on the default interface), logging to
	// Logger.
	Browser Browser
	// Logger receives discovered and expired backends at Info and ignored
	// announcements at Debug. nil discards.
	Logger *slog.Logger
	// Now is the clock for grace periods; nil means time.Now.
	Now func() time.Time
	// OnAdd, when set, is called with each backend the Discoverer adds
	// (also when a changed address re-adds it), after the registry shows
	// it and outside any lock, so the gateway can probe it at once.
	OnAdd func(*registry.Backend)
	// SweepInterval is how often Run looks for expired backends; default
	// GracePeriod/6, between 1s and 10s.
	SweepInterval time.Duration
}

func (c Config) withDefaults() Config {
	if len(c.ServiceTypes) == 0 {
		c.ServiceTypes = DefaultServiceTypes()
	}
	types := make([]string, 0, len(c.ServiceTypes))
	for _, s := range c.ServiceTypes {
		if s = canonicalService(s); s != "" {
			types = append(types, s)
		}
	}
	c.ServiceTypes = types
	if c.GracePeriod <= 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.MaxBackends <= 0 {
		c.MaxBackends = DefaultMaxBackends
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = min(max(c.GracePeriod/6, time.Second), 10*time.Second)
	}
	if c.Browser == nil {
		c.Browser = NewMDNSBrowser(MDNSOptions{Logger: c.Logger})
	}
	return c
}

// Stats counts what a Discoverer did since New.
type Stats struct {
	// Discovered is how many discovered backends are registered now.
	Discovered int
	// Added counts backends added for new instances; Updated counts
	// instances re-added because their address, port, type or version
	// changed; Expired counts backends removed after the grace period.
	Added, Updated, Expired uint64
	// Ignored counts announcements of new instances refused because
	// MaxBackends were registered.
	Ignored uint64
	// Shadowed counts announcements refused because another backend (a
	// static one, or another instance) has the same URL or name.
	Shadowed uint64
	// Malformed counts announcements without a usable name, port or
	// address, or with a bad TXT record.
	Malformed uint64
}

// entry is one discovered instance and the backend standing for it.
type entry struct {
	t    target
	b    *registry.Backend
	seen time.Time // last announcement
}

// Discoverer keeps discovered backends in a registry. Create it with New and
// start it with Run; Handle applies one announcement. All methods are safe
// for concurrent use.
type Discoverer struct {
	reg *registry.Registry
	cfg Config

	mu      sync.Mutex // guards entries and stats; held across registry writes
	entries map[string]*entry
	stats   Stats
	full    bool // MaxBackends reached (for logging the first refusal)
}

// New returns a Discoverer that adds to and removes from reg. Zero fields of
// cfg take their defaults.
func New(reg *registry.Registry, cfg Config) *Discoverer {
	return &Discoverer{reg: reg, cfg: cfg.withDefaults(), entries: map[string]*entry{}}
}

// Run browses the configured service types, applying each announcement
// with Handle, and removes backends not announced for GracePeriod, until
// ctx is done. It returns nil once ctx is done and every goroutine it
// started has stopped, or the Browser's error when browsing cannot work
// (the caller should log it and go on with static backends). Discovered
// backends stay registered when Run returns. Call Run once per Discoverer.
func (d *Discoverer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { d.sweepLoop(ctx) })
	err := d.cfg.Browser.Browse(ctx, d.cfg.ServiceTypes, d.Handle)
	if err == nil || ctx.Err() != nil {
		// A browser that ended early leaves the sweeper to expire what it
		// found.
		<-ctx.Done()
		err = nil
	}
	cancel()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	return nil
}

func (d *Discoverer) sweepLoop(ctx context.Context) {
	t := time.NewTicker(d.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.Sweep()
		}
	}
}

// Stats returns the counters so far.
func (d *Discoverer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.Discovered = len(d.entries)
	return s
}

// Sweep removes the backends not announced for longer than GracePeriod
// (by Config.Now) and returns how many it removed. Run calls it every
// SweepInterval.
func (d *Discoverer) Sweep() int {
	now := d.cfg.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k, e := range d.entries {
		if now.Sub(e.seen) <= d.cfg.GracePeriod {
			continue
		}
		d.removeBackend(e)
		delete(d.entries, k)
		d.stats.Expired++
		n++
		d.cfg.Logger.Info("discovery: backend expired", "backend", e.b.ID, "url", e.b.URL,
			"last_seen", e.seen, "grace_period", d.cfg.GracePeriod)
	}
	if n > 0 {
		d.full = false
	}
	return n
}

// Handle applies one announcement: it adds the backend it describes,
// re-adds it under the same name when its address, port, type or version
// changed, or only notes that it was seen. Unusable announcements are
// logged at Debug and counted.
func (d *Discoverer) Handle(a Announcement) {
	t, err := resolve(a)
	if err != nil {
		d.mu.Lock()
		d.stats.Malformed++
		d.mu.Unlock()
		d.cfg.Logger.Debug("discovery: ignoring announcement", "instance", quoteShort(a.Instance),
			"service", quoteShort(a.Service), "error", err)
		return
	}
	now := d.cfg.Now()
	d.mu.Lock()
	b := d.apply(t, now)
	d.mu.Unlock()
	if b != nil && d.cfg.OnAdd != nil {
		d.cfg.OnAdd(b)
	}
}

// apply records t as seen at now and returns the backend it added, if any.
// d.mu is held.
func (d *Discoverer) apply(t target, now time.Time) *registry.Backend {
	log := d.cfg.Logger
	e := d.entries[t.key]
	if e != nil {
		e.seen = now
		cur, present := d.reg.Get(e.b.ID)
		present = present && cur == e.b
		if present && e.t.same(t) {
			return nil
		}
		if other := d.urlOwner(t.url, e.b); other != nil {
			d.removeBackend(e)
			delete(d.entries, t.key)
			d.shadowed(t, other)
			return nil
		}
		d.removeBackend(e)
		b, err := d.add(t, e.b.ID)
		if err != nil {
			delete(d.entries, t.key)
			d.stats.Shadowed++
			log.Debug("discovery: cannot re-add backend", "instance", t.meta[MetaInstance], "error", err)
			return nil
		}
		e.t, e.b = t, b
		d.stats.Updated++
		log.Info("discovery: backend changed", "backend", b.ID, "url", b.URL, "type", b.Type)
		return b
	}
	if other := d.urlOwner(t.url, nil); other != nil {
		d.shadowed(t, other)
		return nil
	}
	if len(d.entries) >= d.cfg.MaxBackends {
		d.stats.Ignored++
		if !d.full {
			d.full = true
			log.Warn("discovery: MaxBackends discovered backends registered; ignoring further instances",
				"max_backends", d.cfg.MaxBackends, "instance", t.meta[MetaInstance])
		} else {
			log.Debug("discovery: ignoring instance over MaxBackends", "instance", t.meta[MetaInstance])
		}
		return nil
	}
	b, err := d.add(t, "")
	if err != nil {
		d.stats.Shadowed++
		log.Debug("discovery: cannot add backend", "instance", t.meta[MetaInstance], "error", err)
		return nil
	}
	d.entries[t.key] = &entry{t: t, b: b, seen: now}
	d.stats.Added++
	log.Info("discovery: backend discovered", "backend", b.ID, "url", b.URL, "type", b.Type,
		"service", t.meta[MetaService])
	return b
}

// add registers t under id when given, else under its name or, when that is
// taken, its alternative name.
func (d *Discoverer) add(t target, id string) (*registry.Backend, error) {
	names := []string{t.name, t.altName}
	if id != "" {
		names = []string{id, t.name, t.altName}
	}
	var err error
	for _, n := range names {
		var b *registry.Backend
		b, err = d.reg.Add(registry.Config{
			Name:     n,
			URL:      t.url,
			Type:     t.typ,
			Source:   registry.SourceMDNS,
			Metadata: maps.Clone(t.meta),
		})
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, registry.ErrDuplicateBackend) {
			return nil, err
		}
	}
	return nil, err
}

// removeBackend removes e's backend from the registry unless it is gone or
// was replaced by someone else.
func (d *Discoverer) removeBackend(e *entry) {
	if cur, ok := d.reg.Get(e.b.ID); ok && cur == e.b {
		_ = d.reg.Remove(e.b.ID)
	}
}

// urlOwner returns a registered backend other than self with the URL.
func (d *Discoverer) urlOwner(url string, self *registry.Backend) *registry.Backend {
	for _, b := range d.reg.Backends() {
		if b.URL == url && b != self {
			return b
		}
	}
	return nil
}

func (d *Discoverer) shadowed(t target, other *registry.Backend) {
	d.stats.Shadowed++
	reason := "another discovered backend has the same URL"
	if other.Source != registry.SourceMDNS {
		reason = "a configured backend with the same URL wins"
	}
	d.cfg.Logger.Debug("discovery: ignoring announcement: "+reason, "instance", t.meta[MetaInstance],
		"url", t.url, "backend", other.ID, "source", other.Source)
}
