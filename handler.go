package nexus

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/nexusllm/nexus/dashboard"
	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/routing"
)

// Response headers set by the gateway.
const (
	HeaderRequestID     = "X-Request-Id"
	HeaderBackend       = "X-Nexus-Backend"
	HeaderModel         = "X-Nexus-Model"
	HeaderFallbackModel = "X-Nexus-Fallback-Model"
	HeaderRouteReason   = "X-Nexus-Route-Reason"
)

// setAttemptHeaders sets the response headers that name an attempt's
// backend, model and route reason, with one allocation for the three.
func setAttemptHeaders(h http.Header, att routing.Attempt) {
	v := []string{att.Backend.Name, att.Model, att.Reason}
	h[HeaderBackend] = v[0:1:1]
	h[HeaderModel] = v[1:2:2]
	h[HeaderRouteReason] = v[2:3:3]
	if att.Fallback {
		h[HeaderFallbackModel] = v[1:2:2]
	} else {
		delete(h, HeaderFallbackModel)
	}
}

// readBody reads a request body of at most MaxBodyBytes. With a
// Content-Length within the limit it reads into one buffer of that size
// (net/http stops the body there); otherwise it reads through
// http.MaxBytesReader, which reports a body over the limit.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > MaxBodyBytes {
		return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	}
	b := make([]byte, 0, n+1) // +1: the read that finds the end
	for {
		m, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			// Longer than announced, which only a Body that is not
			// net/http's own can be.
			if int64(len(b)) > MaxBodyBytes {
				return b, &http.MaxBytesError{Limit: MaxBodyBytes}
			}
			b = append(b, 0)[:len(b)]
		}
	}
}

// route is one entry of the gateway's route table. An empty method accepts
// any method.
type route struct {
	method  string
	handler http.HandlerFunc
}

func (g *Gateway) routes() *http.ServeMux {
	mux := http.NewServeMux()
	table := map[string]route{
		"/v1/chat/completions": {http.MethodPost, g.handleChat},
		"/v1/models":           {http.MethodGet, g.handleModels},
		"/health":              {http.MethodGet, g.handleHealth},
		"/metrics":             {http.MethodGet, g.metrics.Handler().ServeHTTP},
		"/v1/stats":            {http.MethodGet, g.metrics.StatsHandler().ServeHTTP},
		"/v1/backends":         {"", g.handleBackends}, // GET lists, POST adds
		"/v1/backends/{name}":  {http.MethodDelete, g.handleDeleteBackend},
	}
	for path, rt := range table {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if rt.method != "" && r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
				w.Header().Set("Allow", rt.method)
				openai.WriteError(w, http.StatusMethodNotAllowed,
					"Method "+r.Method+" is not allowed on "+path+"; use "+rt.method+".",
					openai.TypeInvalidRequest, "", "method_not_allowed")
				return
			}
			rt.handler(w, r)
		})
	}
	dh := g.dash.Handler()
	for _, p := range dashboard.Paths() {
		mux.Handle(p, dh)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		openai.WriteError(w, http.StatusNotFound, "Unknown endpoint "+r.Method+" "+r.URL.Path+".",
			openai.TypeInvalidRequest, "", "unknown_url")
	})
	return mux
}

// requestID returns the client's X-Request-Id when it is reasonable, or a
// new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(HeaderRequestID); id != "" && len(id) <= 128 && printable(id) {
		return id
	}
	return rand.Text()
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ModelEntry is one element of GET /v1/models.
type ModelEntry struct {
	ID            string       `json:"id"`
	Object        string       `json:"object"`
	Created       int64        `json:"created"`
	OwnedBy       string       `json:"owned_by"`
	ContextLength int          `json:"context_length,omitempty"`
	Capabilities  Capabilities `json:"capabilities"`
}

type Capabilities struct {
	Vision   bool `json:"vision"`
	Tools    bool `json:"tools"`
	JSONMode bool `json:"json_mode"`
}

// handleModels serves GET /v1/models.
func (g *Gateway) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, g.modelList())
}

// ModelList is the body of GET /v1/models.
type ModelList struct {
	Object string       `json:"object"`
	Data   []ModelEntry `json:"data"`
}

// modelList lists one entry per (model, healthy backend), sorted by model id
// then backend name.
func (g *Gateway) modelList() ModelList {
	created := g.started.Unix()
	data := []ModelEntry{}
	for _, b := range g.reg.Backends() {
		if !b.Healthy() {
			continue
		}
		for _, m := range b.Models() {
			data = append(data, ModelEntry{
				ID: m.ID, Object: "model", Created: created, OwnedBy: b.Name,
				ContextLength: m.ContextLength,
				Capabilities:  Capabilities{Vision: m.Vision.Bool(), Tools: m.Tools.Bool(), JSONMode: m.JSONMode.Bool()},
			})
		}
	}
	slices.SortFunc(data, func(a, b ModelEntry) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.OwnedBy, b.OwnedBy))
	})
	return ModelList{Object: "list", Data: data}
}

// HealthStatus is the body of GET /health.
type HealthStatus struct {
	Status        string         `json:"status"`
	UptimeSeconds int64          `json:"uptime_seconds"`
	Backends      BackendsHealth `json:"backends"`
	Models        int            `json:"models"`
}

// BackendsHealth counts backends by health.
type BackendsHealth struct {
	Total     int `json:"total"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// Health summarises the fleet: "healthy" when every backend is healthy,
// "degraded" when some are, "unhealthy" when none are (or there are none).
func (g *Gateway) Health() HealthStatus {
	total, healthy, models := g.reg.Counts()
	status := "unhealthy"
	switch {
	case total > 0 && healthy == total:
		status = "healthy"
	case healthy > 0:
		status = "degraded"
	}
	return HealthStatus{
		Status:        status,
		UptimeSeconds: int64(time.Since(g.started).Seconds()),
		Backends:      BackendsHealth{Total: total, Healthy: healthy, Unhealthy: total - healthy},
		Models:        models,
	}
}

func (g *Gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, g.Health())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		openai.WriteError(w, http.StatusInternalServerError, "could not encode the response", openai.TypeServer, "", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
