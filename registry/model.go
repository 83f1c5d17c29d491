package registry

// Capability says whether a model supports a feature. The zero value,
// CapUnknown, means the backend never said; routers treat it as allowed.
type Capability int8

// Capability values.
const (
	CapUnknown Capability = iota
	CapYes
	CapNo
)

// Allows reports whether a request that needs the capability may be sent:
// true unless the backend reported the capability as absent.
func (c Capability) Allows() bool { return c != CapNo }

// Known reports whether the backend reported the capability either way.
func (c Capability) Known() bool { return c != CapUnknown }

// Bool returns true only for CapYes.
func (c Capability) Bool() bool { return c == CapYes }

// CapabilityOf converts a reported boolean into a known Capability.
func CapabilityOf(supported bool) Capability {
	if supported {
		return CapYes
	}
	return CapNo
}

// Model is one model served by a backend.
type Model struct {
	// ID is the name clients send in "model".
	ID string `json:"id"`
	// ContextLength is the context window in tokens; 0 means unknown.
	ContextLength int `json:"context_length,omitempty"`
	// Vision, Tools and JSONMode are the model's capabilities.
	Vision   Capability `json:"-"`
	Tools    Capability `json:"-"`
	JSONMode Capability `json:"-"`
	// Completion says whether the model generates text (chat, completions,
	// responses, messages), Embedding whether it embeds, Insert whether it
	// fills in the middle (a completion with a suffix), as the backend
	// reported them (Ollama's capabilities list): an embedding-only model
	// has Completion CapNo and is not sent generation requests.
	Completion Capability `json:"-"`
	Embedding  Capability `json:"-"`
	Insert     Capability `json:"-"`
	// MaxOutputTokens is the longest completion, 0 when unknown.
	MaxOutputTokens int `json:"max_output_tokens,omitempty"`
}

type modelSet struct {
	list  []Model
	index map[string]int
}

func newModelSet(models []Model) *modelSet {
	ms := &modelSet{list: make([]Model, 0, len(models)), index: make(map[string]int, len(models))}
	for _, m := range models {
		if m.ID == "" {
			continue
		}
		if i, dup := ms.index[m.ID]; dup {
			ms.list[i] = m
			continue
		}
		ms.index[m.ID] = len(ms.list)
		ms.list = append(ms.list, m)
	}
	return ms
}
