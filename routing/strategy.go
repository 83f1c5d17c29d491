package routing

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nexusllm/nexus/registry"
)

// Strategy picks one backend among the healthy, capable candidates for a
// model. Implementations must be safe for concurrent use.
//
// candidates holds at least one backend, in registry order. It is read-only
// and may be the registry's own slice: Select must not modify it or keep it
// after returning. Select should return one of the candidates; a nil pick
// means the first candidate. reason is a short word for logs and the
// X-Nexus-Route-Reason header; an empty reason is reported as "custom".
type Strategy interface {
	Select(model string, candidates []*registry.Backend) (pick *registry.Backend, reason string)
}

// StrategyFunc adapts an ordinary function to the Strategy interface.
type StrategyFunc func(model string, candidates []*registry.Backend) (*registry.Backend, string)

// Select calls f(model, candidates).
func (f StrategyFunc) Select(model string, candidates []*registry.Backend) (*registry.Backend, string) {
	return f(model, candidates)
}

// Route reasons reported by the built-in strategies and by Route.Next.
const (
	ReasonHighestScore = "highest_score"
	ReasonRoundRobin   = "round_robin"
	ReasonPriority     = "priority"
	ReasonRandom       = "random"
	// ReasonLeastLoaded: the smart strategy chose by the load the
	// backends reported (see Signals).
	ReasonLeastLoaded = "least_loaded"
	// ReasonWarm: the smart strategy chose a backend that has the model
	// loaded over one that would have to load it first.
	ReasonWarm = "warm"
	// ReasonAffinity: the backend of the request's session (see
	// Requirements.SessionKey and Config.Affinity).
	ReasonAffinity = "affinity"
	// ReasonQueued: the request waited in the gateway's queue for
	// capacity before this attempt (see Route.MarkQueued).
	ReasonQueued = "queued"
	// ReasonFailover marks a later backend for the same model after a
	// failed attempt.
	ReasonFailover = "failover"
	// ReasonFallbackPrefix starts the reason of an attempt on a fallback
	// model: "fallback:<model>".
	ReasonFallbackPrefix = "fallback:"
	// ReasonPinned marks the backend a request was pinned to
	// (Requirements.Backend): the one holding its state.
	ReasonPinned = "pinned"
	// reasonCustom replaces an empty reason from a custom strategy.
	reasonCustom = "custom"
)

// Strategy names accepted by ParseStrategy.
const (
	StrategySmart        = "smart"
	StrategyRoundRobin   = "round_robin"
	StrategyPriorityOnly = "priority_only"
	StrategyRandom       = "random"
)

// ErrUnknownStrategy is wrapped by ParseStrategy for a name it does not
// know.
var ErrUnknownStrategy = errors.New("unknown strategy")

// StrategyNames returns the names ParseStrategy accepts, default first.
func StrategyNames() []string {
	return []string{StrategySmart, StrategyRoundRobin, StrategyPriorityOnly, StrategyRandom}
}

// ParseStrategy returns the built-in strategy named name (case and
// surrounding space are ignored). w is used by "smart" only and is validated
// for it.
func ParseStrategy(name string, w Weights) (Strategy, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case StrategySmart:
		if err := w.Validate(); err != nil {
			return nil, err
		}
		return Smart(w), nil
	case StrategyRoundRobin:
		return RoundRobin(), nil
	case StrategyPriorityOnly:
		return PriorityOnly(), nil
	case StrategyRandom:
		return Random(), nil
	}
	return nil, fmt.Errorf("routing.strategy: %w %q (want one of %s)",
		ErrUnknownStrategy, name, strings.Join(StrategyNames(), ", "))
}

// Weights are the relative importance of priority, load (pending requests)
// and latency in the smart score. They need not sum to 100.
type Weights struct{ Priority, Load, Latency int }

// DefaultWeights returns 50/30/20, the upstream defaults.
func DefaultWeights() Weights { return Weights{Priority: 50, Load: 30, Latency: 20} }

// Validate rejects negative weights and weights that are all zero. It is
// the one weights rule: nexus.Config.Validate applies it too. Every problem
// is reported, one line each, joined with errors.Join.
func (w Weights) Validate() error {
	var errs []error
	for _, f := range [...]struct {
		name string
		v    int
	}{{"priority", w.Priority}, {"load", w.Load}, {"latency", w.Latency}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("routing.weights.%s: must be >= 0 (got %d)", f.name, f.v))
		}
	}
	if w.Priority == 0 && w.Load == 0 && w.Latency == 0 {
		errs = append(errs, errors.New("routing.weights: at least one weight must be positive"))
	}
	return errors.Join(errs...)
}

// Score returns b's smart score, 0..100 for weights summing to 100:
//
//	p = 100 − clamp(priority, 0, 100)
//	l = 100 − min(pending, 100)
//	t = 100 − min(latency in ms / 10, 100)
//	score = (p·Priority + l·Load + t·Latency) / 100
//
// It reads b's live state and is safe for concurrent use. The smart
// strategy puts the engine's reported load in place of pending when that
// is fresh and higher (see Signals).
func (w Weights) Score(b *registry.Backend) int { return w.score(b, b.Pending()) }

// score is Score with load in place of pending.
func (w Weights) score(b *registry.Backend, load int64) int {
	p := 100 - min(max(b.Priority, 0), 100)
	l := 100 - int(min(max(load, 0), 100))
	t := 100 - int(min(b.Latency().Milliseconds()/10, 100))
	return (p*w.Priority + l*w.Load + t*w.Latency) / 100
}
