package routing

import (
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Attempt is one backend to send the request to.
type Attempt struct {
	// Backend receives the request.
	Backend *registry.Backend
	// Model is the model to put in the forwarded body: the alias-resolved
	// model or a fallback model.
	Model string
	// Fallback is set when Model is a fallback model.
	Fallback bool
	// Reason says why this backend: the strategy's reason on the first
	// attempt, "failover" for a later backend of the same model and
	// "fallback:<model>" for any attempt on a fallback model.
	Reason string
	// Number is the 1-based attempt number within the request.
	Number int
}

// Route is the routing plan of one request, created by Router.Route. It is
// not safe for concurrent use.
type Route struct {
	// Requested is the model the client sent.
	Requested string
	// Resolved is Requested after alias resolution.
	Resolved string

	r         *Router
	req       Requirements
	needEntry bool       // req needs each backend's model entry checked
	fallbacks []fallback // chain of Resolved, shared and read-only

	stage      int // 0: Resolved; i > 0: fallbacks[i-1]
	inStage    int // backends handed out for the current stage
	stageStart int // index in tried where the current stage begins
	attempts   int // attempts returned by Next

	first     Attempt // chosen by Router.Route, returned by the first Next
	haveFirst bool
	full      bool // the first attempt's candidates were all at capacity

	tried    []*registry.Backend // every backend chosen, in order
	cands    []*registry.Backend // scratch for filtered candidates
	triedBuf [4]*registry.Backend
	candBuf  [8]*registry.Backend
	room     []*registry.Backend // scratch for the candidates with room
	roomBuf  [8]*registry.Backend
}

// Next returns the next attempt, or ok=false when nothing is left to try.
//
// The first call returns the backend chosen by Router.Route. Each later call,
// made after the previous attempt failed, returns the strategy's pick among
// the usable backends of the same model that were not tried yet, up to
// 1+MaxRetries backends for that model; then the fallback models in order,
// each again with up to 1+MaxRetries backends. Health, load and models are
// read afresh at each call, so a backend taken out of rotation meanwhile is
// skipped. A backend tried for one model may be tried again for a fallback
// model.
func (rt *Route) Next() (Attempt, bool) {
	var a Attempt
	if rt.haveFirst {
		a, rt.haveFirst = rt.first, false
	} else {
		var ok bool
		if a, ok = rt.advance(); !ok {
			return Attempt{}, false
		}
	}
	rt.attempts++
	a.Number = rt.attempts
	return a, true
}

// Attempts returns how many attempts Next has handed out so far.
func (rt *Route) Attempts() int { return rt.attempts }

// Full reports whether the first attempt was chosen among backends that
// are all at capacity (see AtCapacity): the request would exceed every
// candidate's max concurrency, and a gateway with a queue should wait for
// room (Router.HasRoom) and route again.
func (rt *Route) Full() bool { return rt.full }

// MarkQueued records that the request waited in the gateway's queue before
// this route was planned: the first attempt's reason becomes "queued". It
// has no effect once Next was called.
func (rt *Route) MarkQueued() {
	if rt.haveFirst {
		rt.first.Reason = ReasonQueued
	}
}

// Tried returns the backends handed out so far, in order. The slice is
// read-only and valid until the next call to Next.
func (rt *Route) Tried() []*registry.Backend { return rt.tried[:rt.attempts] }

// advance chooses the next backend, moving through the stages until one
// has a usable backend that was not tried for its model.
func (rt *Route) advance() (Attempt, bool) {
	limit := 1 + rt.r.maxRetries
	now := time.Now()
	for ; rt.stage <= len(rt.fallbacks); rt.nextStage() {
		if rt.inStage >= limit {
			continue
		}
		model := rt.stageModel()
		cands := rt.candidates(model)
		if len(cands) == 0 {
			continue
		}
		cands, class := rt.withRoom(cands, now)
		var b *registry.Backend
		var reason string
		if rt.r.affinity && rt.req.SessionKey != "" {
			b, reason = rt.r.sig.affinityPick(rt.req.SessionKey, model, cands, now), ReasonAffinity
		} else if b, reason = rt.r.strategy.Select(model, cands); b == nil {
			b = cands[0]
		}
		if len(rt.tried) == 0 {
			rt.full = class == roomFull
		}
		switch {
		case rt.req.Backend != "":
			reason = ReasonPinned
		case rt.stage > 0:
			reason = rt.fallbacks[rt.stage-1].reason
		case len(rt.tried) > 0:
			reason = ReasonFailover
		case reason == "":
			reason = reasonCustom
		}
		rt.inStage++
		rt.tried = append(rt.tried, b)
		return Attempt{Backend: b, Model: model, Fallback: rt.stage > 0, Reason: reason}, true
	}
	return Attempt{}, false
}

// stageModel is the model of the current stage.
func (rt *Route) stageModel() string {
	if rt.stage > 0 {
		return rt.fallbacks[rt.stage-1].model
	}
	return rt.Resolved
}

// withRoom narrows cands to those of the best room class (free, then
// saturated, then full) and returns that class: a backend at capacity or
// saturated is not chosen while another has room.
func (rt *Route) withRoom(cands []*registry.Backend, now time.Time) ([]*registry.Backend, int) {
	sig := &rt.r.sig
	best, mixed := roomFull+1, false
	for i, b := range cands {
		c := sig.room(b, now)
		if i > 0 && c != best {
			mixed = true
		}
		best = min(best, c)
	}
	if !mixed {
		return cands, best
	}
	if cap(rt.room) < len(cands) {
		rt.room = make([]*registry.Backend, 0, len(cands))
	}
	out := rt.room[:0]
	for _, b := range cands {
		if sig.room(b, now) == best {
			out = append(out, b)
		}
	}
	if len(out) == 0 { // the state moved between the two passes
		return cands, best
	}
	rt.room = out
	return out, best
}

// nextStage moves to the next model of the chain.
func (rt *Route) nextStage() {
	rt.stage++
	rt.inStage = 0
	rt.stageStart = len(rt.tried)
}

// candidates returns the usable backends for model not yet tried for it, in
// registry order. When all of the registry's backends for model qualify it
// returns the registry's own (read-only) slice without copying.
func (rt *Route) candidates(model string) []*registry.Backend {
	all := rt.r.reg.Lookup(model)
	tried := rt.tried[rt.stageStart:]
	for i, b := range all {
		if rt.usable(b, model) && !contains(tried, b) {
			continue
		}
		if cap(rt.cands) < len(all) {
			rt.cands = make([]*registry.Backend, 0, len(all))
		}
		out := append(rt.cands[:0], all[:i]...)
		for _, b := range all[i+1:] {
			if rt.usable(b, model) && !contains(tried, b) {
				out = append(out, b)
			}
		}
		rt.cands = out
		return out
	}
	return all
}

// usable reports whether b may receive the request for model: it is healthy
// and, when the request needs anything, its entry for model meets it.
func (rt *Route) usable(b *registry.Backend, model string) bool {
	if !(b.Healthy() || b.HalfOpenReady()) || !rt.req.reaches(b) {
		return false
	}
	if !rt.needEntry {
		return true
	}
	m, ok := b.Model(model)
	return ok && rt.req.unmet(m) == 0
}

func contains(list []*registry.Backend, b *registry.Backend) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}
