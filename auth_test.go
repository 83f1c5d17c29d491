package nexus_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/config"
	"github.com/nexusllm/nexus/nexustest"
)

const (
	gatewayKey = "gw-secret-key-1"
	otherKey   = "gw-secret-key-2"
	backendKey = "sk-backend-secret-9"
)

// get sends a request with optional headers (name, value pairs) and
// returns the status, headers and body.
func get(t *testing.T, c *http.Client, method, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// noRedirects is a client that returns redirects instead of following them.
func noRedirects(t *testing.T) *http.Client {
	c := testClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// TestAPIKeysGuardEveryRoute: with server.api_keys set, every route but
// GET /health needs one of the keys; the dashboard accepts the session
// cookie it sets, for reads only.
func TestAPIKeysGuardEveryRoute(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.APIKeys = []string{gatewayKey, otherKey}
	_, url := startGateway(t, cfg)
	c := noRedirects(t)

	// The dashboard login: /?api_key= sets the cookie and drops the key
	// from the address.
	status, h, _ := get(t, c, http.MethodGet, url+"/?api_key="+gatewayKey)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "./", h.Get("Location"))
	cookies := (&http.Response{Header: h}).Cookies()
	require.Len(t, cookies, 1)
	session := cookies[0]
	assert.Equal(t, "nexus_session", session.Name)
	assert.True(t, session.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, session.SameSite)
	assert.Equal(t, "/", session.Path)
	assert.NotContains(t, session.Value, gatewayKey, "the cookie does not hold the key itself")
	cookie := session.Name + "=" + session.Value

	status, _, _ = get(t, c, http.MethodGet, url+"/?api_key=wrong")
	assert.Equal(t, http.StatusUnauthorized, status)

	chatBody := `{"model":"m","messages":[]}`
	tests := []struct {
		name, method, path string
		header             []string
		want               int
	}{
		{"health is open", "GET", "/health", nil, 200},
		{"health HEAD is open", "HEAD", "/health", nil, 200},
		{"chat without a key", "POST", "/v1/chat/completions", nil, 401},
		{"chat with a wrong key", "POST", "/v1/chat/completions", []string{"Authorization", "Bearer nope"}, 401},
		{"chat with a key's prefix", "POST", "/v1/chat/completions", []string{"Authorization", "Bearer " + gatewayKey[:5]}, 401},
		{"chat with the key as Basic", "POST", "/v1/chat/completions", []string{"Authorization", "Basic " + gatewayKey}, 401},
		{"chat with the bare key", "POST", "/v1/chat/completions", []string{"Authorization", gatewayKey}, 401},
		{"chat with the first key", "POST", "/v1/chat/completions", []string{"Authorization", "Bearer " + gatewayKey}, 200},
		{"chat with the second key", "POST", "/v1/chat/completions", []string{"Authorization", "bearer " + otherKey}, 200},
		{"chat with the cookie (no writes by cookie)", "POST", "/v1/chat/completions", []string{"Cookie", cookie}, 401},
		{"chat with the key as a cookie", "POST", "/v1/chat/completions", []string{"Cookie", "nexus_session=" + gatewayKey}, 401},
		{"models without a key", "GET", "/v1/models", nil, 401},
		{"models with a key", "GET", "/v1/models", []string{"Authorization", "Bearer " + gatewayKey}, 200},
		{"metrics without a key", "GET", "/metrics", nil, 401},
		{"metrics with a key", "GET", "/metrics", []string{"Authorization", "Bearer " + gatewayKey}, 200},
		{"stats without a key", "GET", "/v1/stats", nil, 401},
		{"stats with the cookie", "GET", "/v1/stats", []string{"Cookie", cookie}, 200},
		{"backends without a key", "GET", "/v1/backends", nil, 401},
		{"backends with a key", "GET", "/v1/backends", []string{"Authorization", "Bearer " + gatewayKey}, 200},
		{"add backend with the cookie", "POST", "/v1/backends", []string{"Cookie", cookie}, 401},
		{"remove backend without a key", "DELETE", "/v1/backends/gpu", nil, 401},
		{"history without a key", "GET", "/v1/history", nil, 401},
		{"history with the cookie", "GET", "/v1/history", []string{"Cookie", cookie}, 200},
		{"dashboard without a key", "GET", "/", nil, 401},
		{"dashboard with the cookie", "GET", "/", []string{"Cookie", cookie}, 200},
		{"dashboard with a forged cookie", "GET", "/", []string{"Cookie", "nexus_session=00ff"}, 401},
		{"dashboard asset without a key", "GET", "/assets/dashboard.js", nil, 401},
		{"dashboard asset with the cookie", "GET", "/assets/dashboard.js", []string{"Cookie", cookie}, 200},
		{"events without a key", "GET", "/v1/events", nil, 401},
		{"unknown path without a key", "GET", "/v2/anything", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, url+tt.path, strings.NewReader(chatBody))
			require.NoError(t, err)
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := c.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			require.Equal(t, tt.want, resp.StatusCode, "body: %s", body)
			if tt.want != http.StatusUnauthorized {
				return
			}
			assert.Equal(t, `Bearer realm="nexus"`, resp.Header.Get("WWW-Authenticate"))
			e := decodeAPIError(t, body)
			assert.Equal(t, "authentication_error", e.Error.Type)
			assert.Equal(t, "invalid_api_key", *e.Error.Code)
			assert.NotEmpty(t, resp.Header.Get(nexus.HeaderRequestID))
		})
	}

	// The dashboard's live stream works with the cookie, as an EventSource
	// would send it.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("Cookie", cookie)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	// A browser, following the redirect with a cookie jar, lands on the page.
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := testClient(t)
	browser.Jar = jar
	status, _, page := get(t, browser, http.MethodGet, url+"/?api_key="+gatewayKey)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "<html")
	assert.NotContains(t, page, gatewayKey)
}

// TestAuthOffByDefault: without api_keys nothing asks for a key.
func TestAuthOffByDefault(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	c := testClient(t)
	for _, path := range []string{"/v1/models", "/metrics", "/v1/stats", "/v1/backends", "/"} {
		status, _, _ := get(t, c, http.MethodGet, url+path)
		assert.Equal(t, http.StatusOK, status, path)
	}
}

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestKeysNeverLeak: the client's gateway key never reaches a backend,
// the backend's own key (api_key_env) does, and neither key — nor a wrong
// key a client tried — ever shows in logs, error answers, /v1/stats,
// /v1/backends, /metrics, /v1/history, /v1/models or the dashboard, even
// when a backend echoes the credentials it received.
func TestKeysNeverLeak(t *testing.T) {
	t.Parallel()
	// A backend that needs its key and echoes what it got in its errors.
	echo := func(w http.ResponseWriter, r *http.Request, status int) {
		got := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":{"message":"bad credentials: `+got+`","type":"invalid_request_error","param":null,"code":"echo"}}`)
	}
	keyed := nexustest.NewBackend(t, nexustest.Models("keyed"), nexustest.Name("keyed"))
	rejecting := nexustest.NewBackend(t, nexustest.Models("rejecting"), nexustest.Handler(func(w http.ResponseWriter, r *http.Request) {
		echo(w, r, http.StatusUnauthorized)
	}))
	crashing := nexustest.NewBackend(t, nexustest.Models("crashing"), nexustest.Handler(func(w http.ResponseWriter, r *http.Request) {
		echo(w, r, http.StatusInternalServerError)
	}))
	open := nexustest.NewBackend(t, nexustest.Models("open"))
	cfg := testConfig(backendConfig("open", open, 1))
	for _, b := range []struct {
		name string
		be   *nexustest.Backend
	}{{"keyed", keyed}, {"rejecting", rejecting}, {"crashing", crashing}} {
		bc := backendConfig(b.name, b.be, 1)
		bc.APIKeyEnv = "BACKEND_KEY"
		cfg.Backends = append(cfg.Backends, bc)
	}
	cfg.Server.APIKeys = []string{gatewayKey}
	_, err := config.ApplyEnv(&cfg, func(name string) (string, bool) {
		if name == "BACKEND_KEY" {
			return backendKey, true
		}
		return "", false
	})
	require.NoError(t, err)
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, url := startGateway(t, cfg, nexus.WithLogger(log))
	c := testClient(t)
	auth := []string{"Authorization", "Bearer " + gatewayKey}

	var seen strings.Builder // everything the gateway sent to clients
	record := func(_ int, h http.Header, body string) {
		seen.WriteString(body)
		for k, v := range h {
			seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}
	for _, model := range []string{"keyed", "open", "rejecting", "crashing"} {
		for _, stream := range []bool{false, true} {
			r := doChat(c, url, model, stream, auth...)
			require.NoError(t, r.err)
			record(r.status, r.header, r.body)
		}
	}
	r := doChat(c, url, "open", false, "Authorization", "Bearer wrong-key-attempt")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	record(r.status, r.header, r.body)

	// What the backends received.
	for _, req := range keyed.Requests() {
		if req.Path == "/v1/chat/completions" {
			assert.Equal(t, "Bearer "+backendKey, req.Header.Get("Authorization"), "a backend gets its own key")
		}
	}
	for _, be := range []*nexustest.Backend{keyed, open, rejecting, crashing} {
		for _, req := range be.Requests() {
			assert.NotContains(t, req.Header.Get("Authorization"), gatewayKey, "the client's gateway key never reaches a backend")
		}
	}
	for _, req := range open.Requests() {
		assert.Empty(t, req.Header.Get("Authorization"), "a backend without api_key_env gets no key")
	}
	require.NotZero(t, rejecting.ChatHits())

	// Every read-only surface, authorised.
	for _, path := range []string{"/v1/stats", "/v1/backends", "/metrics", "/v1/history", "/v1/models", "/", "/health"} {
		status, h, body := get(t, c, http.MethodGet, url+path, auth...)
		require.Equal(t, http.StatusOK, status, path)
		record(status, h, body)
	}
	out := seen.String() + logs.String()
	require.NotEmpty(t, logs.String())
	for _, secret := range []string{gatewayKey, backendKey, "wrong-key-attempt"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, seen.String(), "[REDACTED]", "an echoed backend key is redacted, not just absent")
}
