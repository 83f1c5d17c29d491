package dashboard

import (
	"math"
	"net/url"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// BackendView is how the dashboard shows one backend. It never carries the
// backend's API key, and its URL has no user information or query.
type BackendView struct {
	// ID and Name identify the backend as configured.
	ID   string `json:"id"`
	Name string `json:"name"`
	// URL is the base URL without credentials.
	URL string `json:"url"`
	// Type is the server kind ("vllm", "ollama", ...).
	Type string `json:"type"`
	// Status is "healthy", "unhealthy", "draining" or "unknown".
	Status string `json:"status"`
	// Priority is the configured priority (lower is preferred).
	Priority int `json:"priority"`
	// Source says how the backend was found ("static", "mdns", ...).
	Source string `json:"source"`
	// LatencyMS is the health-probe latency average, 0 until measured.
	LatencyMS float64 `json:"latency_ms"`
	// Pending is the number of requests in flight.
	Pending int64 `json:"pending"`
	// Requests counts the attempts this backend has completed.
	Requests uint64 `json:"requests"`
	// LastError is the reason of the last failure, "" when healthy.
	LastError string `json:"last_error"`
	// LastCheck is when the status was last set.
	LastCheck time.Time `json:"last_check"`
	// Models lists what the backend serves.
	Models []ModelView `json:"models"`
}

// ModelView is one model of a BackendView.
type ModelView struct {
	ID string `json:"id"`
	// ContextLength is the context window in tokens, 0 when unknown.
	ContextLength int          `json:"context_length"`
	Capabilities  Capabilities `json:"capabilities"`
}

// Capabilities are a model's features; a capability the backend never
// reported is false, as in GET /v1/models.
type Capabilities struct {
	Vision   bool `json:"vision"`
	Tools    bool `json:"tools"`
	JSONMode bool `json:"json_mode"`
}

// Backends returns the view of every backend of reg, in registry order. It
// never returns nil; a nil registry has no backends.
func Backends(reg *registry.Registry) []BackendView {
	if reg == nil {
		return []BackendView{}
	}
	bs := reg.Backends()
	out := make([]BackendView, 0, len(bs))
	for _, b := range bs {
		ms := b.Models()
		models := make([]ModelView, 0, len(ms))
		for _, m := range ms {
			models = append(models, ModelView{
				ID:            m.ID,
				ContextLength: m.ContextLength,
				Capabilities: Capabilities{
					Vision:   m.Vision.Bool(),
					Tools:    m.Tools.Bool(),
					JSONMode: m.JSONMode.Bool(),
				},
			})
		}
		out = append(out, BackendView{
			ID:        b.ID,
			Name:      b.Name,
			URL:       displayURL(b.URL),
			Type:      string(b.Type),
			Status:    b.Status().String(),
			Priority:  b.Priority,
			Source:    string(b.Source),
			LatencyMS: millis(b.Latency()),
			Pending:   b.Pending(),
			Requests:  b.Requests(),
			LastError: b.LastError(),
			LastCheck: b.LastCheck().UTC(),
			Models:    models,
		})
	}
	return out
}

// displayURL drops user information, query and fragment from a backend URL
// so no credential embedded in it reaches the page.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// millis converts d to milliseconds rounded to one decimal.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*10) / 10
}
