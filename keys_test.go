package nexus_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/nexustest"
)

// Secrets of the named keys of these tests. Each is distinctive, so that a
// leak anywhere is found by a substring search.
const (
	teamAKey  = "sk-team-a-7f3c9e1d"
	opsKey    = "sk-ops-admin-42b8a6"
	legacyKey = "sk-legacy-api-key-5d1e"
)

// teamAConfig is the user key of these tests: llama3 models only, a few
// requests per minute.
func teamAConfig(rpm int64) nexus.KeyConfig {
	return nexus.KeyConfig{Name: "team-a", Key: teamAKey, Role: "user", Models: []string{"llama3*"}, RequestsPerMinute: rpm}
}

// opsConfig is the admin key of these tests: every model, no limits.
func opsConfig() nexus.KeyConfig {
	return nexus.KeyConfig{Name: "ops", Key: opsKey, Role: "admin"}
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

// keyClient is an openai-go client that sends key.
func keyClient(base, key string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(base+"/v1"),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
	)
}

// chatAs sends a plain chat request for model with a key header (name,
// value pairs).
func chatAs(t *testing.T, base, model string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	return call(t, http.MethodPost, base+"/v1/chat/completions",
		`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`, append([]string{"Content-Type", "application/json"}, header...)...)
}

// modelIDs lists the ids of GET /v1/models as key sees them.
func modelIDs(t *testing.T, base string, header ...string) []string {
	t.Helper()
	status, _, body := call(t, http.MethodGet, base+"/v1/models", "", header...)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	ids := []string{}
	for _, d := range list.Data {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestKeysModelAccess: a user key sees and uses only the models of its
// allow-list; any other model, existing or not, is answered exactly like an
// unknown one (same status, envelope and list of models, which is the
// key's), so the key cannot learn what else the gateway serves. An admin
// key without a list sees everything.
func TestKeysModelAccess(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3:8b", "llama3:70b", "qwen2.5:7b"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Keys = []nexus.KeyConfig{teamAConfig(0), opsConfig()}
	_, base := startGateway(t, cfg)

	assert.Equal(t, []string{"llama3:70b", "llama3:8b"}, modelIDs(t, base, bearer(teamAKey)...), "only the key's models")
	assert.Equal(t, []string{"llama3:70b", "llama3:8b", "qwen2.5:7b"}, modelIDs(t, base, bearer(opsKey)...))
	status, _, _ := call(t, http.MethodGet, base+"/v1/models/qwen2.5:7b", "", bearer(teamAKey)...)
	assert.Equal(t, http.StatusNotFound, status, "GET /v1/models/{id} of a model outside the list")
	status, _, _ = call(t, http.MethodGet, base+"/v1/models/qwen2.5:7b", "", bearer(opsKey)...)
	assert.Equal(t, http.StatusOK, status)

	client := keyClient(base, teamAKey)
	resp, err := client.Chat.Completions.New(t.Context(), userMessage("llama3:8b", "hi"))
	require.NoError(t, err)
	assert.NotEmpty(t, resp.Choices)

	// A model that exists outside the list, a model that exists nowhere
	// and one that matches the list but does not exist: the same answer
	// but for the name.
	bodies := map[string]string{}
	for _, model := range []string{"qwen2.5:7b", "gpt-imaginary", "llama3:nonexistent"} {
		status, h, body := chatAs(t, base, model, bearer(teamAKey)...)
		require.Equal(t, http.StatusNotFound, status, "%s: %s", model, body)
		e := decodeAPIError(t, body)
		require.NotNil(t, e.Error.Code)
		assert.Equal(t, "model_not_found", *e.Error.Code)
		assert.Equal(t, "invalid_request_error", e.Error.Type)
		assert.Equal(t, "application/json", h.Get("Content-Type"))
		bodies[model] = strings.ReplaceAll(string(body), model, "MODEL")
		assert.NotContains(t, bodies[model], "qwen", "%s: the answer must not reveal models outside the key's list", model)
	}
	assert.Equal(t, bodies["gpt-imaginary"], bodies["qwen2.5:7b"], "a forbidden model is answered as an unknown one")
	assert.Equal(t, bodies["gpt-imaginary"], bodies["llama3:nonexistent"])

	status, _, body := chatAs(t, base, "qwen2.5:7b", bearer(opsKey)...)
	assert.Equal(t, http.StatusOK, status, "%s", body)
	for _, r := range be.Requests() {
		if r.Path == "/v1/chat/completions" && strings.Contains(string(r.Body), "qwen") {
			assert.Empty(t, r.Header.Get("Authorization"), "the gateway key is not forwarded")
		}
	}
}

// rateHeaders returns OpenAI's x-ratelimit-*-requests headers of h.
func rateHeaders(h http.Header) (limit, remaining, reset string) {
	return h.Get("x-ratelimit-limit-requests"), h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-reset-requests")
}

// TestKeysRequestsPerMinute: successful replies carry OpenAI's
// x-ratelimit-*-requests headers counting down; the request over the budget
// gets 429 in OpenAI's envelope with Retry-After and the same headers; and
// the Retry-After is honest: a retry after it succeeds.
func TestKeysRequestsPerMinute(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3:8b"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	fast := nexus.KeyConfig{Name: "fast", Key: "sk-fast-1c2d3e", RequestsPerMinute: 60} // one per second
	cfg.Keys = []nexus.KeyConfig{teamAConfig(3), opsConfig(), fast}
	_, base := startGateway(t, cfg)

	// Through openai-go, as a client would.
	client := keyClient(base, teamAKey)
	for i := range 3 {
		var raw *http.Response
		_, err := client.Chat.Completions.New(t.Context(), userMessage("llama3:8b", "hi"), option.WithResponseInto(&raw))
		require.NoError(t, err, "request %d is within the budget", i+1)
		limit, remaining, reset := rateHeaders(raw.Header)
		assert.Equal(t, "3", limit)
		assert.Equal(t, strconv.Itoa(2-i), remaining)
		_, err = time.ParseDuration(reset)
		assert.NoError(t, err, "reset %q is a duration like OpenAI's", reset)
		assert.Empty(t, raw.Header.Get("Retry-After"), "no Retry-After on a success")
		assert.Empty(t, raw.Header.Get("x-ratelimit-limit-tokens"), "no token headers for a key without a token budget")
	}
	var raw *http.Response
	_, err := client.Chat.Completions.New(t.Context(), userMessage("llama3:8b", "hi"), option.WithResponseInto(&raw))
	var apiErr *openai.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
	assert.Equal(t, "rate_limit_exceeded", apiErr.Code)
	assert.Equal(t, "rate_limit_error", apiErr.Type)
	assert.Contains(t, apiErr.Message, "requests")
	assert.NotContains(t, apiErr.Message, teamAKey)
	limit, remaining, reset := rateHeaders(raw.Header)
	assert.Equal(t, []string{"3", "0"}, []string{limit, remaining})
	resetIn, err := time.ParseDuration(reset)
	require.NoError(t, err)
	retry, err := strconv.Atoi(raw.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After in whole seconds")
	// 3 per minute refill one request every 20 s.
	assert.True(t, retry >= 1 && retry <= 20, "Retry-After %d", retry)
	assert.LessOrEqual(t, resetIn, 60*time.Second)

	// The admin key has its own (unlimited) budget.
	status, h, _ := chatAs(t, base, "llama3:8b", bearer(opsKey)...)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, h.Get("x-ratelimit-limit-requests"))

	// Honesty: exhaust a one-per-second budget, wait what Retry-After says,
	// and the retry is admitted.
	var refused http.Header
	for range 200 {
		status, h, body := chatAs(t, base, "llama3:8b", bearer("sk-fast-1c2d3e")...)
		if status == http.StatusTooManyRequests {
			refused = h
			break
		}
		require.Equal(t, http.StatusOK, status, "%s", body)
	}
	require.NotNil(t, refused, "the budget of 60 per minute runs out")
	retry, err = strconv.Atoi(refused.Get("Retry-After"))
	require.NoError(t, err)
	require.True(t, retry >= 1 && retry <= 2, "one request per second comes back within %d s", retry)
	time.Sleep(time.Duration(retry) * time.Second)
	status, h, body := chatAs(t, base, "llama3:8b", bearer("sk-fast-1c2d3e")...)
	require.Equal(t, http.StatusOK, status, "a retry after Retry-After succeeds: %s", body)
	assert.Equal(t, "60", h.Get("x-ratelimit-limit-requests"))
}

// TestKeysTokensPerMinute: the token budget is charged from the usage the
// backend reports, after the reply; once it is overdrawn the next request is
// refused (reason tokens) with the -tokens headers.
func TestKeysTokensPerMinute(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3:8b"), nexustest.Usage(40, 20)) // 60 tokens a reply
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Keys = []nexus.KeyConfig{{Name: "tokens", Key: "sk-tok-88aa", TokensPerMinute: 100}}
	gw, base := startGateway(t, cfg)

	status, h, _ := chatAs(t, base, "llama3:8b", bearer("sk-tok-88aa")...)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "100", h.Get("x-ratelimit-limit-tokens"))
	assert.Equal(t, "100", h.Get("x-ratelimit-remaining-tokens"), "charged after the reply, not before")
	// A stream is charged from its usage chunk too.
	status, _, body := call(t, http.MethodPost, base+"/v1/chat/completions",
		`{"model":"llama3:8b","stream":true,"messages":[{"role":"user","content":"hi"}]}`, bearer("sk-tok-88aa")...)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, string(body), `"usage"`, "the usage chunk the gateway asked for is not relayed")

	// 100 - 60 - 60 < 0: overdrawn by the one request in flight, no more.
	status, h, body = chatAs(t, base, "llama3:8b", bearer("sk-tok-88aa")...)
	require.Equal(t, http.StatusTooManyRequests, status, "%s", body)
	e := decodeAPIError(t, body)
	assert.Contains(t, e.Error.Message, "tokens")
	assert.Equal(t, "rate_limit_exceeded", *e.Error.Code)
	assert.Equal(t, "100", h.Get("x-ratelimit-limit-tokens"))
	assert.Equal(t, "0", h.Get("x-ratelimit-remaining-tokens"))
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err)
	// From -20 to 1 token at 100 per minute: 12.6 s.
	assert.Equal(t, 13, retry)
	assert.Equal(t, int64(2), be.ChatHits(), "the refused request never reached the backend")

	st, err := gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.RateLimited["tokens"])
}

// gate is a chat handler that holds every request until opened (or the
// request is cancelled), then answers a small valid completion.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

func (g *gate) handler(w http.ResponseWriter, r *http.Request) {
	select {
	case <-g.ch:
	case <-r.Context().Done():
		return
	}
	writeCompletion(w, "held")
}

// writeCompletion answers a minimal chat completion with content.
func writeCompletion(w http.ResponseWriter, content string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, content)
}

// TestKeysConcurrentRequests: with max_concurrent_requests = 2, a third
// request while two are in flight gets 429 (reason concurrency); once they
// finish, the key may send again. Other keys are not affected.
func TestKeysConcurrentRequests(t *testing.T) {
	t.Parallel()
	g := newGate()
	t.Cleanup(g.open)
	be := nexustest.NewBackend(t, nexustest.Models("llama3:8b"), nexustest.Handler(g.handler))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.FirstByteTimeout = 30 * time.Second
	cfg.Keys = []nexus.KeyConfig{{Name: "pair", Key: "sk-pair-3b3b", MaxConcurrentRequests: 2}, opsConfig()}
	gw, base := startGateway(t, cfg)

	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			status, _, _ := chatAs(t, base, "llama3:8b", bearer("sk-pair-3b3b")...)
			statuses <- status
		})
	}
	require.Eventually(t, func() bool { return be.InFlight() == 2 }, 10*time.Second, 5*time.Millisecond)

	status, h, body := chatAs(t, base, "llama3:8b", bearer("sk-pair-3b3b")...)
	require.Equal(t, http.StatusTooManyRequests, status, "%s", body)
	e := decodeAPIError(t, body)
	assert.Contains(t, e.Error.Message, "concurrency")
	assert.Equal(t, "1", h.Get("Retry-After"))

	// Another key is not held back by this one's limit.
	done := make(chan int, 1)
	go func() { s, _, _ := chatAs(t, base, "llama3:8b", bearer(opsKey)...); done <- s }()
	require.Eventually(t, func() bool { return be.InFlight() == 3 }, 10*time.Second, 5*time.Millisecond,
		"the admin key's request reaches the backend")

	g.open()
	wg.Wait()
	close(statuses)
	for s := range statuses {
		assert.Equal(t, http.StatusOK, s)
	}
	assert.Equal(t, http.StatusOK, <-done)
	status, _, body = chatAs(t, base, "llama3:8b", bearer("sk-pair-3b3b")...)
	assert.Equal(t, http.StatusOK, status, "slots are returned: %s", body)

	st, err := gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.RateLimited["concurrency"])
}

// TestKeysAdminRole: fleet changes need an admin key (a user key gets 403
// in OpenAI's envelope); server.api_keys keep working and may still change
// the fleet; x-api-key works in place of Bearer, and /v1/messages answers a
// missing key in Anthropic's envelope.
func TestKeysAdminRole(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3:8b"))
	extra := nexustest.NewBackend(t, nexustest.Models("extra"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Keys = []nexus.KeyConfig{teamAConfig(0), opsConfig()}
	cfg.Server.APIKeys = []string{legacyKey}
	_, base := startGateway(t, cfg)

	add := func(name string, header ...string) (int, []byte) {
		status, _, body := call(t, http.MethodPost, base+"/v1/backends",
			`{"name":"`+name+`","url":"`+extra.URL()+`","type":"openai"}`, header...)
		return status, body
	}
	status, body := add("by-user", bearer(teamAKey)...)
	require.Equal(t, http.StatusForbidden, status, "%s", body)
	e := decodeAPIError(t, body)
	assert.Equal(t, "permission_error", e.Error.Type)
	assert.Contains(t, e.Error.Message, `role "admin"`)
	status, body = add("by-user", "X-Api-Key", teamAKey)
	assert.Equal(t, http.StatusForbidden, status, "%s", body)
	status, body = add("anonymous")
	assert.Equal(t, http.StatusUnauthorized, status, "%s", body)

	status, body = add("by-admin", bearer(opsKey)...)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	status, body = add("by-legacy", "X-Api-Key", legacyKey)
	require.Equal(t, http.StatusCreated, status, "server.api_keys are admin keys: %s", body)

	status, _, body = call(t, http.MethodDelete, base+"/v1/backends/by-admin", "", bearer(teamAKey)...)
	assert.Equal(t, http.StatusForbidden, status, "%s", body)
	status, _, body = call(t, http.MethodDelete, base+"/v1/backends/by-admin", "", bearer(opsKey)...)
	assert.Equal(t, http.StatusNoContent, status, "%s", body)
	names := []string{}
	for _, b := range listBackends(t, base, bearer(teamAKey)...) { // reads need any key
		names = append(names, b.Name)
	}
	assert.Equal(t, []string{"by-legacy", "gpu"}, names)

	// x-api-key in place of Bearer, for inference too.
	status, _, body = chatAs(t, base, "llama3:8b", "X-Api-Key", teamAKey)
	assert.Equal(t, http.StatusOK, status, "%s", body)
	status, _, body = chatAs(t, base, "llama3:8b", "X-Api-Key", legacyKey)
	assert.Equal(t, http.StatusOK, status, "a legacy key still serves inference: %s", body)
	msg := `{"model":"llama3:8b","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	status, _, body = call(t, http.MethodPost, base+"/v1/messages", msg,
		"Content-Type", "application/json", "X-Api-Key", teamAKey, "Anthropic-Version", "2023-06-01")
	assert.Equal(t, http.StatusOK, status, "%s", body)
	status, _, body = call(t, http.MethodPost, base+"/v1/messages", msg,
		"Content-Type", "application/json", "X-Api-Key", "sk-wrong", "Anthropic-Version", "2023-06-01")
	require.Equal(t, http.StatusUnauthorized, status, "%s", body)
	var anth struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &anth))
	assert.Equal(t, "error", anth.Type)
	assert.Equal(t, "authentication_error", anth.Error.Type)
	assert.Contains(t, anth.Error.Message, "x-api-key")
}

// listenGateway serves gw's handler on a listener the test opened first, so
// that the configuration can name the gateway's real port; wrap (optional)
// wraps the handler.
func listenGateway(t *testing.T, cfg nexus.Config, wrap func(http.Handler) http.Handler, opts ...nexus.Option) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Server.Host = "127.0.0.1"
	cfg.Server.Port = ln.Addr().(*net.TCPAddr).Port
	gw, err := nexus.New(cfg, opts...)
	require.NoError(t, err)
	require.NoError(t, gw.Start(t.Context()))
	h := gw.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	require.NoError(t, srv.Listener.Close())
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, gw.Close())
	})
	return srv.URL
}

// TestAdminRefusesBackendPointingAtGateway: a backend whose URL is the
// gateway's own listen address would send every request round in a loop.
func TestAdminRefusesBackendPointingAtGateway(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Keys = []nexus.KeyConfig{opsConfig()}
	base := listenGateway(t, cfg, nil)
	port := base[strings.LastIndex(base, ":")+1:]

	for _, u := range []string{base, base + "/v1", "http://localhost:" + port, "http://[::1]:" + port, "http://0.0.0.0:" + port} {
		status, _, body := call(t, http.MethodPost, base+"/v1/backends",
			`{"name":"loop","url":"`+u+`","type":"openai"}`, bearer(opsKey)...)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", u, body)
		e := decodeAPIError(t, body)
		assert.Contains(t, e.Error.Message, "gateway itself", u)
		assert.Equal(t, "url", *e.Error.Param)
	}
	assert.Empty(t, listBackends(t, base, bearer(opsKey)...))
}

// TestAdminWritesWithoutKeysFromRemoteClient: with no keys at all, a fleet
// change from a client that is not on the gateway's host gets 403 saying
// how to enable remote admin, through a real listener (the client address
// is what a reverse proxy in front would present); reads stay open and a
// loopback client may still change the fleet.
func TestAdminWritesWithoutKeysFromRemoteClient(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3:8b"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	// X-Test-Remote sets the client address the gateway sees.
	base := listenGateway(t, cfg, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a := r.Header.Get("X-Test-Remote"); a != "" {
				r.RemoteAddr = a
			}
			h.ServeHTTP(w, r)
		})
	})

	status, _, body := call(t, http.MethodPost, base+"/v1/backends",
		`{"name":"evil","url":"`+be.URL()+`","type":"openai","priority":0}`, "X-Test-Remote", "203.0.113.7:4444")
	require.Equal(t, http.StatusForbidden, status, "%s", body)
	assert.Contains(t, decodeAPIError(t, body).Error.Message, "[[keys]]")
	status, _, _ = call(t, http.MethodDelete, base+"/v1/backends/gpu", "", "X-Test-Remote", "203.0.113.7:4444")
	assert.Equal(t, http.StatusForbidden, status)
	status, _, _ = call(t, http.MethodGet, base+"/v1/backends", "", "X-Test-Remote", "203.0.113.7:4444")
	assert.Equal(t, http.StatusOK, status, "reads stay open without keys")

	status, _, body = call(t, http.MethodPost, base+"/v1/backends",
		`{"name":"local","url":"`+be.URL()+`","type":"openai"}`)
	assert.Equal(t, http.StatusCreated, status, "a loopback client may: %s", body)
}

// TestKeysAccountingAndSecrets: requests and tokens are accounted per key
// name in /v1/stats, /v1/history, the request log line and /metrics; the
// secrets appear in none of them, nor in error answers or a printed Config.
func TestKeysAccountingAndSecrets(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3:8b", "qwen2.5:7b"), nexustest.Usage(7, 3))
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Keys = []nexus.KeyConfig{teamAConfig(2), opsConfig()}
	cfg.Server.APIKeys = []string{legacyKey}
	_, base := startGateway(t, cfg, nexus.WithLogger(log))

	var seen strings.Builder // everything the gateway sent to clients
	record := func(status int, h http.Header, body []byte) {
		fmt.Fprintf(&seen, "%d\n", status)
		for k, v := range h {
			seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		seen.Write(body)
	}
	send := func(model, id string, header ...string) int {
		status, h, body := chatAs(t, base, model, append(header, "X-Request-Id", id)...)
		record(status, h, body)
		return status
	}
	require.Equal(t, http.StatusOK, send("llama3:8b", "a1", bearer(teamAKey)...))
	require.Equal(t, http.StatusOK, send("llama3:8b", "a2", "X-Api-Key", teamAKey))
	require.Equal(t, http.StatusTooManyRequests, send("llama3:8b", "a3", bearer(teamAKey)...))
	require.Equal(t, http.StatusNotFound, send("qwen2.5:7b", "a4", bearer(teamAKey)...))
	require.Equal(t, http.StatusOK, send("qwen2.5:7b", "o1", bearer(opsKey)...))
	require.Equal(t, http.StatusOK, send("qwen2.5:7b", "l1", bearer(legacyKey)...))
	require.Equal(t, http.StatusUnauthorized, send("llama3:8b", "x1", bearer(teamAKey+"-wrong")...))
	status, h, body := call(t, http.MethodPost, base+"/v1/backends", `{"name":"x","url":"http://127.0.0.1:1"}`, bearer(teamAKey)...)
	require.Equal(t, http.StatusForbidden, status)
	record(status, h, body)

	// /v1/stats: keys[] by name, with requests and tokens.
	status, h, body = call(t, http.MethodGet, base+"/v1/stats", "", bearer(opsKey)...)
	require.Equal(t, http.StatusOK, status)
	record(status, h, body)
	var stats struct {
		Keys []struct {
			Name             string `json:"name"`
			Requests         uint64 `json:"requests"`
			Errors           uint64 `json:"errors"`
			PromptTokens     uint64 `json:"prompt_tokens"`
			CompletionTokens uint64 `json:"completion_tokens"`
			RateLimited      uint64 `json:"rate_limited"`
		} `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &stats))
	byName := map[string]int{}
	for i, k := range stats.Keys {
		byName[k.Name] = i
	}
	require.Contains(t, byName, "team-a")
	require.Contains(t, byName, "ops")
	a := stats.Keys[byName["team-a"]]
	assert.EqualValues(t, 2, a.Requests, "team-a: the requests that reached a backend")
	assert.EqualValues(t, 14, a.PromptTokens)
	assert.EqualValues(t, 6, a.CompletionTokens)
	assert.EqualValues(t, 1, a.RateLimited)
	o := stats.Keys[byName["ops"]]
	assert.EqualValues(t, 1, o.Requests)
	assert.EqualValues(t, 7, o.PromptTokens)

	// /v1/history: the key's name on every entry of a keyed request.
	status, h, body = call(t, http.MethodGet, base+"/v1/history", "", bearer(opsKey)...)
	require.Equal(t, http.StatusOK, status)
	record(status, h, body)
	var history []api.HistoryEntry
	require.NoError(t, json.Unmarshal(body, &history))
	keyOf := map[string]string{}
	for _, e := range history {
		keyOf[e.RequestID] = e.Key
	}
	assert.Equal(t, "team-a", keyOf["a1"])
	assert.Equal(t, "team-a", keyOf["a2"])
	assert.Equal(t, "team-a", keyOf["a3"], "a refused request is in the history with its key")
	assert.Equal(t, "team-a", keyOf["a4"])
	assert.Equal(t, "ops", keyOf["o1"])
	assert.Equal(t, "key-1", keyOf["l1"], "a legacy key is named by its position")

	// The log line of each request names the key.
	lines := map[string]map[string]any{}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["msg"] == "request" {
			lines[rec["request_id"].(string)] = rec
		}
	}
	for id, key := range map[string]string{"a1": "team-a", "a3": "team-a", "o1": "ops", "l1": "key-1"} {
		require.Contains(t, lines, id)
		assert.Equal(t, key, lines[id]["key"], id)
	}

	// /metrics: the key's name (sanitised like every label), never the secret.
	status, h, body = call(t, http.MethodGet, base+"/metrics", "", bearer(opsKey)...)
	require.Equal(t, http.StatusOK, status)
	record(status, h, body)
	assert.Regexp(t, `nexus_key_requests_total\{key="team_a",status="200"\} 2`, string(body))
	assert.Regexp(t, `nexus_key_requests_total\{key="ops",status="200"\} 1`, string(body))
	assert.Regexp(t, `nexus_rate_limited_total\{key="team_a",limit="requests"\} 1`, string(body))

	// Every surface a client or an operator reads, and a printed Config.
	for _, path := range []string{"/v1/backends", "/v1/models", "/health", "/"} {
		status, h, body := call(t, http.MethodGet, base+path, "", bearer(opsKey)...)
		record(status, h, body)
	}
	printed := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Keys)
	assert.Contains(t, printed, "[REDACTED]")
	out := seen.String() + logs.String() + printed
	require.NotEmpty(t, logs.String())
	for _, secret := range []string{teamAKey, opsKey, legacyKey} {
		assert.NotContains(t, out, secret)
	}
}
