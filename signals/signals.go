// Package signals reads what inference engines report about their own load
// and publishes it on each backend of a registry.Registry (Backend.SetLoad),
// for routing and for /v1/backends.
//
// A Poller reads, per backend and separately from the health probes:
//
//   - vLLM: GET /metrics, vllm:num_requests_running, vllm:num_requests_waiting,
//     vllm:kv_cache_usage_perc (vllm:gpu_cache_usage_perc before 0.9);
//   - SGLang: GET /metrics, sglang:num_running_reqs, sglang:num_queue_reqs,
//     sglang:token_usage;
//   - llama.cpp server: GET /slots (slots and the busy ones); when that is
//     off, GET /metrics (llamacpp:requests_processing and
//     llamacpp:requests_deferred, needs --metrics) and GET /props
//     (total_slots);
//   - Ollama: GET /api/ps, the models loaded now.
//
// Other backend types report nothing and are not polled; routing uses the
// gateway's own in-flight count for them.
//
// A failed read never touches a backend's health status: it is logged at
// Debug and the last reading stays, to go stale. Readers decide staleness
// with registry.Load.Fresh and the Poller's MaxAge.
package signals

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultInterval = time.Second
	// DefaultMaxTimeout caps the default Timeout, which is the Interval.
	DefaultMaxTimeout = 2 * time.Second
	// MaxBody bounds how much of an answer is read.
	MaxBody = 4 << 20
)

// ErrNotPollable: the backend's type reports no load signals.
var ErrNotPollable = errors.New("signals: backend type reports no load")

// Config tunes a Poller. The zero value is usable: every zero field takes
// its default.
type Config struct {
	// Interval is the time between two reads of one backend; default 1s.
	Interval time.Duration
	// Timeout bounds one read of a backend (all its requests together);
	// default the Interval, at most DefaultMaxTimeout.
	Timeout time.Duration
	// MaxAge is how old a reading may be before readers treat it as
	// absent; default 3×Interval. The Poller does not enforce it (a
	// failing backend keeps its last reading); it is exposed by MaxAge
	// for routing.
	MaxAge time.Duration
	// Client sends the requests. nil means a private client, whose idle
	// connections are closed when Run returns or Close is called.
	Client *http.Client
	// Logger receives failed reads at Debug. nil discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = min(c.Interval, DefaultMaxTimeout)
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 3 * c.Interval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Pollable reports whether backends of type t report load signals.
func Pollable(t registry.Type) bool {
	switch t {
	case registry.TypeVLLM, registry.TypeSGLang, registry.TypeLlamaCpp, registry.TypeOllama:
		return true
	}
	return false
}

// Poller reads the load signals of a registry's backends. Create it with
// New, start it with Run; Poll reads one backend on demand. All methods are
// safe for concurrent use.
type Poller struct {
	reg       *registry.Registry
	cfg       Config
	client    *http.Client
	ownClient bool

	mu    sync.Mutex
	slots map[*registry.Backend]chan struct{} // one read in flight per backend
}

// New returns a Poller for the backends of reg. Zero fields of cfg take
// their defaults.
func New(reg *registry.Registry, cfg Config) *Poller {
	cfg = cfg.withDefaults()
	p := &Poller{reg: reg, cfg: cfg, client: cfg.Client, slots: map[*registry.Backend]chan struct{}{}}
	if p.client == nil {
		p.client = newClient()
		p.ownClient = true
	}
	return p
}

// MaxAge returns how old a reading may be before it counts as absent
// (Config.MaxAge after defaults).
func (p *Poller) MaxAge() time.Duration { return p.cfg.MaxAge }

// Interval returns the time between two reads of one backend.
func (p *Poller) Interval() time.Duration { return p.cfg.Interval }

// Close releases the idle connections of the poller's private HTTP client
// (nothing when Config.Client was given). The poller stays usable.
func (p *Poller) Close() {
	if p.ownClient {
		p.client.CloseIdleConnections()
	}
}

// Run reads every pollable backend at once and then once per Interval
// until ctx is done. The reads of a round are spread evenly across the
// interval (backend i of n starts i*Interval/n into the round); a backend
// whose previous read is still running is skipped for that round.
// Backends added to the registry are read from the next round on. Run
// returns once ctx is done and every read it started has ended. Call it
// once per Poller.
func (p *Poller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		p.Close()
	}()
	ticker := time.NewTicker(p.cfg.Interval)
	defer ticker.Stop()
	for {
		p.round(ctx, &wg)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// round schedules one read of every pollable backend, spread across the
// interval.
func (p *Poller) round(ctx context.Context, wg *sync.WaitGroup) {
	var backends []*registry.Backend
	for _, b := range p.reg.Backends() {
		if Pollable(b.Type) {
			backends = append(backends, b)
		}
	}
	p.prune(backends)
	n := time.Duration(len(backends))
	for i, b := range backends {
		delay := p.cfg.Interval * time.Duration(i) / n
		wg.Go(func() {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			if cur, ok := p.reg.Get(b.ID); !ok || cur != b {
				return // removed while waiting
			}
			slot := p.slot(b)
			select {
			case slot <- struct{}{}:
			default:
				return // the previous read is still running
			}
			defer func() { <-slot }()
			_, _ = p.read(ctx, b)
		})
	}
}

// Poll reads b's load now and, on success, publishes it with b.SetLoad and
// returns it. If a read of b is already running, Poll waits for it to end
// first (bounded by ctx). A failure leaves b's last reading and its health
// untouched; ErrNotPollable is returned for types that report nothing.
func (p *Poller) Poll(ctx context.Context, b *registry.Backend) (*registry.Load, error) {
	if !Pollable(b.Type) {
		return nil, ErrNotPollable
	}
	slot := p.slot(b)
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-slot }()
	return p.read(ctx, b)
}

// read takes one reading of b and publishes it. The caller holds b's slot.
func (p *Poller) read(ctx context.Context, b *registry.Backend) (*registry.Load, error) {
	l, err := p.fetchLoad(ctx, b)
	if err != nil {
		p.cfg.Logger.Debug("load signals not read", "backend", b.Name, "type", string(b.Type), "error", err.Error())
		return nil, err
	}
	l.UpdatedAt = time.Now()
	b.SetLoad(l)
	return l, nil
}

// slot returns b's single-flight token channel, creating it if needed.
func (p *Poller) slot(b *registry.Backend) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.slots[b]
	if !ok {
		s = make(chan struct{}, 1)
		p.slots[b] = s
	}
	return s
}

// prune drops the slots of backends no longer polled. A read still
// holding a dropped slot ends on its own.
func (p *Poller) prune(backends []*registry.Backend) {
	live := make(map[*registry.Backend]struct{}, len(backends))
	for _, b := range backends {
		live[b] = struct{}{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for b := range p.slots {
		if _, ok := live[b]; !ok {
			delete(p.slots, b)
		}
	}
}

// newClient returns a client with a private Transport sized for polling.
// Requests carry their own deadlines, so the client has no Timeout.
func newClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}
