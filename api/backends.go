package api

// BackendList is the body of GET /v1/backends.
type BackendList struct {
	Backends []Backend `json:"backends"`
}

// Backend is one backend as the admin API and the dashboard report it. It
// never carries the backend's API key, and its URL carries no credentials,
// query or fragment.
type Backend struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	Type     string `json:"type"`     // ollama, vllm, llamacpp, sglang, exo, openai, lmstudio, anthropic or generic
	Status   string `json:"status"`   // healthy, unhealthy, unknown or draining
	Priority int    `json:"priority"` // lower is preferred
	Source   string `json:"source"`   // static, mdns or manual
	// Endpoints lists the inference APIs the backend serves natively.
	Endpoints []string `json:"endpoints"`
	Pending   int64    `json:"pending"`  // requests in flight now
	Requests  uint64   `json:"requests"` // requests forwarded so far
	// LatencyMS is the moving average of health-probe latency in
	// milliseconds; 0 until a probe got an answer.
	LatencyMS float64 `json:"latency_ms"`
	// LastError is why the backend last failed, null when it has not failed
	// since it was last healthy.
	LastError *string `json:"last_error"`
	// LastCheck is when the status was last set, RFC 3339 in UTC.
	LastCheck string         `json:"last_check"`
	Models    []BackendModel `json:"models"`
	// Load is what the backend's engine last reported about its load,
	// null when it was never read (its type reports nothing, or signals
	// are off).
	Load *BackendLoad `json:"load"`
	// MaxConcurrency is how many requests the backend serves at once (as
	// configured, else its reported slots); 0 means unknown, unlimited.
	MaxConcurrency int `json:"max_concurrency"`
}

// BackendLoad is a backend's last load reading. A field the engine does
// not report is null.
type BackendLoad struct {
	// Running and Waiting are the requests the engine is working on and
	// those it has queued.
	Running *int `json:"running"`
	Waiting *int `json:"waiting"`
	// KVCacheUsage is the fraction of its KV cache in use, 0..1.
	KVCacheUsage *float64 `json:"kv_cache_usage"`
	// SlotsTotal and SlotsBusy are a llama.cpp server's slots and those
	// processing.
	SlotsTotal *int `json:"slots_total"`
	SlotsBusy  *int `json:"slots_busy"`
	// LoadedModels are the models the engine holds in memory (Ollama's
	// /api/ps); null when it does not say, empty when none is loaded.
	LoadedModels []LoadedModel `json:"loaded_models"`
	// UpdatedAt is when the reading was taken, RFC 3339 in UTC.
	UpdatedAt string `json:"updated_at"`
	// Stale is set when the reading is too old to count for routing.
	Stale bool `json:"stale"`
}

// LoadedModel is one model an engine holds in memory.
type LoadedModel struct {
	Name string `json:"name"`
	// SizeVRAM is the bytes of it in GPU memory; 0 when on the CPU or not
	// said.
	SizeVRAM int64 `json:"size_vram"`
	// ExpiresAt is when the engine will unload it, RFC 3339 in UTC; empty
	// when unknown.
	ExpiresAt string `json:"expires_at,omitempty"`
	// ContextLength is the context it was loaded with; 0 when unknown.
	ContextLength int `json:"context_length,omitempty"`
}

// BackendModel is one model a backend serves.
type BackendModel struct {
	ID string `json:"id"`
	// ContextLength is the context window in tokens, 0 when unknown.
	ContextLength int          `json:"context_length"`
	Capabilities  Capabilities `json:"capabilities"`
}

// AddBackend is the body of POST /v1/backends. Type is detected when
// empty; Priority defaults to 50. A backend's API key cannot be set through
// the API: configure api_key_env in the file instead.
type AddBackend struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Type     string `json:"type,omitempty"`
	Priority *int   `json:"priority,omitempty"`
	// Endpoints, when set, replaces the type's default endpoints.
	Endpoints []string `json:"endpoints,omitempty"`
}
