package registry

import (
	"strings"
	"time"
)

// Defaults of Load.Saturated, the Gateway API Inference Extension's rule: a
// server is saturated when waiting/5 or kv_usage/0.8 reaches 1.
const (
	DefaultSaturationQueue = 5
	DefaultSaturationKV    = 0.8
)

// Load is a backend's load as its engine last reported it, read by routing
// and shown in /v1/backends. Every numeric field is -1 when the engine did
// not report it (use NewLoad to start from "nothing known"). A Load is
// immutable once passed to Backend.SetLoad: readers share it without locks.
type Load struct {
	// Running is the number of requests the engine is working on; -1 when
	// not reported.
	Running int `json:"running"`
	// Waiting is the number of requests queued inside the engine; -1 when
	// not reported.
	Waiting int `json:"waiting"`
	// KVCacheUsage is the fraction of the KV cache in use, 0..1; -1 when
	// not reported.
	KVCacheUsage float64 `json:"kv_cache_usage"`
	// SlotsTotal and SlotsBusy are a llama.cpp server's slots (its
	// --parallel) and how many are processing; -1 when unknown.
	SlotsTotal int `json:"slots_total"`
	SlotsBusy  int `json:"slots_busy"`
	// LoadedModels are the models an Ollama server has in memory (its
	// /api/ps). nil means unknown (JSON null); an empty slice means none is
	// loaded.
	LoadedModels []LoadedModel `json:"loaded_models"`
	// UpdatedAt is when the reading was taken. The zero time means never,
	// and such a Load is never Fresh.
	UpdatedAt time.Time `json:"updated_at"`
}

// LoadedModel is one model an engine holds in memory.
type LoadedModel struct {
	// Name is the model's name as clients request it (Ollama "name").
	Name string `json:"name"`
	// SizeVRAM is the bytes of it held in GPU memory; 0 means it runs on
	// the CPU or the engine did not say.
	SizeVRAM int64 `json:"size_vram"`
	// ExpiresAt is when the engine will unload it; zero means unknown.
	ExpiresAt time.Time `json:"expires_at"`
	// ContextLength is the context window it was loaded with; 0 means
	// unknown.
	ContextLength int `json:"context_length,omitempty"`
}

// NewLoad returns a reading taken at at in which nothing is known yet:
// every numeric field -1 and LoadedModels nil.
func NewLoad(at time.Time) *Load {
	return &Load{Running: -1, Waiting: -1, KVCacheUsage: -1, SlotsTotal: -1, SlotsBusy: -1, UpdatedAt: at}
}

// Fresh reports whether l is a reading taken no longer than maxAge before
// now. A nil Load or one with a zero UpdatedAt is never fresh; maxAge <= 0
// means any age is fresh. Callers treat a reading that is not fresh as
// absent.
func (l *Load) Fresh(now time.Time, maxAge time.Duration) bool {
	if l == nil || l.UpdatedAt.IsZero() {
		return false
	}
	return maxAge <= 0 || now.Sub(l.UpdatedAt) <= maxAge
}

// HasModelLoaded reports whether the model id is in LoadedModels. known is
// false when l is nil or the engine does not report loaded models; loaded
// is then false too. An Ollama name without a tag matches its ":latest"
// entry.
func (l *Load) HasModelLoaded(id string) (loaded, known bool) {
	if l == nil || l.LoadedModels == nil {
		return false, false
	}
	for _, m := range l.LoadedModels {
		if m.Name == id || (!strings.Contains(id, ":") && m.Name == id+":latest") {
			return true, true
		}
	}
	return false, true
}

// Saturated reports whether the engine has no room for another request
// without queueing it: max(Waiting/queue, KVCacheUsage/kv) >= 1, or every
// llama.cpp slot is busy (its next request waits for a slot to free).
// queue <= 0 means DefaultSaturationQueue and kv <= 0 DefaultSaturationKV.
// Unreported fields do not count, and a nil Load is not saturated: unknown
// load is never a reason to avoid a backend.
func (l *Load) Saturated(queue, kv float64) bool {
	if l == nil {
		return false
	}
	if queue <= 0 {
		queue = DefaultSaturationQueue
	}
	if kv <= 0 {
		kv = DefaultSaturationKV
	}
	if l.Waiting >= 0 && float64(l.Waiting)/queue >= 1 {
		return true
	}
	if l.KVCacheUsage >= 0 && l.KVCacheUsage/kv >= 1 {
		return true
	}
	return l.SlotsTotal > 0 && l.SlotsBusy >= l.SlotsTotal
}

// Load returns the backend's last load reading, nil when none was ever
// taken. It may be stale: check it with Fresh (or use FreshLoad). The
// result is shared and must not be modified.
func (b *Backend) Load() *Load { return b.load.Load() }

// FreshLoad returns the last load reading if it is Fresh at now for
// maxAge, else nil.
func (b *Backend) FreshLoad(now time.Time, maxAge time.Duration) *Load {
	if l := b.load.Load(); l.Fresh(now, maxAge) {
		return l
	}
	return nil
}

// SetLoad publishes l as the backend's load reading; nil forgets it. l
// must not be modified afterwards.
func (b *Backend) SetLoad(l *Load) { b.load.Store(l) }

// MaxConcurrency returns how many requests the backend serves at once:
// Config.MaxConcurrency when set, else the slot count its engine last
// reported (a llama.cpp server's slots are fixed at start, so a stale
// reading still tells), else 0, meaning unknown and unlimited.
func (b *Backend) MaxConcurrency() int {
	if b.maxConcurrency > 0 {
		return b.maxConcurrency
	}
	if l := b.load.Load(); l != nil && l.SlotsTotal > 0 {
		return l.SlotsTotal
	}
	return 0
}
