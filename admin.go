package nexus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/nexusllm/nexus/health"
	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/registry"
)

// Limits of the admin API.
const (
	// maxAdminBody bounds the body of POST /v1/backends.
	maxAdminBody = 64 << 10
	// maxBackendName bounds the length of a backend name added at run time.
	maxBackendName = 128
	// detectBudget bounds the type detection of a backend added without a
	// type (health.Detect tries up to three requests).
	detectBudget = 6 * time.Second
	// defaultAdminPriority is the priority of a backend added without one,
	// the same default a [[backends]] entry gets.
	defaultAdminPriority = 50
)

// BackendList is the body of GET /v1/backends.
type BackendList struct {
	Backends []BackendInfo `json:"backends"`
}

// BackendInfo is one backend as the admin API reports it. It never carries
// the backend's API key.
type BackendInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	Type     string `json:"type"`     // ollama, vllm, llamacpp, exo, openai, lmstudio or generic
	Status   string `json:"status"`   // healthy, unhealthy, unknown or draining
	Priority int    `json:"priority"` // lower is preferred
	Source   string `json:"source"`   // static, mdns or manual
	Pending  int64  `json:"pending"`  // requests in flight now
	Requests uint64 `json:"requests"` // requests forwarded so far
	// LatencyMS is the moving average of health-probe latency in
	// milliseconds; 0 until a probe got an answer.
	LatencyMS float64 `json:"latency_ms"`
	// LastError is why the backend last failed, null when it is healthy.
	LastError *string `json:"last_error"`
	// LastCheck is when the status was last set, RFC 3339 in UTC.
	LastCheck string             `json:"last_check"`
	Models    []BackendModelInfo `json:"models"`
}

// BackendModelInfo is one model a backend serves.
type BackendModelInfo struct {
	ID            string `json:"id"`
	ContextLength int    `json:"context_length"`
	// Capabilities are true when known to be supported; a capability
	// nobody reported is false here but still allowed by routing.
	Capabilities Capabilities `json:"capabilities"`
}

// AddBackendRequest is the body of POST /v1/backends. Type is detected when
// empty; Priority defaults to 50. A backend's API key cannot be set through
// the API: configure api_key_env in the file instead.
type AddBackendRequest struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Type     string `json:"type,omitempty"`
	Priority *int   `json:"priority,omitempty"`
}

// backendInfo describes b for the admin API.
func backendInfo(b *registry.Backend) BackendInfo {
	info := BackendInfo{
		ID:        b.ID,
		Name:      b.Name,
		URL:       b.URL,
		Type:      string(b.Type),
		Status:    b.Status().String(),
		Priority:  b.Priority,
		Source:    string(b.Source),
		Pending:   b.Pending(),
		Requests:  b.Requests(),
		LatencyMS: float64(b.Latency().Microseconds()) / 1000,
		LastCheck: b.LastCheck().UTC().Format(time.RFC3339),
		Models:    []BackendModelInfo{},
	}
	if e := b.LastError(); e != "" {
		info.LastError = &e
	}
	for _, m := range b.Models() {
		info.Models = append(info.Models, BackendModelInfo{
			ID:            m.ID,
			ContextLength: m.ContextLength,
			Capabilities:  Capabilities{Vision: m.Vision.Bool(), Tools: m.Tools.Bool(), JSONMode: m.JSONMode.Bool()},
		})
	}
	return info
}

// backendInfos describes every backend, sorted by name then id.
func (g *Gateway) backendInfos() []BackendInfo {
	list := make([]BackendInfo, 0, len(g.reg.Backends()))
	for _, b := range g.reg.Backends() {
		list = append(list, backendInfo(b))
	}
	slices.SortFunc(list, func(a, b BackendInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return list
}

// findBackend returns the backend called name (or, failing that, whose id
// is name).
func (g *Gateway) findBackend(name string) (*registry.Backend, bool) {
	for _, b := range g.reg.Backends() {
		if b.Name == name {
			return b, true
		}
	}
	return g.reg.Get(name)
}

// handleBackends serves GET (and HEAD) /v1/backends, the fleet with its
// live state, and POST /v1/backends, which adds a backend.
func (g *Gateway) handleBackends(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if g.requireAuth(w, r) {
			writeJSON(w, http.StatusOK, BackendList{Backends: g.backendInfos()})
		}
	case http.MethodPost:
		if g.requireAuth(w, r) {
			g.handleAddBackend(w, r)
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		openai.WriteError(w, http.StatusMethodNotAllowed,
			"Method "+r.Method+" is not allowed on /v1/backends; use GET or POST.",
			openai.TypeInvalidRequest, "", "method_not_allowed")
	}
}

// handleDeleteBackend serves DELETE /v1/backends/{name}. Requests already
// forwarded to the backend finish; new ones no longer see it.
func (g *Gateway) handleDeleteBackend(w http.ResponseWriter, r *http.Request) {
	if !g.requireAuth(w, r) {
		return
	}
	name := r.PathValue("name")
	b, ok := g.findBackend(name)
	if ok {
		if err := g.reg.Remove(b.ID); err != nil {
			ok = false // removed concurrently
		}
	}
	if !ok {
		openai.WriteError(w, http.StatusNotFound, fmt.Sprintf("Backend '%s' not found.", name),
			openai.TypeInvalidRequest, "name", "backend_not_found")
		return
	}
	g.log.Info("backend removed through the admin API", "backend", b.Name, "backend_id", b.ID)
	w.WriteHeader(http.StatusNoContent)
}

// adminError is a client error of the admin API.
type adminError struct {
	status int
	msg    string
	param  string
	code   string
}

func (e *adminError) write(w http.ResponseWriter) {
	typ := openai.TypeInvalidRequest
	openai.WriteError(w, e.status, e.msg, typ, e.param, e.code)
}

func badField(param, format string, args ...any) *adminError {
	return &adminError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), param: param}
}

// handleAddBackend validates the request, detects the type when none was
// given, adds the backend and probes it once so that it is usable at once.
func (g *Gateway) handleAddBackend(w http.ResponseWriter, r *http.Request) {
	req, aerr := decodeAddBackend(w, r)
	if aerr == nil {
		aerr = g.validateAddBackend(&req)
	}
	if aerr != nil {
		aerr.write(w)
		return
	}
	typ, ok := registry.ParseType(req.Type)
	if !ok {
		ctx, cancel := context.WithTimeout(r.Context(), detectBudget)
		detected, err := health.Detect(ctx, g.client, req.URL)
		cancel()
		if r.Context().Err() != nil {
			return // the client went away
		}
		if err != nil {
			(&adminError{status: http.StatusBadRequest, param: "url", code: "backend_undetected",
				msg: fmt.Sprintf("Could not detect the type of the backend at %s: %s. Check that it is running, or give 'type'.",
					req.URL, strings.TrimPrefix(err.Error(), "detect "+registry.NormalizeURL(req.URL)+": ")),
			}).write(w)
			return
		}
		typ = detected
	}
	b, err := g.reg.Add(registry.Config{
		Name:     req.Name,
		URL:      req.URL,
		Type:     typ,
		Priority: *req.Priority,
		Source:   registry.SourceManual,
	})
	switch {
	case errors.Is(err, registry.ErrDuplicateBackend):
		duplicate(req.Name).write(w)
		return
	case err != nil:
		badField("", "Backend '%s' cannot be added: %v.", req.Name, err).write(w)
		return
	}
	// Probe once now, so the backend's status and models are known in the
	// answer and requests can use it right away.
	g.checker.Check(r.Context(), b)
	g.log.Info("backend added through the admin API", "backend", b.Name, "url", b.URL,
		"type", string(b.Type), "status", b.Status().String(), "models", len(b.Models()))
	w.Header().Set("Location", "/v1/backends/"+url.PathEscape(b.Name))
	writeJSON(w, http.StatusCreated, backendInfo(b))
}

func duplicate(name string) *adminError {
	return &adminError{status: http.StatusConflict, param: "name", code: "backend_exists",
		msg: fmt.Sprintf("A backend named '%s' already exists.", name)}
}

// decodeAddBackend reads the body of POST /v1/backends: one JSON object
// with no field besides name, url, type and priority.
func decodeAddBackend(w http.ResponseWriter, r *http.Request) (AddBackendRequest, *adminError) {
	var req AddBackendRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("extra data after the JSON object")
	}
	if err == nil {
		return req, nil
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return req, &adminError{status: http.StatusRequestEntityTooLarge, code: openai.CodeRequestTooLarge,
			msg: fmt.Sprintf("Request body is larger than the limit of %d bytes.", maxAdminBody)}
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return req, badField(typeErr.Field, "Invalid type for '%s': expected %s, got a JSON %s.",
			typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &typeErr):
		err = fmt.Errorf("got a JSON %s", typeErr.Value)
	case errors.Is(err, io.EOF):
		err = errors.New("the body is empty")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if strings.HasPrefix(field, "api_key") {
			return req, badField(field, "Unknown field '%s': a backend's API key cannot be set through the API; "+
				"configure api_key_env for it in the configuration file.", field)
		}
		return req, badField(field, "Unknown field '%s': only name, url, type and priority are accepted.", field)
	}
	return req, badField("", "The body must be one JSON object {\"name\", \"url\", \"type\", \"priority\"}: %v.", err)
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	}
	return kind
}

// validateAddBackend checks and normalises req in place: trimmed fields,
// a lower-case type, a priority (default 50).
func (g *Gateway) validateAddBackend(req *AddBackendRequest) *adminError {
	req.Name = strings.TrimSpace(req.Name)
	req.URL = strings.TrimSpace(req.URL)
	req.Type = strings.ToLower(strings.TrimSpace(req.Type))
	switch {
	case req.Name == "":
		return badField("name", "Missing required parameter: 'name'.")
	case len(req.Name) > maxBackendName:
		return badField("name", "Invalid 'name': at most %d bytes are allowed.", maxBackendName)
	case strings.IndexFunc(req.Name, unicode.IsControl) >= 0:
		return badField("name", "Invalid 'name': it must not contain control characters.")
	}
	if req.URL == "" {
		return badField("url", "Missing required parameter: 'url'.")
	}
	u, err := url.Parse(req.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return badField("url", "Invalid 'url' %q: want an http:// or https:// base URL.", req.URL)
	case u.User != nil:
		return badField("url", "Invalid 'url': credentials in the URL are not accepted.")
	case u.RawQuery != "" || u.Fragment != "":
		return badField("url", "Invalid 'url' %q: a base URL has no query or fragment.", req.URL)
	}
	if req.Type != "" {
		if _, ok := registry.ParseType(req.Type); !ok {
			return badField("type", "Invalid 'type' %q: want one of ollama, vllm, llamacpp, exo, openai, lmstudio, generic, or none to detect it.", req.Type)
		}
	}
	if req.Priority == nil {
		p := defaultAdminPriority
		req.Priority = &p
	} else if *req.Priority < 0 {
		return badField("priority", "Invalid 'priority': must be >= 0 (got %d).", *req.Priority)
	}
	if _, exists := g.findBackend(req.Name); exists {
		return duplicate(req.Name)
	}
	return nil
}
