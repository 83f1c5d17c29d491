// Package health watches inference backends with active probes and keeps
// their live state in a registry.Registry up to date: status (through a
// failure/recovery threshold state machine), the models each backend serves
// (with context length and vision/tool capabilities) and probe latency.
//
// A Checker probes every backend once per interval, spreading the probes of
// a round across the interval, never running two probes of one backend at
// the same time. Each backend type is probed its own way: Ollama with
// GET /api/tags (and POST /api/show per model), llama.cpp with GET /health,
// everything else with the OpenAI GET /v1/models.
//
// Classification: a transport error, a timeout or a non-2xx answer is a
// failure. A 2xx answer with a parseable body is a success whose model list
// replaces the backend's (an empty list too: the backend really serves
// nothing); a 2xx answer whose body cannot be parsed is a success that keeps
// the last known models. A llama.cpp /health other than {"status":"ok"} is a
// failure; a healthy llama.cpp server is also asked for GET /v1/models,
// since /health names no model.
//
// Capabilities come from Ollama's /api/show when it answers (known yes or
// no); otherwise from name heuristics, which only ever say "yes" or
// "unknown", never "no", so that a capability nobody reported stays
// allowed.
package health

import (
	"context"
	"sync"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Checker runs health probes against the backends of a registry and applies
// their results. Create it with New, start it with Run; Check probes one
// backend on demand. All methods are safe for concurrent use.
type Checker struct {
	unsubscribe func() // ends the registry subscription that kicks Run
	reg         *registry.Registry
	cfg         Config
	prober      prober
	ownClient   bool
	kick        chan struct{} // a backend was added (or models changed)

	mu     sync.Mutex
	states map[*registry.Backend]*state
}

// New returns a Checker for the backends of reg. Zero fields of cfg take
// their defaults. New subscribes to reg's change notifications so that a
// running checker probes a newly added backend at once.
func New(reg *registry.Registry, cfg Config) *Checker {
	cfg = cfg.withDefaults()
	c := &Checker{
		reg:    reg,
		cfg:    cfg,
		kick:   make(chan struct{}, 1),
		states: make(map[*registry.Backend]*state),
	}
	client := cfg.Client
	if client == nil {
		client = newClient()
		c.ownClient = true
	}
	c.prober = prober{client: client, timeout: cfg.Timeout}
	kick := c.kick
	c.unsubscribe = reg.OnChange(func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	return c
}

// Run probes every backend at once and then once per Interval until ctx is
// done. The probes of a round are spread evenly across the interval
// (backend i of n starts i*Interval/n into the round); a backend whose
// previous probe is still running is skipped for that round. A backend
// added to the registry is probed as soon as it appears; the state of a
// removed backend is dropped. Run returns once ctx is done and every probe
// it started has ended. Call it once per Checker.
func (c *Checker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		c.Close()
	}()
	ticker := time.NewTicker(c.cfg.Interval)
	defer ticker.Stop()
	c.round(ctx, &wg)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			c.round(ctx, &wg)
		case <-c.kick:
			c.probeNew(ctx, &wg)
		}
	}
}

// Close releases the idle connections of the checker's private HTTP client
// (nothing when Config.Client was given). The checker stays usable.
func (c *Checker) Close() {
	c.unsubscribe()
	if c.ownClient {
		c.prober.client.CloseIdleConnections()
	}
}

// round schedules one probe of every backend, spread across the interval.
func (c *Checker) round(ctx context.Context, wg *sync.WaitGroup) {
	backends := c.reg.Backends()
	c.prune(backends)
	n := time.Duration(len(backends))
	for i, b := range backends {
		st, _ := c.stateFor(b)
		delay := c.cfg.Interval * time.Duration(i) / n
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
			if cur, ok := c.reg.Get(b.ID); !ok || cur != b {
				return // removed while waiting
			}
			c.check(ctx, b, st, false)
		})
	}
}

// probeNew probes at once every backend the checker has not seen yet.
func (c *Checker) probeNew(ctx context.Context, wg *sync.WaitGroup) {
	backends := c.reg.Backends()
	c.prune(backends)
	for _, b := range backends {
		if st, created := c.stateFor(b); created {
			wg.Go(func() { c.check(ctx, b, st, false) })
		}
	}
}

// stateFor returns the checker's state for b, creating it if needed.
func (c *Checker) stateFor(b *registry.Backend) (st *state, created bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.states[b]; ok {
		return st, false
	}
	st = &state{}
	c.states[b] = st
	return st, true
}

// prune drops the state of backends no longer in the registry.
func (c *Checker) prune(backends []*registry.Backend) {
	live := make(map[*registry.Backend]struct{}, len(backends))
	for _, b := range backends {
		live[b] = struct{}{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for b := range c.states {
		if _, ok := live[b]; !ok {
			delete(c.states, b)
		}
	}
}
