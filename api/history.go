package api

import "time"

// HistoryEntry is one finished request as the history, the dashboard and
// GET /v1/history (a JSON array of them, oldest first) show it.
type HistoryEntry struct {
	// Time is when the request arrived (RFC 3339 with nanoseconds in JSON).
	Time time.Time `json:"timestamp"`
	// RequestID is the X-Request-Id the client got.
	RequestID string `json:"request_id"`
	// Endpoint is the API the client called ("chat", "completions",
	// "embeddings", "rerank", "responses", "messages", "count_tokens", …).
	Endpoint string `json:"endpoint"`
	// Model is the model the client asked for.
	Model string `json:"model"`
	// ActualModel is the model that served the request (an alias target or
	// a fallback); "" when no backend was tried.
	ActualModel string `json:"actual_model"`
	// Backend is the name of the backend that served or last failed the
	// request; "" when no backend was tried.
	Backend string `json:"backend"`
	// Key is the configured name of the client's API key; "" when the
	// gateway has no keys.
	Key string `json:"key,omitempty"`
	// Session is the client's session id (X-Nexus-Session-Id or
	// X-Claude-Code-Session-Id); "" when it sent none.
	Session string `json:"session,omitempty"`
	// Status is the HTTP status the client got; 499 means the client went
	// away first.
	Status int `json:"status"`
	// DurationMS is the time from arrival to the end of the response.
	DurationMS float64 `json:"duration_ms"`
	// PromptTokens and CompletionTokens are the usage the backend reported
	// (0 when it reported none).
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	// Stream is true for a streaming (SSE) request.
	Stream bool `json:"stream"`
	// Fallback is true when a fallback model served the request.
	Fallback bool `json:"fallback"`
	// Translated is true when the gateway translated between the client's
	// API and the backend's (Anthropic Messages and OpenAI chat).
	Translated bool `json:"translated,omitempty"`
	// RouteReason says why the backend was chosen.
	RouteReason string `json:"route_reason,omitempty"`
	// Attempts counts the backends tried (0 when routing failed).
	Attempts int `json:"attempts"`
	// Error is the error message the client got, at most
	// MaxHistoryErrorBytes.
	Error string `json:"error,omitempty"`
}

// MaxHistoryErrorBytes is the longest error message a HistoryEntry keeps.
const MaxHistoryErrorBytes = 1024
