package routing

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Smart returns the default strategy: the candidate with the highest
// Weights.Score wins; on a tie the earliest candidate in registry order wins.
// Its reason is "highest_score".
//
// It reads the load backends report (see Signals; a Router hands its own
// Config.Signals to a Smart strategy it is given, otherwise the defaults
// apply). With a fresh reading a backend's load is the higher of the
// gateway's in-flight count and what its engine reports (running, waiting
// and KV cache in use), ties go to the less loaded, and the reason is
// "least_loaded". When some candidates report the model loaded (Ollama's
// /api/ps) and others report it is not, only those that have it are
// considered, and the reason is "warm". Without readings it behaves as
// described first.
func Smart(w Weights) Strategy { return smart{w: w, sig: Signals{}.withDefaults()} }

type smart struct {
	w   Weights
	sig Signals
}

func (s smart) Select(model string, candidates []*registry.Backend) (*registry.Backend, string) {
	now := time.Now()
	// One pass keeps two winners: among every candidate, and among those
	// not known to be cold (which win when both kinds are present).
	var all, warm smartPick
	anyLoad, anyCold := false, false
	for _, b := range candidates {
		l := s.sig.fresh(b, now)
		if l == nil {
			sc, load := s.w.score(b, b.Pending()), b.Pending()
			all.offer(b, sc, load, false)
			warm.offer(b, sc, load, false)
			continue
		}
		anyLoad = true
		load := effectiveLoad(b, l)
		sc := s.w.score(b, load)
		loaded, known := l.HasModelLoaded(model)
		all.offer(b, sc, load, true)
		if known && !loaded {
			anyCold = true
			continue
		}
		warm.offer(b, sc, load, true)
		if warm.b == b {
			warm.loaded = loaded
		}
	}
	switch {
	case !anyLoad:
		return all.b, ReasonHighestScore
	case anyCold && warm.b != nil:
		if warm.loaded {
			return warm.b, ReasonWarm
		}
		return warm.b, ReasonLeastLoaded
	}
	return all.b, ReasonLeastLoaded
}

// smartPick is the best candidate seen so far by the smart strategy.
type smartPick struct {
	b      *registry.Backend
	score  int
	load   int64
	loaded bool // b reports the model loaded
}

// offer makes b the pick if it scores higher, or, on a tie between
// backends of which b reported its load, if it is less loaded; otherwise
// the earlier candidate stays.
func (p *smartPick) offer(b *registry.Backend, score int, load int64, reported bool) {
	if p.b == nil || score > p.score || score == p.score && reported && load < p.load {
		p.b, p.score, p.load, p.loaded = b, score, load, false
	}
}

// PriorityOnly returns a strategy that picks the candidate with the lowest
// Priority value; on a tie the earliest in registry order wins. Its reason is
// "priority".
func PriorityOnly() Strategy { return priorityOnly{} }

type priorityOnly struct{}

func (priorityOnly) Select(_ string, candidates []*registry.Backend) (*registry.Backend, string) {
	best := candidates[0]
	for _, b := range candidates[1:] {
		if b.Priority < best.Priority {
			best = b
		}
	}
	return best, ReasonPriority
}

// RoundRobin returns a strategy that cycles through the candidates, with one
// counter per model so that traffic to one model does not skew the rotation
// of another. Counters are created for the models the router asks about,
// which are the registry's, so their number stays bounded. Its reason is
// "round_robin".
func RoundRobin() Strategy { return &roundRobin{} }

type roundRobin struct {
	counters sync.Map // model string → *atomic.Uint64
}

func (r *roundRobin) Select(model string, candidates []*registry.Backend) (*registry.Backend, string) {
	c, ok := r.counters.Load(model)
	if !ok {
		c, _ = r.counters.LoadOrStore(model, new(atomic.Uint64))
	}
	n := c.(*atomic.Uint64).Add(1) - 1
	return candidates[n%uint64(len(candidates))], ReasonRoundRobin
}

// Random returns a strategy that picks a candidate uniformly at random from
// its own generator, seeded at random. Its reason is "random".
func Random() Strategy { return RandomWithSeed(rand.Uint64()) }

// RandomWithSeed is Random with a fixed seed, for reproducible sequences.
func RandomWithSeed(seed uint64) Strategy {
	src := &splitMix{}
	src.state.Store(seed)
	return random{rng: rand.New(src)}
}

type random struct{ rng *rand.Rand }

func (r random) Select(_ string, candidates []*registry.Backend) (*registry.Backend, string) {
	return candidates[r.rng.IntN(len(candidates))], ReasonRandom
}

// splitMix is a SplitMix64 generator whose state advances with one atomic
// add, so a rand.Rand built on it (which keeps no state of its own) is safe
// for concurrent use without a lock.
type splitMix struct{ state atomic.Uint64 }

// Uint64 implements rand.Source.
func (s *splitMix) Uint64() uint64 {
	z := s.state.Add(0x9e3779b97f4a7c15)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
