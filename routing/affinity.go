package routing

import (
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Session affinity by rendezvous (highest-random-weight) hashing: each
// (session key, backend ID) pair gets a pseudo-random weight from a fixed
// hash, and the session goes to the candidate of the highest weight. The
// hash has no seed, so every gateway instance agrees without sharing state;
// a backend that joins takes only the sessions it now wins, and one that
// leaves (or is full, saturated or unhealthy, and so not a candidate) gives
// only its own sessions to their next-highest backend.

// Rendezvous returns the candidate that the session key maps to by
// rendezvous hashing over the backends' IDs, nil when candidates is empty.
// The answer depends only on key and the set of IDs, never on their order
// or on the process.
func Rendezvous(key string, candidates []*registry.Backend) *registry.Backend {
	hk := fnv64(key)
	var best *registry.Backend
	var bestW uint64
	for _, b := range candidates {
		w := mix64(hk ^ mix64(fnv64(b.ID)))
		if best == nil || w > bestW || w == bestW && b.ID < best.ID {
			best, bestW = b, w
		}
	}
	return best
}

// affinityPick is the session's backend among candidates (which all have
// the same room class). When fresh readings show that some candidates have
// the model loaded and others would have to load it, only the former are
// hashed over: a cold model load costs far more than a cold prompt cache.
func (s *Signals) affinityPick(key, model string, candidates []*registry.Backend, now time.Time) *registry.Backend {
	hk := fnv64(key)
	var best, bestCold *registry.Backend
	var bestW, bestColdW uint64
	for _, b := range candidates {
		w := mix64(hk ^ mix64(fnv64(b.ID)))
		if l := s.fresh(b, now); l != nil && cold(l, model) {
			if bestCold == nil || w > bestColdW || w == bestColdW && b.ID < bestCold.ID {
				bestCold, bestColdW = b, w
			}
			continue
		}
		if best == nil || w > bestW || w == bestW && b.ID < best.ID {
			best, bestW = b, w
		}
	}
	if best == nil {
		return bestCold
	}
	return best
}

// fnv64 is 64-bit FNV-1a: fixed, so hashes agree across processes.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix64 is the SplitMix64 finalizer: it spreads the combined hash so that
// weights of different backends for one key are independent.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
