package nexustest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// route is one path the backend answers.
type route struct {
	endpoint string // inference endpoint gating it (see Endpoints); "" for a probe route
	dialect  dialect
	methods  []string
	serve    func(w http.ResponseWriter, r *http.Request, body []byte)
}

// lookup finds the route for path. It reports false for an unknown path and
// for the routes of an endpoint this backend does not serve.
func (b *Backend) lookup(path string) (route, bool) {
	rt, ok := b.routeFor(path)
	if !ok {
		return route{}, false
	}
	if b.cfg.anthropic {
		rt.dialect = anthropicDialect
		if rt.endpoint == "" && !strings.HasPrefix(path, "/v1/models") {
			return route{}, false // Anthropic has no Ollama or llama.cpp routes
		}
	}
	if rt.endpoint != "" && !b.cfg.served[rt.endpoint] {
		return route{}, false
	}
	return rt, true
}

// routeFor finds path in the routing table.
func (b *Backend) routeFor(path string) (route, bool) {
	if rt, ok := b.routes.exact[path]; ok {
		return rt, true
	}
	if id, ok := strings.CutPrefix(path, "/v1/responses/"); ok && id != "" && !strings.Contains(id, "/") {
		return b.routes.responseByID, true
	}
	if id, ok := strings.CutPrefix(path, "/v1/models/"); ok && id != "" {
		return b.routes.modelByID, true
	}
	return route{}, false
}

// routeTable is the routing table, built once per Backend.
type routeTable struct {
	exact        map[string]route
	responseByID route // /v1/responses/{id}
	modelByID    route // /v1/models/{id}
}

func (b *Backend) newRouteTable() routeTable {
	post := []string{http.MethodPost}
	get := []string{http.MethodGet, http.MethodHead}
	return routeTable{
		exact: map[string]route{
			"/v1/chat/completions":      {endpoint: EndpointChat, methods: post, serve: b.chat},
			"/v1/completions":           {endpoint: EndpointCompletions, methods: post, serve: b.completions},
			"/v1/embeddings":            {endpoint: EndpointEmbeddings, methods: post, serve: b.embeddings},
			"/v1/rerank":                {endpoint: EndpointRerank, methods: post, serve: b.rerank},
			"/v1/responses":             {endpoint: EndpointResponses, methods: post, serve: b.responses},
			"/v1/messages":              {endpoint: EndpointMessages, dialect: anthropicDialect, methods: post, serve: b.messages},
			"/v1/messages/count_tokens": {endpoint: EndpointMessages, dialect: anthropicDialect, methods: post, serve: b.countTokens},
			"/v1/models":                {methods: get, serve: b.probeHandler(b.listModels)},
			"/api/tags":                 {methods: get, serve: b.probeHandler(b.ollamaTags)},
			"/api/show": {methods: post, serve: func(w http.ResponseWriter, r *http.Request, body []byte) {
				b.probe(w, r, func(w http.ResponseWriter, _ *http.Request) { b.ollamaShow(w, body) })
			}},
			"/health": {methods: get, serve: b.probeHandler(llamaHealth)},
		},
		responseByID: route{endpoint: EndpointResponses, methods: []string{http.MethodGet, http.MethodDelete}, serve: b.responseByID},
		modelByID:    route{methods: get, serve: b.probeHandler(b.modelByID)},
	}
}

// probeHandler adapts a probe answer to a route.
func (b *Backend) probeHandler(h http.HandlerFunc) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) { b.probe(w, r, h) }
}

// prepare checks the options that can be wrong and fills c.served.
func prepare(c *config) error {
	for _, tc := range c.toolCalls {
		if tc.Arguments != "" && !json.Valid([]byte(tc.Arguments)) {
			return fmt.Errorf("nexustest: ToolCall %q: Arguments is not valid JSON: %q", tc.Name, tc.Arguments)
		}
	}
	served, err := servedEndpoints(c)
	c.served = served
	return err
}

// servedEndpoints checks the Endpoints names and returns the served set.
func servedEndpoints(c *config) (map[string]bool, error) {
	all := allEndpoints()
	names := c.endpoints
	if names == nil {
		names = all
	}
	if c.anthropic {
		names = []string{EndpointMessages}
	}
	served := make(map[string]bool, len(names))
	for _, n := range names {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("nexustest: unknown endpoint %q (want one of %s)", n, strings.Join(all, ", "))
		}
		served[n] = true
	}
	return served, nil
}

// admit applies the APIKey check and, with Anthropic, the anthropic-version
// requirement. It answers the error itself and reports false on failure.
func (b *Backend) admit(w http.ResponseWriter, r *http.Request, rt route) bool {
	if key := b.cfg.apiKey; key != "" && strings.HasPrefix(r.URL.Path, "/v1/") && !b.keyOK(r, rt, key) {
		if rt.dialect == anthropicDialect {
			b.fail(w, anthropicDialect, http.StatusUnauthorized, "", nil, nil, "invalid x-api-key")
			return false
		}
		code := "invalid_api_key"
		b.fail(w, openAIDialect, http.StatusUnauthorized, "invalid_request_error", &code, nil,
			"Incorrect API key provided. You can find your API key in your backend's configuration.")
		return false
	}
	if b.cfg.anthropic && r.Header.Get("anthropic-version") == "" {
		b.fail(w, anthropicDialect, http.StatusBadRequest, "", nil, nil, "anthropic-version: header is required")
		return false
	}
	return true
}

// keyOK reports whether r carries key where route rt expects it.
func (b *Backend) keyOK(r *http.Request, rt route, key string) bool {
	same := func(got string) bool { return subtle.ConstantTimeCompare([]byte(got), []byte(key)) == 1 }
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case b.cfg.anthropic:
		return same(r.Header.Get("x-api-key"))
	case rt.dialect == anthropicDialect:
		return same(r.Header.Get("x-api-key")) || same(bearer)
	default:
		return same(bearer)
	}
}
