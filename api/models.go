package api

// ModelList is the body of GET /v1/models in OpenAI's shape: one entry per
// (model, healthy backend), sorted by model id then backend name.
type ModelList struct {
	Object string  `json:"object"` // always "list"
	Data   []Model `json:"data"`
}

// Model is one entry of ModelList, and the body of GET /v1/models/{id}
// (where it describes the model across all its healthy backends: OwnedBy
// names the first, Backends all of them).
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // always "model"
	Created int64  `json:"created"`
	// OwnedBy is the name of the backend that serves the model.
	OwnedBy string `json:"owned_by"`
	// ContextLength is the context window in tokens; omitted when unknown.
	ContextLength int          `json:"context_length,omitempty"`
	Capabilities  Capabilities `json:"capabilities"`
	// Endpoints lists the inference APIs the backend serves for the model
	// natively ("chat", "completions", "embeddings", "rerank", "responses",
	// "messages").
	Endpoints []string `json:"endpoints,omitempty"`
	// Backends lists every healthy backend serving the model; only set by
	// GET /v1/models/{id}.
	Backends []string `json:"backends,omitempty"`
}

// Capabilities are a model's features. A capability the backend never
// reported is false here but still allowed by routing; Kinds lists only
// what the backend reported.
type Capabilities struct {
	Vision   bool `json:"vision"`
	Tools    bool `json:"tools"`
	JSONMode bool `json:"json_mode"`
	// Kinds lists the model kinds the backend reported: "completion"
	// (generates text), "embedding", "insert" (fill-in-the-middle). Empty
	// when it reported none, which routing treats as "anything".
	Kinds []string `json:"kinds,omitempty"`
}

// AnthropicModelList is the body of GET /v1/models for a client that sends
// anthropic-version (Claude Code discovering models): one entry per model,
// in Anthropic's list shape.
type AnthropicModelList struct {
	Data    []AnthropicModel `json:"data"`
	HasMore bool             `json:"has_more"`
	FirstID *string          `json:"first_id"` // null for an empty list
	LastID  *string          `json:"last_id"`  // null for an empty list
}

// AnthropicModel is one entry of AnthropicModelList.
type AnthropicModel struct {
	Type        string `json:"type"` // always "model"
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"` // RFC 3339
}
