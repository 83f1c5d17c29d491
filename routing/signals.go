package routing

import (
	"time"

	"github.com/nexusllm/nexus/registry"
)

// DefaultSignalMaxAge is how old a backend's reported load may be before
// routing treats it as absent, when Signals.MaxAge is 0: three reads at the
// signals package's default interval.
const DefaultSignalMaxAge = 3 * time.Second

// Signals says how routing reads what backends report about their load
// (registry.Backend.Load, published by package signals or by an embedder
// with Backend.SetLoad). The zero value means every default.
//
// Every strategy is handed only candidates with room when some have room
// (see Router.Route); the smart strategy also scores by the fresh reading
// and prefers backends that have the model loaded. A custom Strategy reads
// the same facts itself: b.FreshLoad(time.Now(), maxAge), b.Pending() and
// b.MaxConcurrency().
type Signals struct {
	// MaxAge is how old a reading may be and still count; an older one is
	// ignored, as if the backend reported nothing. 0 means
	// DefaultSignalMaxAge; negative means reported load is never used
	// (capacity then comes from MaxConcurrency and the gateway's own
	// in-flight count alone).
	MaxAge time.Duration
	// SaturationQueue and SaturationKV are the thresholds of
	// registry.Load.Saturated (requests waiting in the engine, fraction of
	// its KV cache in use); 0 means the registry's defaults (5 and 0.8).
	SaturationQueue, SaturationKV float64
}

func (s Signals) withDefaults() Signals {
	if s.MaxAge == 0 {
		s.MaxAge = DefaultSignalMaxAge
	}
	return s
}

// fresh returns b's reading if it counts at now, else nil.
func (s *Signals) fresh(b *registry.Backend, now time.Time) *registry.Load {
	if s.MaxAge < 0 {
		return nil
	}
	return b.FreshLoad(now, s.MaxAge)
}

// Room classes of a candidate, best first.
const (
	roomFree      = iota // below capacity and not saturated
	roomSaturated        // below capacity, but its engine reports saturation
	roomFull             // at capacity: the gateway's in-flight count ≥ MaxConcurrency
)

// AtCapacity reports whether b already has as many requests in flight from
// this gateway as it can serve at once (b.MaxConcurrency(), when known).
func AtCapacity(b *registry.Backend) bool {
	m := b.MaxConcurrency()
	return m > 0 && b.Pending() >= int64(m)
}

// room classifies b at now.
func (s *Signals) room(b *registry.Backend, now time.Time) int {
	if AtCapacity(b) {
		return roomFull
	}
	if l := s.fresh(b, now); l != nil && l.Saturated(s.SaturationQueue, s.SaturationKV) {
		return roomSaturated
	}
	return roomFree
}

// cold reports whether b would have to load model first: its fresh reading
// lists the loaded models and model is not among them. An engine that does
// not report loaded models is never cold.
func cold(l *registry.Load, model string) bool {
	loaded, known := l.HasModelLoaded(model)
	return known && !loaded
}

// reportedLoad is the load an engine's reading stands for, in requests:
// running (or busy slots) plus twice the waiting ones, since a waiting
// request delays its first token while a running one only shares decode
// time; the KV cache in use adds up to 10 more. -1 when the reading tells
// nothing about requests.
func reportedLoad(l *registry.Load) int64 {
	var n int64
	known := false
	switch {
	case l.Running >= 0:
		n, known = int64(l.Running), true
	case l.SlotsBusy >= 0:
		n, known = int64(l.SlotsBusy), true
	}
	if l.Waiting >= 0 {
		n, known = n+2*int64(l.Waiting), true
	}
	if l.KVCacheUsage >= 0 {
		n, known = n+int64(min(l.KVCacheUsage, 1)*10), true
	}
	if !known {
		return -1
	}
	return n
}

// effectiveLoad is b's load for scoring: the gateway's own in-flight count,
// or the engine's reported load when that is higher (it sees other
// clients' requests and its own queue).
func effectiveLoad(b *registry.Backend, l *registry.Load) int64 {
	n := b.Pending()
	if l != nil {
		n = max(n, reportedLoad(l))
	}
	return n
}
