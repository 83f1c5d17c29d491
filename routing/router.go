package routing

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nexusllm/nexus/registry"
)

// Config configures a Router.
type Config struct {
	// Strategy picks among usable backends; nil means
	// Smart(DefaultWeights()).
	Strategy Strategy
	// MaxRetries is how many more backends are tried for the same model
	// after the first one failed; the same budget applies again to each
	// fallback model. 0 means one backend per model. Negative is an error.
	MaxRetries int
	// Aliases maps a name clients may send to the model to route, resolved
	// up to MaxAliasHops hops. Cycles are an error.
	Aliases map[string]string
	// Fallbacks maps an alias-resolved model to the models to try, in
	// order, when it has no usable backend or all its attempts failed.
	// Fallback entries are neither alias-resolved nor followed to their own
	// fallbacks. Entries equal to the key or repeated are dropped.
	Fallbacks map[string][]string
	// Signals says how the backends' reported load counts (staleness and
	// saturation thresholds); the zero value means the defaults. A Smart
	// strategy given as Strategy reads load with these settings.
	Signals Signals
	// Affinity sends the requests of one session (Requirements.SessionKey)
	// to the same backend, whatever the strategy: the candidate chosen by
	// rendezvous hashing among those with room (see Rendezvous), reason
	// "affinity". False leaves every choice to the strategy.
	Affinity bool
}

// Router routes requests to backends of a registry. It is safe for
// concurrent use and never locks on the request path.
type Router struct {
	reg        *registry.Registry
	strategy   Strategy
	maxRetries int
	aliases    map[string]string
	fallbacks  map[string][]fallback
	known      []string
	sig        Signals // with defaults
	affinity   bool
}

// fallback is one entry of a fallback chain with its precomputed reason.
type fallback struct{ model, reason string }

// New returns a Router over reg. It validates cfg (alias cycles, empty names,
// negative MaxRetries) and copies its maps, so later changes to cfg have no
// effect.
func New(reg *registry.Registry, cfg Config) (*Router, error) {
	if reg == nil {
		return nil, errors.New("routing: nil registry")
	}
	if cfg.MaxRetries < 0 {
		return nil, fmt.Errorf("routing.max_retries: must not be negative, got %d", cfg.MaxRetries)
	}
	if err := ValidateAliases(cfg.Aliases); err != nil {
		return nil, err
	}
	r := &Router{
		reg:        reg,
		strategy:   cfg.Strategy,
		maxRetries: cfg.MaxRetries,
		aliases:    maps.Clone(cfg.Aliases),
		fallbacks:  make(map[string][]fallback, len(cfg.Fallbacks)),
	}
	r.sig, r.affinity = cfg.Signals.withDefaults(), cfg.Affinity
	if r.strategy == nil {
		r.strategy = Smart(DefaultWeights())
	}
	if s, ok := r.strategy.(smart); ok {
		s.sig = r.sig
		r.strategy = s
	}
	if r.aliases == nil {
		r.aliases = map[string]string{}
	}
	known := make(map[string]bool)
	for alias, target := range r.aliases {
		known[alias], known[target] = true, true
	}
	for model, chain := range cfg.Fallbacks {
		if strings.TrimSpace(model) == "" {
			return nil, errors.New("routing.fallbacks: empty model name")
		}
		var list []fallback
		for _, fb := range chain {
			if strings.TrimSpace(fb) == "" {
				return nil, fmt.Errorf("routing.fallbacks.%s: empty fallback model", model)
			}
			if fb == model || slices.ContainsFunc(list, func(f fallback) bool { return f.model == fb }) {
				continue
			}
			list = append(list, fallback{model: fb, reason: ReasonFallbackPrefix + fb})
			known[fb] = true
		}
		if len(list) > 0 {
			r.fallbacks[model] = list
			known[model] = true
		}
	}
	r.known = slices.Sorted(maps.Keys(known))
	return r, nil
}

// Resolve returns model after alias resolution (at most MaxAliasHops hops).
func (r *Router) Resolve(model string) string { return resolveAlias(r.aliases, model) }

// Fallbacks returns a copy of the fallback chain of an alias-resolved model
// (nil when it has none).
func (r *Router) Fallbacks(model string) []string {
	chain := r.fallbacks[model]
	if len(chain) == 0 {
		return nil
	}
	out := make([]string, len(chain))
	for i, f := range chain {
		out[i] = f.model
	}
	return out
}

// MaxRetries returns the configured retry budget per model.
func (r *Router) MaxRetries() int { return r.maxRetries }

// KnownModels returns, sorted and without duplicates, every model name the
// configuration mentions: alias names and targets, fallback keys and
// fallback models. Together with the registry's models it bounds the model
// names worth a metrics label. The slice is a fresh copy.
func (r *Router) KnownModels() []string { return slices.Clone(r.known) }

// Route resolves req.Model through the aliases and chooses the first backend
// to try. The returned Route hands it out on the first call to Next, and
// later backends and fallback models on later calls.
//
// When neither the resolved model nor any of its fallback models has a
// usable backend (healthy, listing the model, meeting req), Route returns an
// *Error whose Kind is decided in this order:
//
//  1. KindModelNotFound (404) when no backend lists the resolved model nor
//     any fallback model, whatever their health. Error.Model is the name the
//     client sent and Available the registry's models.
//  2. KindCapabilityMismatch (400) when at least one healthy backend lists
//     the resolved model or a fallback model: all of them failed the
//     requirements, and Missing names every requirement some of them did not
//     meet. A capability a backend never reported is allowed; a context
//     length of 0 accepts any prompt.
//  3. KindFallbackExhausted (503) when the resolved model has a fallback
//     chain: the models exist but none is available now.
//  4. KindNoHealthyBackend (503) otherwise.
//
// Route is safe for concurrent use; each returned Route belongs to one
// request.
func (r *Router) Route(req Requirements) (*Route, error) {
	rt := r.newRoute(req)
	first, ok := rt.advance()
	if !ok {
		return nil, r.classify(rt)
	}
	rt.first, rt.haveFirst = first, true
	return rt, nil
}

// newRoute returns the plan of req before any choice.
func (r *Router) newRoute(req Requirements) *Route {
	resolved := r.Resolve(req.Model)
	rt := &Route{
		Requested: req.Model,
		Resolved:  resolved,
		r:         r,
		req:       req,
		needEntry: req.needsEntry(),
		fallbacks: r.fallbacks[resolved],
	}
	if req.Backend != "" {
		rt.fallbacks = nil
	}
	rt.tried = rt.triedBuf[:0]
	rt.cands = rt.candBuf[:0]
	rt.room = rt.roomBuf[:0]
	return rt
}

// HasRoom reports whether Route would now find a backend with room for
// req: false only when every usable backend of the first model that has
// any (the resolved model, else the first such fallback model) is at
// capacity. It is true when nothing is usable at all, since waiting for
// capacity would not help (Route then says why). It chooses nothing, so
// round-robin counters do not move; a queue calls it to decide whether a
// waiting request may go.
func (r *Router) HasRoom(req Requirements) bool {
	rt := r.newRoute(req)
	for ; rt.stage <= len(rt.fallbacks); rt.stage++ {
		cands := rt.candidates(rt.stageModel())
		if len(cands) == 0 {
			continue
		}
		for _, b := range cands {
			if !AtCapacity(b) {
				return true
			}
		}
		return false
	}
	return true
}

// classify explains why rt found no usable backend at all; see Route.
func (r *Router) classify(rt *Route) *Error {
	var known, healthy, reached bool
	var unmet lack
	var serves registry.EndpointSet
	check := func(model string) {
		for _, b := range r.reg.Lookup(model) {
			known = true
			if !b.Healthy() {
				continue
			}
			m, ok := b.Model(model)
			if !ok {
				continue
			}
			healthy = true
			serves |= b.Endpoints()
			if !rt.req.reaches(b) {
				continue
			}
			reached = true
			unmet |= rt.req.unmet(m)
		}
	}
	check(rt.Resolved)
	for _, f := range rt.fallbacks {
		check(f.model)
	}
	e := &Error{Model: rt.Requested, Resolved: rt.Resolved}
	switch {
	case !known:
		e.Kind = KindModelNotFound
		e.Available = slices.Clone(r.reg.Models())
	case healthy && !reached && rt.req.Backend == "":
		e.Kind = KindEndpointUnsupported
		e.Served = serves.Names()
	case reached && unmet != 0:
		e.Kind = KindCapabilityMismatch
		e.Missing = unmet.names()
	case len(rt.fallbacks) > 0:
		e.Kind = KindFallbackExhausted
		e.Fallbacks = r.Fallbacks(rt.Resolved)
	default:
		e.Kind = KindNoHealthyBackend
	}
	return e
}
