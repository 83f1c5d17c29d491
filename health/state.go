package health

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/nexusllm/nexus/registry"
)

// state is what the checker remembers about one backend.
type state struct {
	mu        sync.Mutex
	inflight  *call // the probe running now, nil if none
	successes int   // consecutive successful probes
	failures  int   // consecutive failed probes
	// ownUnhealthy is set while the backend is unhealthy because of the
	// checker's own probes (rather than the gateway's passive health).
	ownUnhealthy bool
	cache        showCache
}

// call is one probe in flight; others may wait for its result.
type call struct {
	done    chan struct{}
	res     Result
	applied bool
}

// Check probes b now and applies the result: status transition, models,
// latency. If a probe of b is already running (from Run or another Check),
// Check starts no second one but waits for that probe and returns its
// result. A result that arrives after ctx is done is still applied when
// the probe succeeded; a failure seen after ctx is done is not counted,
// since the cancellation may have caused it.
func (c *Checker) Check(ctx context.Context, b *registry.Backend) Result {
	st, _ := c.stateFor(b)
	res, _ := c.check(ctx, b, st, true)
	return res
}

// check runs one probe of b and applies it, unless a probe of b is in
// flight: then it waits for that probe's result (join) or returns at once
// with ran false.
func (c *Checker) check(ctx context.Context, b *registry.Backend, st *state, join bool) (res Result, ran bool) {
	for {
		st.mu.Lock()
		cl := st.inflight
		if cl == nil {
			break // still locked
		}
		st.mu.Unlock()
		if !join {
			return Result{}, false
		}
		select {
		case <-cl.done:
			if cl.applied {
				return cl.res, true
			}
			// That probe's caller gave up before it finished; probe anew.
		case <-ctx.Done():
			return Result{Err: fmt.Errorf("health check of %q: %w", b.Name, ctx.Err())}, true
		}
	}
	cl := &call{done: make(chan struct{})}
	st.inflight = cl
	cache := st.cache
	st.mu.Unlock()

	defer func() {
		st.mu.Lock()
		st.inflight = nil
		st.mu.Unlock()
		close(cl.done)
	}()
	res, cache = c.prober.probe(ctx, b, cache)
	cl.res = res
	if !res.OK && ctx.Err() != nil {
		return res, true
	}
	c.apply(b, st, res, cache)
	cl.applied = true
	return res, true
}

// apply records one probe result. Only the goroutine owning the backend's
// in-flight call runs it, so results are applied one at a time and in
// order.
func (c *Checker) apply(b *registry.Backend, st *state, res Result, cache showCache) {
	if res.answered() {
		b.ObserveLatency(res.Latency)
		if c.cfg.OnProbe != nil {
			c.cfg.OnProbe(b, res.Latency)
		}
	}
	if res.OK && res.ModelsParsed && !slices.Equal(res.Models, b.Models()) {
		// Only a backend still registered under this id gets the models;
		// a removed one (or a new backend reusing its id) must not.
		if cur, ok := c.reg.Get(b.ID); ok && cur == b {
			if err := c.reg.SetModels(b.ID, res.Models); err != nil {
				c.cfg.Logger.Debug("health: models not stored", "backend", b.Name, "error", err)
			}
		}
	}
	errText := ""
	if res.Err != nil {
		errText = res.Err.Error()
	}

	from := b.Status()
	st.mu.Lock()
	st.cache = cache
	to := st.decide(from, res.OK, c.cfg)
	st.mu.Unlock()

	c.cfg.Logger.Debug("health probe",
		"backend", b.Name, "ok", res.OK, "status_code", res.StatusCode,
		"latency", res.Latency, "models", len(res.Models), "models_parsed", res.ModelsParsed,
		"error", errText)
	switch {
	case to != from:
		if !b.CompareAndSwapStatus(from, to, errText) {
			// Someone else (an operator's draining, passive health) set
			// the status since this probe read it: theirs stands.
			return
		}
		attrs := []any{"backend", b.Name, "backend_id", b.ID, "from", from.String(), "to", to.String()}
		if errText != "" {
			attrs = append(attrs, "error", errText)
		}
		c.cfg.Logger.Info("backend status changed", attrs...)
		if c.cfg.OnChange != nil {
			c.cfg.OnChange(b, from, to)
		}
	case !res.OK && from == registry.StatusUnhealthy:
		b.CompareAndSwapStatus(registry.StatusUnhealthy, registry.StatusUnhealthy, errText) // keep the reason current
	}
}

// decide advances the counters by one probe outcome and returns the status
// the backend should have now. from is the backend's current status as
// stored in the registry, so changes made by others (the gateway's passive
// health, discovery, an operator) are honoured:
//
//   - Unknown becomes Healthy on a success and Unhealthy on a failure.
//   - Healthy becomes Unhealthy after FailureThreshold consecutive failures.
//   - Unhealthy becomes Healthy after RecoveryThreshold consecutive
//     successes if the checker itself made it unhealthy; if someone else
//     did, one success is enough.
//   - Draining is never changed.
func (st *state) decide(from registry.Status, ok bool, cfg Config) registry.Status {
	if from != registry.StatusUnhealthy {
		st.ownUnhealthy = false
	}
	to := from
	if ok {
		st.failures = 0
		st.successes++
		switch from {
		case registry.StatusUnknown:
			to = registry.StatusHealthy
		case registry.StatusUnhealthy:
			if !st.ownUnhealthy || st.successes >= cfg.RecoveryThreshold {
				to = registry.StatusHealthy
			}
		}
	} else {
		st.successes = 0
		st.failures++
		switch from {
		case registry.StatusUnknown:
			to = registry.StatusUnhealthy
		case registry.StatusHealthy:
			if st.failures >= cfg.FailureThreshold {
				to = registry.StatusUnhealthy
			}
		case registry.StatusUnhealthy:
			// Ejected by someone else, and the probes agree by now.
			if st.failures >= cfg.FailureThreshold {
				st.ownUnhealthy = true
			}
		}
	}
	switch to {
	case registry.StatusUnhealthy:
		if from != registry.StatusUnhealthy {
			st.ownUnhealthy = true
		}
	case registry.StatusHealthy:
		st.ownUnhealthy = false
	}
	return to
}
