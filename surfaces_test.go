package nexus_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

// newGateway builds and starts a gateway that is not served anywhere.
func newGateway(t *testing.T, cfg nexus.Config) *nexus.Gateway {
	t.Helper()
	gw, err := nexus.New(cfg)
	require.NoError(t, err)
	require.NoError(t, gw.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, gw.Close()) })
	return gw
}

// do sends one request to h and returns the recorded answer.
func do(h http.Handler, method, target, remote string, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestSurfacesAreSeparate checks that Gateway.ServeHTTP serves the
// inference API and /health only, and that the admin API, the dashboard
// and the metrics are separate handlers.
func TestSurfacesAreSeparate(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("llama3"))
	gw := newGateway(t, testConfig(backendConfig("gpu", b, 1)))

	for _, tc := range []struct {
		name    string
		h       http.Handler
		method  string
		path    string
		status  int
		allowed string
	}{
		{"inference: health", gw, "GET", "/health", 200, ""},
		{"inference: models", gw, "GET", "/v1/models", 200, ""},
		{"inference: one model", gw, "GET", "/v1/models/llama3", 200, ""},
		{"inference: no admin", gw, "GET", "/v1/backends", 404, ""},
		{"inference: no metrics", gw, "GET", "/metrics", 404, ""},
		{"inference: no stats", gw, "GET", "/v1/stats", 404, ""},
		{"inference: no dashboard", gw, "GET", "/", 404, ""},
		{"inference: no history", gw, "GET", "/v1/history", 404, ""},
		{"inference: wrong method", gw, "POST", "/health", 405, "GET, HEAD"},
		{"inference: chat needs POST", gw, "GET", "/v1/chat/completions", 405, "POST"},
		{"admin: list", gw.AdminHandler(), "GET", "/v1/backends", 200, ""},
		{"admin: wrong method", gw.AdminHandler(), "PUT", "/v1/backends", 405, "GET, HEAD, POST"},
		{"admin: no inference", gw.AdminHandler(), "GET", "/v1/models", 404, ""},
		{"dashboard: page", gw.DashboardHandler(), "GET", "/", 200, ""},
		{"dashboard: history", gw.DashboardHandler(), "GET", "/v1/history", 200, ""},
		{"dashboard: snapshot", gw.DashboardHandler(), "GET", "/v1/dashboard", 200, ""},
		{"dashboard: no admin", gw.DashboardHandler(), "GET", "/v1/backends", 404, ""},
		{"metrics", gw.Metrics().Handler(), "GET", "/metrics", 200, ""},
		{"all: admin", gw.Handler(), "GET", "/v1/backends", 200, ""},
		{"all: metrics", gw.Handler(), "GET", "/metrics", 200, ""},
		{"all: stats", gw.Handler(), "GET", "/v1/stats", 200, ""},
		{"all: page", gw.Handler(), "GET", "/", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(tc.h, tc.method, tc.path, "", "")
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status >= 400 {
				var env struct {
					Error struct{ Message, Type string } `json:"error"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &env), "errors use the OpenAI envelope: %s", rec.Body)
				assert.NotEmpty(t, env.Error.Message)
			}
			if tc.allowed != "" {
				assert.Equal(t, tc.allowed, rec.Header().Get("Allow"))
			}
			if !strings.HasPrefix(tc.name, "metrics") {
				assert.NotEmpty(t, rec.Header().Get(nexus.HeaderRequestID))
			}
		})
	}
}

// TestDashboardUnderPrefix mounts the dashboard under /llm and checks that
// the page refers to nothing by an absolute path and that what it reads is
// served under the prefix.
func TestDashboardUnderPrefix(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("llama3"))
	gw := newGateway(t, testConfig(backendConfig("gpu", b, 1)))
	mux := http.NewServeMux()
	mux.Handle("/llm/", http.StripPrefix("/llm", gw.DashboardHandler()))
	mux.Handle("/llm", http.StripPrefix("/llm", gw.DashboardHandler()))

	page := do(mux, "GET", "/llm/", "", "")
	require.Equal(t, 200, page.Code)
	html := page.Body.String()
	for _, attr := range []string{`href="/`, `src="/`} {
		assert.NotContains(t, html, attr, "absolute URL in the page")
	}
	js := do(mux, "GET", "/llm/assets/dashboard.js", "", "")
	require.Equal(t, 200, js.Code)
	for _, abs := range []string{`'/v1/`, `"/v1/`, "`/v1/", `'/health'`} {
		assert.NotContains(t, js.Body.String(), abs, "absolute URL in the script")
	}
	for _, p := range []string{"/llm/v1/history", "/llm/v1/dashboard", "/llm/assets/styles.css"} {
		assert.Equal(t, 200, do(mux, "GET", p, "", "").Code, p)
	}
	var snap struct {
		Backends []struct{ Name string } `json:"backends"`
		Health   struct{ Status string } `json:"health"`
	}
	require.NoError(t, json.Unmarshal(do(mux, "GET", "/llm/v1/dashboard", "", "").Body.Bytes(), &snap))
	require.Len(t, snap.Backends, 1)
	assert.Equal(t, "gpu", snap.Backends[0].Name)
	assert.Equal(t, "healthy", snap.Health.Status)

	bare := do(mux, "GET", "/llm", "", "")
	assert.Equal(t, http.StatusMovedPermanently, bare.Code)
	assert.Equal(t, "./llm/", bare.Header().Get("Location"))
}

// TestAdminWritesWithoutKeysNeedLoopback checks that with no keys at all a
// fleet change is accepted from the gateway's own host only.
func TestAdminWritesWithoutKeysNeedLoopback(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("llama3"))
	gw := newGateway(t, testConfig(backendConfig("gpu", b, 1)))
	h := gw.AdminHandler()

	for _, remote := range []string{"10.1.2.3:5555", "192.168.1.9:80", "[2001:db8::1]:443"} {
		rec := do(h, "DELETE", "/v1/backends/gpu", remote, "")
		assert.Equal(t, http.StatusForbidden, rec.Code, remote)
		assert.Contains(t, rec.Body.String(), "role = \\\"admin\\\"", "the answer says how to enable remote admin")
		rec = do(h, "POST", "/v1/backends", remote, `{"name":"evil","url":"http://127.0.0.1:1","type":"openai","priority":0}`)
		assert.Equal(t, http.StatusForbidden, rec.Code, remote)
	}
	_, ok := gw.Registry().Get("gpu")
	assert.True(t, ok, "nothing was removed")
	assert.Equal(t, 200, do(h, "GET", "/v1/backends", "10.1.2.3:5555", "").Code, "reads stay open without keys")

	for _, remote := range []string{"127.0.0.1:40000", "[::1]:40000", "127.8.9.10:1"} {
		rec := do(h, "POST", "/v1/backends", remote, `{"name":"n`+strings.ReplaceAll(remote, ":", "")+`","url":"`+b.URL()+`","type":"openai"}`)
		assert.Equal(t, http.StatusCreated, rec.Code, "%s: %s", remote, rec.Body)
	}
	rec := do(h, "DELETE", "/v1/backends/gpu", "127.0.0.1:1", "")
	assert.Equal(t, http.StatusNoContent, rec.Code)
	_, _ = io.Copy(io.Discard, rec.Body)
}

// TestReadiness: /ready is 200 once the first probe round finished with a
// healthy backend, 503 with no healthy backend and after Drain; /health
// (liveness) stays 200 throughout.
func TestReadiness(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("llama3"))
	cfg := testConfig(backendConfig("gpu", b, 1))
	gw, err := nexus.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, gw.Close()) })

	rec := do(gw, "GET", "/ready", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "not started: not ready")
	assert.Contains(t, rec.Body.String(), "starting")
	assert.Equal(t, http.StatusOK, do(gw, "GET", "/health", "", "").Code)

	require.NoError(t, gw.Start(t.Context()))
	rec = do(gw, "GET", "/ready", "", "")
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"status":"ready"}`, rec.Body.String())

	bk, _ := gw.Registry().Get("gpu")
	bk.SetStatus(registry.StatusUnhealthy, "down")
	rec = do(gw, "GET", "/ready", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "no healthy backend")
	bk.SetStatus(registry.StatusHealthy, "")
	assert.Equal(t, http.StatusOK, do(gw, "GET", "/ready", "", "").Code)

	gw.Drain()
	rec = do(gw, "GET", "/ready", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "draining")
	assert.Equal(t, http.StatusOK, do(gw, "GET", "/health", "", "").Code, "liveness is unaffected")
}
