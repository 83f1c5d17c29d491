package api

// Health is the body of GET /health.
type Health struct {
	// Status is "healthy" when every backend is healthy, "degraded" when
	// some are, "unhealthy" when none are (or there are none).
	Status        string         `json:"status"`
	UptimeSeconds int64          `json:"uptime_seconds"`
	Backends      BackendsHealth `json:"backends"`
	// Models counts distinct models on healthy backends.
	Models int `json:"models"`
}

// BackendsHealth counts backends by health.
type BackendsHealth struct {
	Total     int `json:"total"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// Ready is the body of GET /ready.
type Ready struct {
	// Status is "ready" or "not_ready".
	Status string `json:"status"`
	// Reason says why the gateway is not ready; empty when it is.
	Reason string `json:"reason,omitempty"`
}
