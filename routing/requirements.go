package routing

import "github.com/nexusllm/nexus/registry"

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
}

// Capability names reported in Error.Missing, in this order.
const (
	CapabilityVision        = "vision"
	CapabilityTools         = "tools"
	CapabilityJSONMode      = "json_mode"
	CapabilityContextLength = "context_length"
)

// lack is a set of unmet requirements, one bit per capability name.
type lack uint8

const (
	lackVision lack = 1 << iota
	lackTools
	lackJSONMode
	lackContext
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
	} {
		if l&c.bit != 0 {
			out = append(out, c.name)
		}
	}
	return out
}

// needsEntry reports whether checking the request needs the backend's model
// entry at all; a plain request only needs a healthy backend listing the
// model.
func (q *Requirements) needsEntry() bool {
	return q.Vision || q.Tools || q.JSONMode || q.EstimatedTokens > 0
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
	return l
}

// Missing returns the names of the requirements that the model entry does
// not meet (nil when it fits), using the same rules as the router: an
// unknown capability is allowed and a context length of 0 fits any prompt.
func (q Requirements) Missing(m registry.Model) []string { return q.unmet(m).names() }
