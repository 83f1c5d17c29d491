package nexus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/logging"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
	"github.com/nexusllm/nexus/signals"
)

// HeaderPriority is the request header that sets a request's place in the
// queue: high, normal (the default) or low.
const HeaderPriority = "X-Nexus-Priority"

// maxSessionKey bounds the session key taken from a client: longer keys
// are cut (they are only hashed).
const maxSessionKey = 256

// fleet is the gateway's view of its backends' capacity: the poller that
// reads their load signals and the queue where requests wait for room.
type fleet struct {
	poller       *signals.Poller // nil when [signals] is off
	queue        *routing.Queue  // nil when [queue] is off
	maxAge       time.Duration   // how old a load reading may be
	affinityUser bool            // the body's "user" keys a session
}

// newFleet builds the fleet of cfg over reg; nothing runs until run.
func newFleet(cfg Config, reg *registry.Registry, log *slog.Logger) *fleet {
	f := &fleet{maxAge: cmp.Or(cfg.routingSignals().MaxAge, routing.DefaultSignalMaxAge), affinityUser: cfg.Routing.AffinityUser}
	if cfg.Signals.Enabled {
		f.poller = signals.New(reg, signals.Config{
			Interval: cfg.signalInterval(),
			MaxAge:   f.maxAge,
			Logger:   log.With(logging.ComponentKey, "signals"),
		})
	}
	if cfg.Queue.Enabled {
		f.queue = routing.NewQueue(routing.QueueConfig{
			MaxSize: cfg.Queue.MaxSize,
			MaxWait: time.Duration(cfg.Queue.MaxWaitSeconds) * time.Second,
			Recheck: cfg.signalInterval(),
		})
	}
	return f
}

// signalInterval is the time between two load reads of a backend.
func (c Config) signalInterval() time.Duration {
	return time.Duration(max(c.Signals.IntervalSeconds, 1)) * time.Second
}

// routingSignals is what the router needs to know about load readings: a
// reading older than three poll intervals is stale (routing's default
// when the gateway polls nothing, for readings an embedder publishes).
func (c Config) routingSignals() routing.Signals {
	if !c.Signals.Enabled {
		return routing.Signals{}
	}
	return routing.Signals{MaxAge: 3 * c.signalInterval()}
}

// observe makes the fleet visible in m: each backend's fresh reported load
// (nexus_backend_reported_*) and the queue depth.
func (f *fleet) observe(m *metrics.Metrics, reg *registry.Registry) {
	m.SetBackendLoad(func(yield func(string, float64, float64, float64, bool) bool) {
		now := time.Now()
		for _, b := range reg.Backends() {
			l := b.FreshLoad(now, f.maxAge)
			if l == nil {
				if !yield(b.ID, 0, 0, 0, false) {
					return
				}
				continue
			}
			running := float64(l.Running)
			if l.Running < 0 && l.SlotsBusy >= 0 {
				running = float64(l.SlotsBusy)
			}
			if !yield(b.ID, running, float64(l.Waiting), l.KVCacheUsage, true) {
				return
			}
		}
	})
	if f.queue != nil {
		m.SetQueueDepth(f.queue.Len)
	}
}

// run reads load signals until ctx ends; it returns at once without a
// poller.
func (f *fleet) run(ctx context.Context) {
	if f.poller != nil {
		f.poller.Run(ctx)
	}
}

// freed tells the queue that a request to a backend ended.
func (f *fleet) freed() {
	if f.queue != nil {
		f.queue.Release()
	}
}

// sessionKey returns the request's session key (X-Nexus-Session-Id,
// X-Claude-Code-Session-Id, the body's prompt_cache_key, or its user when
// routing.affinity_user is on; "" for none) and its queue priority.
func (c *call) sessionKey() (string, routing.Priority) {
	key := c.session
	if key == "" {
		key = c.req.PromptCacheKey
	}
	if key == "" && c.g.fleet.affinityUser {
		key = c.req.User
	}
	if len(key) > maxSessionKey {
		key = key[:maxSessionKey]
	}
	p, _ := routing.ParsePriority(c.r.Header.Get(HeaderPriority))
	return key, p
}

// waitForRoom queues the request when every backend for it is at capacity
// (or others of its model wait already), and routes it again once one has
// room. It returns the route to use; on refusal it has answered and
// reports false: 429 with Retry-After when the queue is full or the wait
// too long, the routing error when nothing can serve the model any more,
// 499 when the client left.
func (c *call) waitForRoom(q routing.Requirements, rt *routing.Route) (*routing.Route, bool) {
	queue := c.g.fleet.queue
	if queue == nil {
		return rt, true
	}
	full := rt.Full()
	if !full && queue.Len() == 0 {
		return rt, true // the common case: no lock, no allocation
	}
	group := rt.Resolved + "\x00" + q.Backend
	if !full && queue.Waiting(group) == 0 {
		return rt, true
	}
	ctx := c.r.Context()
	waited, err := queue.Wait(ctx, routing.Ticket{Priority: q.Priority, Tenant: c.keyName(), Group: group},
		func() bool { return c.g.Router().HasRoom(q) })
	outcome := metrics.QueueServed
	switch {
	case err == nil:
	case errors.Is(err, routing.ErrQueueFull):
		outcome = metrics.QueueRejected
	case errors.Is(err, routing.ErrQueueTimeout):
		outcome = metrics.QueueTimeout
	default:
		outcome = metrics.QueueCancelled
	}
	c.g.metrics.RecordQueueWait(ctx, waited, outcome)
	if outcome == metrics.QueueCancelled {
		c.g.metrics.RecordError(ctx, metrics.ErrorClientClosed, rt.Resolved)
		c.err = "client went away while queued"
		c.finish(499)
		return nil, false
	}
	// Route afresh: backends may have left rotation meanwhile, and then
	// the client hears why (503) rather than to come back later.
	next, rerr := c.g.Router().Route(q)
	if rerr != nil {
		c.routeError(rerr)
		return nil, false
	}
	if outcome == metrics.QueueServed {
		next.MarkQueued()
		return next, true
	}
	retry := queue.RetryAfter()
	c.w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	msg := fmt.Sprintf("Every backend for model '%s' is at capacity and %d requests are waiting already. Retry after %ds.",
		rt.Requested, queue.Len(), int(math.Ceil(retry.Seconds())))
	code := "queue_full"
	if outcome == metrics.QueueTimeout {
		msg = fmt.Sprintf("No backend for model '%s' had room within %s. Retry after %ds.",
			rt.Requested, queue.MaxWait(), int(math.Ceil(retry.Seconds())))
		code = "queue_timeout"
	}
	c.reject(http.StatusTooManyRequests, metrics.ErrorOverloaded, openai.TypeRateLimit, msg, "", code)
	return nil, false
}

// loadInfo describes a load reading for /v1/backends: nil for none, each
// unreported field null, Stale when older than maxAge.
func loadInfo(l *registry.Load, maxAge time.Duration) *api.BackendLoad {
	if l == nil || l.UpdatedAt.IsZero() {
		return nil
	}
	count := func(v int) *int {
		if v < 0 {
			return nil
		}
		return &v
	}
	out := &api.BackendLoad{
		Running:    count(l.Running),
		Waiting:    count(l.Waiting),
		SlotsTotal: count(l.SlotsTotal),
		SlotsBusy:  count(l.SlotsBusy),
		UpdatedAt:  l.UpdatedAt.UTC().Format(time.RFC3339),
		Stale:      !l.Fresh(time.Now(), maxAge),
	}
	if l.KVCacheUsage >= 0 {
		kv := l.KVCacheUsage
		out.KVCacheUsage = &kv
	}
	if l.LoadedModels != nil {
		out.LoadedModels = make([]api.LoadedModel, len(l.LoadedModels))
		for i, m := range l.LoadedModels {
			out.LoadedModels[i] = api.LoadedModel{Name: m.Name, SizeVRAM: m.SizeVRAM, ContextLength: m.ContextLength}
			if !m.ExpiresAt.IsZero() {
				out.LoadedModels[i].ExpiresAt = m.ExpiresAt.UTC().Format(time.RFC3339)
			}
		}
	}
	return out
}

// QueueDepth returns how many requests are waiting for capacity now (0
// when [queue] is off).
func (g *Gateway) QueueDepth() int64 {
	if g.fleet.queue == nil {
		return 0
	}
	return g.fleet.queue.Len()
}
