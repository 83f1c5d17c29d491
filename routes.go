package nexus

import (
	"net/http"
	"slices"
	"strings"

	"github.com/nexusllm/nexus/internal/openai"
)

// The gateway's HTTP surfaces. Each route belongs to exactly one, and the
// route table below is the one place that says which paths exist, which
// surface serves them and who may call them.
const (
	// surfaceInference is Gateway.ServeHTTP: the inference API and GET
	// /health.
	surfaceInference = iota
	// surfaceAdmin is Gateway.AdminHandler: the fleet API.
	surfaceAdmin
	// surfaceDashboard is Gateway.DashboardHandler: the page and its data.
	surfaceDashboard
	// surfaceMetrics is /metrics and /v1/stats, served by the gateway's
	// Metrics (Gateway.Metrics().Handler() and StatsHandler()).
	surfaceMetrics
)

// access says who may call a route.
type access uint8

const (
	// accessOpen: anyone (liveness for load balancers and orchestrators).
	accessOpen access = iota
	// accessKey: with gateway keys configured, any valid key; otherwise
	// anyone.
	accessKey
	// accessAdmin: fleet changes. See Gateway.requireAdmin.
	accessAdmin
	// accessInference: like accessKey, checked by the handler itself,
	// which needs the key's principal (model access, limits, accounting)
	// and answers in its API's envelope.
	accessInference
)

// route is one entry of the route table.
type route struct {
	method  string // GET also answers HEAD
	path    string // http.ServeMux path pattern, without a method
	surface int
	access  access
	handler func(g *Gateway) http.HandlerFunc
}

// routeTable lists every route of the gateway. Inference endpoints come
// from the endpoint table (endpoints.go), the dashboard's paths from the
// dashboard package.
func routeTable(dashPaths []string) []route {
	h := func(f func(g *Gateway, w http.ResponseWriter, r *http.Request)) func(g *Gateway) http.HandlerFunc {
		return func(g *Gateway) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { f(g, w, r) }
		}
	}
	rs := []route{
		{http.MethodGet, "/health", surfaceInference, accessOpen, h((*Gateway).handleHealth)},
		{http.MethodGet, "/ready", surfaceInference, accessOpen, h((*Gateway).handleReady)},
		{http.MethodGet, "/v1/models", surfaceInference, accessInference, h((*Gateway).handleModels)},
		{http.MethodGet, "/v1/models/{model...}", surfaceInference, accessInference, h((*Gateway).handleModel)},

		{http.MethodGet, "/v1/backends", surfaceAdmin, accessKey, h((*Gateway).handleListBackends)},
		{http.MethodPost, "/v1/backends", surfaceAdmin, accessAdmin, h((*Gateway).handleAddBackend)},
		{http.MethodDelete, "/v1/backends/{name}", surfaceAdmin, accessAdmin, h((*Gateway).handleDeleteBackend)},
		{http.MethodGet, "/v1/admin/reload", surfaceAdmin, accessKey, h((*Gateway).handleLastReload)},
		{http.MethodPost, "/v1/admin/reload", surfaceAdmin, accessAdmin, h((*Gateway).handleReload)},

		{http.MethodGet, "/metrics", surfaceMetrics, accessKey, func(g *Gateway) http.HandlerFunc { return g.metrics.Handler().ServeHTTP }},
		{http.MethodGet, "/v1/stats", surfaceMetrics, accessKey, func(g *Gateway) http.HandlerFunc { return g.metrics.StatsHandler().ServeHTTP }},
	}
	for i := range endpoints {
		ep := &endpoints[i]
		serve := (*Gateway).serveInference
		if ep.serve != nil {
			serve = ep.serve
		}
		rs = append(rs, route{ep.method, ep.path, surfaceInference, accessInference, func(g *Gateway) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { serve(g, w, r, ep) }
		}})
	}
	for _, p := range dashPaths {
		rs = append(rs, route{http.MethodGet, p, surfaceDashboard, accessKey, func(g *Gateway) http.HandlerFunc {
			return g.dash.Handler().ServeHTTP
		}})
	}
	return rs
}

// buildMux returns a mux serving the routes of the given surfaces, each
// behind its access check; a known path called with another method gets
// 405, and an unknown path 404, both in OpenAI's envelope.
func (g *Gateway) buildMux(routes []route, surfaces ...int) *http.ServeMux {
	byPath := map[string][]route{}
	var order []string
	for _, rt := range routes {
		if !slices.Contains(surfaces, rt.surface) {
			continue
		}
		if _, seen := byPath[rt.path]; !seen {
			order = append(order, rt.path)
		}
		byPath[rt.path] = append(byPath[rt.path], rt)
	}
	mux := http.NewServeMux()
	for _, path := range order {
		rs := byPath[path]
		handlers := make([]http.HandlerFunc, len(rs))
		var allow []string
		for i, rt := range rs {
			handlers[i] = rt.handler(g)
			allow = append(allow, rt.method)
			if rt.method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		allowed := strings.Join(allow, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			for i, rt := range rs {
				if r.Method == rt.method || rt.method == http.MethodGet && r.Method == http.MethodHead {
					if g.authenticate(w, r, rt.access) {
						handlers[i](w, r)
					}
					return
				}
			}
			w.Header().Set("Allow", allowed)
			openai.WriteError(w, http.StatusMethodNotAllowed,
				"Method "+r.Method+" is not allowed on "+r.URL.Path+"; use "+allowed+".",
				openai.TypeInvalidRequest, "", "method_not_allowed")
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !g.authenticate(w, r, accessKey) {
			return // say nothing about paths to a client without a key
		}
		openai.WriteError(w, http.StatusNotFound, "Unknown endpoint "+r.Method+" "+r.URL.Path+".",
			openai.TypeInvalidRequest, "", "unknown_url")
	})
	return mux
}

// ServeHTTP serves the inference API (every endpoint of the endpoint
// table, GET /v1/models and /v1/models/{id}) and GET /health. Every
// response carries an X-Request-Id: the client's own when it sent a
// reasonable one, else a new random id. With gateway API keys configured,
// every route but GET /health needs a key (401 otherwise). Operational
// surfaces are separate handlers: AdminHandler, DashboardHandler, and
// Metrics().Handler() / StatsHandler(); Handler serves them all.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.serve(g.inferenceMux, w, r)
}

// AdminHandler serves the fleet API: GET /v1/backends, POST /v1/backends,
// DELETE /v1/backends/{name}, and GET and POST /v1/admin/reload. Changes
// need an admin key, or, when the gateway has no keys at all, a loopback
// client.
func (g *Gateway) AdminHandler() http.Handler { return g.handlerFor(g.adminMux) }

// DashboardHandler serves the web dashboard: GET / (the page), /assets/,
// /v1/history, /v1/events and /v1/dashboard. The page uses relative URLs
// only, so it may be mounted under a prefix with http.StripPrefix.
func (g *Gateway) DashboardHandler() http.Handler { return g.handlerFor(g.dashMux) }

// Handler serves everything on one mux, as `nexus serve` does: the
// inference API, the admin API, the dashboard, /metrics and /v1/stats.
func (g *Gateway) Handler() http.Handler { return g.handlerFor(g.allMux) }

func (g *Gateway) handlerFor(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serve(mux, w, r) })
}

// serve sets the request id and dispatches r on mux.
func (g *Gateway) serve(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	w.Header().Set(HeaderRequestID, requestID(r))
	if r.URL.Path == "" {
		// Mounted under a prefix (http.StripPrefix) and asked for the
		// prefix itself: the dashboard needs the trailing slash for its
		// relative URLs.
		redirectToSlash(w, r)
		return
	}
	mux.ServeHTTP(w, r)
}

// redirectToSlash sends the client to the same path with a trailing slash,
// with a relative Location since the mount prefix is unknown here
// (r.RequestURI is the path before any prefix was stripped).
func redirectToSlash(w http.ResponseWriter, r *http.Request) {
	p := r.RequestURI
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	last := p[strings.LastIndexByte(p, '/')+1:]
	w.Header().Set("Location", "./"+last+"/")
	w.WriteHeader(http.StatusMovedPermanently)
}
