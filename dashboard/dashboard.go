// Package dashboard serves Nexus's web dashboard: a page embedded in the
// binary that shows the gateway's backends, models, counters and recent
// requests and updates itself live, plus the data behind it — GET
// /v1/history (the last requests, kept by a History ring buffer) and GET
// /v1/events (Server-Sent Events pushing each finished request and, every
// few seconds, the statistics and backend states).
//
// Everything it shows (the /v1/stats snapshot, the /v1/models, /health and
// /v1/backends bodies) is handed in as functions by the gateway, so the page
// shows the same figures as those endpoints. The page uses relative URLs
// only, so the handler works when mounted under a prefix
// (http.StripPrefix("/llm", d.Handler())); it serves what the page reads
// itself, so the page needs nothing else from the mount.
package dashboard

import (
	"context"

	"net/http"
	"sync"
	"time"

	"github.com/nexusllm/nexus/api"
)

// Defaults for Config fields left zero.
const (
	DefaultStatsInterval = 2 * time.Second
	DefaultPingInterval  = 15 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
)

// Config says where the dashboard gets its data. Every field is optional.
type Config struct {
	// Backends returns the backends as GET /v1/backends lists them. Nil
	// means none.
	Backends func() []api.Backend
	// History keeps the recent requests; nil means a new History of
	// DefaultHistoryCapacity, reachable through Dashboard.History.
	History *History
	// Stats returns the /v1/stats document (the gateway passes
	// metrics.Metrics.Stats). Nil means the page shows no statistics.
	Stats func(ctx context.Context) (any, error)
	// Models returns the GET /v1/models body.
	Models func() any
	// Health returns the GET /health body.
	Health func() any
	// StatsInterval is how often /v1/events pushes statistics and backend
	// states while a client is connected (DefaultStatsInterval when 0).
	StatsInterval time.Duration
	// PingInterval is how often /v1/events sends a keep-alive comment
	// (DefaultPingInterval when 0).
	PingInterval time.Duration
	// WriteTimeout bounds each write to an event stream, so a client that
	// stops reading cannot hold its handler (DefaultWriteTimeout when 0).
	WriteTimeout time.Duration
}

// Dashboard serves the page, its assets, the history and the event stream.
// Build it with New and Close it when done. It is safe for concurrent use.
type Dashboard struct {
	cfg    Config
	assets *assetSet
	hub    *hub

	ctx    context.Context // done on Close
	cancel context.CancelFunc
	once   sync.Once
}

// New returns a Dashboard reading from cfg. It starts no goroutine until a
// client opens /v1/events.
func New(cfg Config) *Dashboard {
	if cfg.History == nil {
		cfg.History = NewHistory(DefaultHistoryCapacity)
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = DefaultStatsInterval
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dashboard{cfg: cfg, assets: loadAssets(), ctx: ctx, cancel: cancel}
	d.hub = newHub(d)
	return d
}

// History returns the history the dashboard shows; the gateway adds each
// finished request to it.
func (d *Dashboard) History() *History { return d.cfg.History }

// Paths lists the URL paths Handler serves, for mounting it in a mux:
// "/" (the page, exact match), "/assets/" (a prefix), "/v1/history",
// "/v1/events" and "/v1/dashboard".
func Paths() []string {
	return []string{"/{$}", "/assets/", "/v1/history", "/v1/events", "/v1/dashboard"}
}

// Handler returns the handler of the dashboard's routes: GET / (the page
// with the current data embedded), GET /assets/{file} (its script and style
// sheet), GET /v1/history (the recent requests as a JSON array, oldest
// first), GET /v1/events (Server-Sent Events: "request" for each new
// history entry; "stats", "backends" and "health" every StatsInterval) and
// GET /v1/dashboard (everything the page shows in one JSON document, which
// the page polls when event streams do not get through).
// Other paths get 404 and other methods 405, with an OpenAI-style error body.
func (d *Dashboard) Handler() http.Handler {
	return http.HandlerFunc(d.serveHTTP)
}

func (d *Dashboard) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var h func(http.ResponseWriter, *http.Request)
	switch p := r.URL.Path; {
	case p == "/":
		h = d.serveIndex
	case p == "/v1/history":
		h = d.serveHistory
	case p == "/v1/events":
		h = d.serveEvents
	case p == "/v1/dashboard":
		h = d.serveSnapshot
	case len(p) > len("/assets/") && p[:len("/assets/")] == "/assets/":
		h = d.serveAsset
	default:
		writeError(w, http.StatusNotFound, "Unknown endpoint "+r.Method+" "+p+".", "invalid_request_error", "unknown_url")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed on "+r.URL.Path+"; use GET.",
			"invalid_request_error", "method_not_allowed")
		return
	}
	h(w, r)
}

// Close ends every open /v1/events stream, stops the dashboard's
// background work and waits for it. Later event streams are refused with
// 503. Close is idempotent.
func (d *Dashboard) Close() {
	d.once.Do(func() {
		d.cancel()
		d.hub.close()
	})
}

// serveSnapshot answers GET /v1/dashboard with everything the page shows.
func (d *Dashboard) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.snapshot(r.Context()))
}

// serveHistory answers GET /v1/history.
func (d *Dashboard) serveHistory(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.cfg.History.List())
}
