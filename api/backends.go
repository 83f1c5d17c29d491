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
