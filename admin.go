package nexus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nexusllm/nexus/api"
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
)

// backendInfo describes b for the admin API.
func (g *Gateway) backendInfo(b *registry.Backend) api.Backend {
	info := api.Backend{
		ID:        b.ID,
		Name:      b.Name,
		URL:       displayURL(b.URL),
		Type:      string(b.Type),
		Status:    b.Status().String(),
		Priority:  b.Priority,
		Source:    string(b.Source),
		Endpoints: b.Endpoints().Names(),
		Pending:   b.Pending(),
		Requests:  b.Requests(),
		LatencyMS: math.Round(float64(b.Latency())/float64(time.Millisecond)*10) / 10,
		LastCheck: b.LastCheck().UTC().Format(time.RFC3339),
		Models:    []api.BackendModel{},

		Load:           loadInfo(b.Load(), g.fleet.maxAge), // fleet.go
		MaxConcurrency: b.MaxConcurrency(),
	}
	if e := b.LastError(); e != "" {
		info.LastError = &e
	}
	for _, m := range b.Models() {
		info.Models = append(info.Models, api.BackendModel{
			ID:            m.ID,
			ContextLength: m.ContextLength,
			Capabilities:  capabilities(m),
		})
	}
	return info
}

// backendInfos describes every backend, sorted by name then id.
func (g *Gateway) backendInfos() []api.Backend {
	list := make([]api.Backend, 0, len(g.reg.Backends()))
	for _, b := range g.reg.Backends() {
		list = append(list, g.backendInfo(b))
	}
	slices.SortFunc(list, func(a, b api.Backend) int {
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

// handleListBackends serves GET /v1/backends: the fleet with its live
// state.
func (g *Gateway) handleListBackends(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.BackendList{Backends: g.backendInfos()})
}

// handleDeleteBackend serves DELETE /v1/backends/{name}. Requests already
// forwarded to the backend finish; new ones no longer see it.
func (g *Gateway) handleDeleteBackend(w http.ResponseWriter, r *http.Request) {
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
	endpoints, _ := registry.ParseEndpoints(req.Endpoints)
	b, err := g.reg.Add(registry.Config{
		Name:      req.Name,
		URL:       req.URL,
		Type:      typ,
		Priority:  *req.Priority,
		Source:    registry.SourceManual,
		Endpoints: endpoints,
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
	writeJSON(w, http.StatusCreated, g.backendInfo(b))
}

func duplicate(name string) *adminError {
	return &adminError{status: http.StatusConflict, param: "name", code: "backend_exists",
		msg: fmt.Sprintf("A backend named '%s' already exists.", name)}
}

// decodeAddBackend reads the body of POST /v1/backends: one JSON object
// with no field besides name, url, type and priority.
func decodeAddBackend(w http.ResponseWriter, r *http.Request) (api.AddBackend, *adminError) {
	var req api.AddBackend
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
		return req, badField(field, "Unknown field '%s': only name, url, type, priority and endpoints are accepted.", field)
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
func (g *Gateway) validateAddBackend(req *api.AddBackend) *adminError {
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
	if _, err := registry.CheckURL(req.URL); err != nil {
		switch {
		case errors.Is(err, registry.ErrURLCredentials):
			return badField("url", "Invalid 'url': credentials in the URL are not accepted.")
		case errors.Is(err, registry.ErrURLQuery):
			return badField("url", "Invalid 'url' %q: a base URL has no query or fragment.", req.URL)
		}
		return badField("url", "Invalid 'url' %q: want an http:// or https:// base URL.", req.URL)
	}
	if g.isSelf(req.URL) {
		return badField("url", "Invalid 'url' %q: it points at this gateway itself, which would send requests round in a loop.", req.URL)
	}
	if req.Type != "" {
		if _, ok := registry.ParseType(req.Type); !ok {
			return badField("type", "Invalid 'type' %q: want one of %s, or none to detect it.", req.Type, backendTypeNames())
		}
	}
	if _, unknown := registry.ParseEndpoints(req.Endpoints); unknown != "" {
		return badField("endpoints", "Invalid endpoint %q in 'endpoints': want some of %s.", unknown, strings.Join(registry.EndpointNames(), ", "))
	}
	if req.Priority == nil {
		p := DefaultBackendPriority
		req.Priority = &p
	} else if *req.Priority < 0 {
		return badField("priority", "Invalid 'priority': must be >= 0 (got %d).", *req.Priority)
	}
	if _, exists := g.findBackend(req.Name); exists {
		return duplicate(req.Name)
	}
	return nil
}

// displayURL drops user information, query and fragment from a backend URL
// so that no credential embedded in it is shown.
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

// isSelf reports whether a backend URL points at the gateway's own listen
// address (server.host and server.port): a loopback or unspecified host,
// or the configured host, on the gateway's port. Such a backend would send
// every request back into the gateway.
func (g *Gateway) isSelf(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || g.cfg.Server.Port == 0 {
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if port != strconv.Itoa(g.cfg.Server.Port) {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.EqualFold(host, g.cfg.Server.Host) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip.Unmap().IsLoopback() || ip.IsUnspecified())
}
