package nexustest

import (
	"slices"
	"time"
)

// engineCounters are the running totals behind EngineStats. Guarded by
// Engine.mu.
type engineCounters struct {
	received, served, canceled, rejected int64
	maxRunning, maxWaiting               int
	coldLoads, evictions                 int64
	promptTokens, cachedTokens           int64
	completionTokens                     int64
	loadTime, prefillTime, decodeTime    time.Duration
}

// EngineStats is a snapshot of an Engine's state and totals. Durations are
// simulated time (what the configuration charged, before TimeScale), so
// tests can assert them exactly.
type EngineStats struct {
	// Received counts chat requests that were valid and entered the queue.
	Received int64
	// Served counts replies sent in full.
	Served int64
	// Canceled counts requests whose client left before the end (Close
	// does not count).
	Canceled int64
	// Rejected counts malformed requests and unknown models.
	Rejected int64

	// Running is the number of busy slots now (loading, prefilling or
	// decoding); Waiting the number of requests queued for a slot now.
	Running, Waiting int
	// MaxRunning and MaxWaiting are the highest values seen.
	MaxRunning, MaxWaiting int

	// ColdLoads counts model loads; Evictions models unloaded to make
	// room under MaxLoaded.
	ColdLoads, Evictions int64
	// Loaded lists the resident models, most recently used first.
	Loaded []string

	// PromptTokens counts prompt tokens of requests whose prefill
	// completed, CachedTokens those of them served from the prefix cache,
	// CompletionTokens the output tokens decoded.
	PromptTokens, CachedTokens, CompletionTokens int64
	// CacheBlocks is the number of blocks in the prefix cache now.
	CacheBlocks int
	// KVUsage is the fraction (0–1) of the KV capacity held by the
	// sequences in the slots now; see Engine's /metrics.
	KVUsage float64

	// LoadTime, PrefillTime and DecodeTime are the simulated time spent
	// loading models, prefilling uncached prompt tokens and decoding.
	LoadTime, PrefillTime, DecodeTime time.Duration
}

// Stats returns a snapshot of the engine's state and totals.
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.st
	st := EngineStats{
		Received: c.received, Served: c.served, Canceled: c.canceled, Rejected: c.rejected,
		Running: e.busy, Waiting: len(e.queue), MaxRunning: c.maxRunning, MaxWaiting: c.maxWaiting,
		ColdLoads: c.coldLoads, Evictions: c.evictions, Loaded: e.loadedModels(),
		PromptTokens: c.promptTokens, CachedTokens: c.cachedTokens, CompletionTokens: c.completionTokens,
		LoadTime: c.loadTime, PrefillTime: c.prefillTime, DecodeTime: c.decodeTime,
	}
	if e.cache != nil {
		st.CacheBlocks = e.cache.Len()
	}
	_, st.KVUsage = e.kvUsage()
	return st
}

// loadedModels returns the resident models, most recently used first.
// e.mu is held.
func (e *Engine) loadedModels() []string {
	var ms []*engineModel
	for _, name := range e.order {
		if m := e.models[name]; m.loaded {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b *engineModel) int {
		switch {
		case a.lastUsed > b.lastUsed:
			return -1
		case a.lastUsed < b.lastUsed:
			return 1
		}
		return 0
	})
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	return out
}

// kvUsage returns the tokens the busy slots hold (prompt plus decoded) and
// the fraction of the KV capacity their blocks take: CacheBlocks blocks, or
// Slots × ContextLength tokens without a prefix cache. e.mu is held.
func (e *Engine) kvUsage() (tokens int, usage float64) {
	blocks := 0
	for _, s := range e.slots {
		if s.busy {
			n := s.prompt + int(s.decoded.Load())
			tokens += n
			blocks += engineBlocks(n)
		}
	}
	return tokens, min(float64(blocks)/float64(e.cfg.kvBlocks), 1)
}
