package routing

import (
	"strings"

	"github.com/nexusllm/nexus/registry"
)

// Requirements is what a request needs from a backend, extracted by the
// caller from the request body.
type Requirements struct {
	// Model is the model name exactly as the client sent it.
	Model string
	// Vision is set when any message has an image_url content part.
	Vision bool
	// Tools is set when the request carries a non-empty tools list.
	Tools bool
	// JSONMode is set when response_format asks for json_object or
	// json_schema.
	JSONMode bool
	// EstimatedTokens is the estimated prompt size in tokens; 0 means
	// unknown and disables the context-length check.
	EstimatedTokens int
	// Endpoints are the backend endpoints any of which can serve the
	// request (for example chat, or messages through translation); a
	// backend serving none of them is skipped. The empty set accepts every
	// backend.
	Endpoints registry.EndpointSet
	// Generation is set when the model must generate text (chat,
	// completions, responses, messages): a model reported as not
	// generating (embedding-only) is skipped.
	Generation bool
	// Embedding is set for embeddings: a model reported as not embedding
	// is skipped.
	Embedding bool
	// Insert is set for fill-in-the-middle (a completion with a suffix): a
	// model reported as unable to insert is skipped.
	Insert bool
	// Backend, when set, pins the request to the backend with that ID (a
	// follow-up of a stateful request such as previous_response_id); no
	// other backend and no fallback model is tried.
	Backend string
	// SessionKey identifies the conversation the request belongs to (a
	// session header, prompt_cache_key or user). When the Router has
	// affinity on, requests of one session go to the same backend (see
	// Config.Affinity); "" means no session.
	SessionKey string
	// Priority orders the request in the gateway's queue (see Queue); the
	// zero value is PriorityNormal. Routing itself ignores it.
	Priority Priority
}

// Priority is a request's place in the queue: higher goes first.
type Priority int8

// Priorities, as X-Nexus-Priority names them (high, normal, low).
const (
	PriorityLow    Priority = -1
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

// ParsePriority reads "high", "normal" or "low" (case and surrounding
// space ignored). ok is false for anything else, and p is then
// PriorityNormal.
func ParsePriority(s string) (p Priority, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "high":
		return PriorityHigh, true
	case "normal":
		return PriorityNormal, true
	case "low":
		return PriorityLow, true
	}
	return PriorityNormal, false
}

// String returns "high", "normal" or "low"; a value out of range reads as
// the nearest of them.
func (p Priority) String() string {
	switch {
	case p > 0:
		return "high"
	case p < 0:
		return "low"
	}
	return "normal"
}

// Capability names reported in Error.Missing, in this order.
const (
	CapabilityVision        = "vision"
	CapabilityTools         = "tools"
	CapabilityJSONMode      = "json_mode"
	CapabilityContextLength = "context_length"
	CapabilityGeneration    = "completion"
	CapabilityEmbedding     = "embedding"
	CapabilityInsert        = "insert"
)

// lack is a set of unmet requirements, one bit per capability name.
type lack uint8

const (
	lackVision lack = 1 << iota
	lackTools
	lackJSONMode
	lackContext
	lackGeneration
	lackEmbedding
	lackInsert
)

// names returns the capability names in the set, in the documented order.
func (l lack) names() []string {
	var out []string
	for _, c := range [...]struct {
		bit  lack
		name string
	}{
		{lackVision, CapabilityVision},
		{lackTools, CapabilityTools},
		{lackJSONMode, CapabilityJSONMode},
		{lackContext, CapabilityContextLength},
		{lackGeneration, CapabilityGeneration},
		{lackEmbedding, CapabilityEmbedding},
		{lackInsert, CapabilityInsert},
	} {
		if l&c.bit != 0 {
			out = append(out, c.name)
		}
	}
	return out
}

// reaches reports whether b may be sent the request at all: it serves one
// of the acceptable endpoints and is the pinned backend, if any.
func (q *Requirements) reaches(b *registry.Backend) bool {
	if q.Endpoints != 0 && registry.EndpointSet(b.Endpoints())&q.Endpoints == 0 {
		return false
	}
	return q.Backend == "" || b.ID == q.Backend
}

// needsEntry reports whether checking the request needs the backend's model
// entry at all; a plain request only needs a healthy backend listing the
// model.
func (q *Requirements) needsEntry() bool {
	return q.Vision || q.Tools || q.JSONMode || q.EstimatedTokens > 0 || q.Generation || q.Embedding || q.Insert
}

// unmet returns the requirements that the model entry does not meet. An
// unknown capability counts as met; only a reported CapNo is unmet. A context
// length of 0 (unknown) accepts any prompt.
func (q *Requirements) unmet(m registry.Model) lack {
	var l lack
	if q.Vision && !m.Vision.Allows() {
		l |= lackVision
	}
	if q.Tools && !m.Tools.Allows() {
		l |= lackTools
	}
	if q.JSONMode && !m.JSONMode.Allows() {
		l |= lackJSONMode
	}
	if q.EstimatedTokens > 0 && m.ContextLength > 0 && m.ContextLength < q.EstimatedTokens {
		l |= lackContext
	}
	if q.Generation && !m.Completion.Allows() {
		l |= lackGeneration
	}
	if q.Embedding && !m.Embedding.Allows() {
		l |= lackEmbedding
	}
	if q.Insert && !m.Insert.Allows() {
		l |= lackInsert
	}
	return l
}

// Missing returns the names of the requirements that the model entry does
// not meet (nil when it fits), using the same rules as the router: an
// unknown capability is allowed and a context length of 0 fits any prompt.
func (q Requirements) Missing(m registry.Model) []string { return q.unmet(m).names() }
