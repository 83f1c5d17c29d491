package nexus_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// requestLines returns the JSON request log lines, by request id.
func (s *syncBuffer) requestLines(t *testing.T) map[string]map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for line := range strings.SplitSeq(strings.TrimSpace(s.b.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["msg"] == "request" {
			out[rec["request_id"].(string)] = rec
		}
	}
	return out
}

func TestRequestLogLines(t *testing.T) {
	t.Parallel()
	bad := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Fail(503))
	good := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Usage(9, 4))
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := testConfig(backendConfig("bad", bad, 1), backendConfig("good", good, 2))
	_, url := startGateway(t, cfg, nexus.WithLogger(log))

	secret := "my secret prompt"
	resp, _ := post(t, url, `{"model":"m","messages":[{"role":"user","content":"`+secret+`"}]}`, "X-Request-Id", "req-failover")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	bad.SetChatFail(0)
	resp, _ = post(t, url, `{"model":"m","stream":true,"messages":[]}`, "X-Request-Id", "req-ok")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = post(t, url, `{"model":"nope","messages":[]}`, "X-Request-Id", "req-error")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	lines := buf.requestLines(t)
	failover := lines["req-failover"]
	require.NotNil(t, failover)
	assert.Equal(t, "INFO", failover["level"])
	assert.Equal(t, "gateway", failover["component"])
	assert.Equal(t, "m", failover["model"])
	assert.Equal(t, "chat", failover["endpoint"])
	assert.Equal(t, "m", failover["actual_model"])
	assert.Equal(t, "good", failover["backend"])
	assert.EqualValues(t, 200, failover["status"])
	assert.Equal(t, "failover", failover["route_reason"])
	assert.EqualValues(t, 2, failover["attempts"])
	assert.Equal(t, []any{"bad", "good"}, failover["tried"])
	assert.EqualValues(t, 9, failover["tokens_prompt"])
	assert.EqualValues(t, 4, failover["tokens_completion"])
	assert.Equal(t, false, failover["stream"])
	assert.Contains(t, failover, "latency_ms")

	ok := lines["req-ok"]
	require.NotNil(t, ok)
	assert.Equal(t, true, ok["stream"])
	assert.EqualValues(t, 1, ok["attempts"])
	assert.NotContains(t, ok, "tried")
	assert.NotContains(t, ok, "error")

	errLine := lines["req-error"]
	require.NotNil(t, errLine)
	assert.Equal(t, "INFO", errLine["level"], "a client's error (4xx) is the client's problem: info, not warn")
	assert.EqualValues(t, 404, errLine["status"])
	assert.Contains(t, errLine["error"], "Model 'nope' not found")
	assert.NotContains(t, errLine, "backend")

	buf.mu.Lock()
	all := buf.b.String()
	buf.mu.Unlock()
	assert.NotContains(t, all, secret, "prompts are not logged unless content logging is enabled")
}

func TestContentLoggingOptIn(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	var buf syncBuffer
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Logging.EnableContentLogging = true
	_, url := startGateway(t, cfg, nexus.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	resp, _ := post(t, url, `{"model":"m","messages":[{"role":"user","content":"tell me a joke"}]}`, "X-Request-Id", "r1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "tell me a joke", buf.requestLines(t)["r1"]["prompt_preview"])
}

func TestHistoryEndpoint(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Usage(3, 2))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	post(t, url, `{"model":"m","messages":[]}`, "X-Request-Id", "h1")
	post(t, url, `{"model":"m","stream":true,"messages":[]}`, "X-Request-Id", "h2")
	post(t, url, `{"model":"zzz","messages":[]}`, "X-Request-Id", "h3")

	resp, err := http.Get(url + "/v1/history")
	require.NoError(t, err)
	defer resp.Body.Close()
	var entries []struct {
		RequestID string `json:"request_id"`
		Backend   string `json:"backend"`
		Status    int    `json:"status"`
		Stream    bool   `json:"stream"`
		Prompt    int64  `json:"prompt_tokens"`
		Error     string `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&entries))
	require.Len(t, entries, 3)
	assert.Equal(t, "h1", entries[0].RequestID)
	assert.Equal(t, "gpu", entries[0].Backend)
	assert.EqualValues(t, 3, entries[0].Prompt)
	assert.True(t, entries[1].Stream, "streaming requests are in the history")
	assert.EqualValues(t, 3, entries[1].Prompt, "with their tokens")
	assert.Equal(t, 404, entries[2].Status)
	assert.NotEmpty(t, entries[2].Error)
}
