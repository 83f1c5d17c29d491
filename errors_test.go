package nexus_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeAPIError(t testing.TB, body []byte) apiError {
	t.Helper()
	var e apiError
	require.NoError(t, json.Unmarshal(body, &e), "not an OpenAI error apiError: %s", body)
	require.NotEmpty(t, e.Error.Message, "empty message: %s", body)
	require.NotEmpty(t, e.Error.Type)
	return e
}

func TestErrorEnvelopes(t *testing.T) {
	t.Parallel()
	ok := nexustest.NewBackend(t, nexustest.Models("llama3", "qwen"))
	failing := nexustest.NewBackend(t, nexustest.Models("broken"), nexustest.Fail(500))
	slow := nexustest.NewBackend(t, nexustest.Models("slow"), nexustest.Delay(3*time.Second))
	picky := nexustest.NewBackend(t, nexustest.Models("picky"), nexustest.Handler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"message":"context length exceeded","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`))
	}))
	cfg := testConfig(backendConfig("ok", ok, 1), backendConfig("failing", failing, 1),
		backendConfig("slow", slow, 1), backendConfig("picky", picky, 1))
	cfg.Server.FirstByteTimeout = 300 * time.Millisecond
	cfg.Routing.MaxRetries = 0
	_, url := startGateway(t, cfg)

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		typ    string
		code   string
		param  string
		msg    string
	}{
		{"malformed JSON", "POST", "/v1/chat/completions", `{"model":`, 400, "invalid_request_error", "", "", "could not parse the JSON"},
		{"not an object", "POST", "/v1/chat/completions", `["model"]`, 400, "invalid_request_error", "", "", "JSON object"},
		{"missing model", "POST", "/v1/chat/completions", `{"messages":[]}`, 400, "invalid_request_error", "", "model", "model"},
		{"missing messages", "POST", "/v1/chat/completions", `{"model":"llama3"}`, 400, "invalid_request_error", "", "messages", "messages"},
		{"wrong stream type", "POST", "/v1/chat/completions", `{"model":"llama3","messages":[],"stream":1}`, 400, "invalid_request_error", "", "stream", "boolean"},
		{"invalid UTF-8", "POST", "/v1/chat/completions", "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", 400, "invalid_request_error", "", "", "UTF-8"},
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"gpt-17","messages":[]}`, 404, "invalid_request_error", "model_not_found", "model", "Available: broken, llama3, picky, qwen, slow"},
		{"backend 500", "POST", "/v1/chat/completions", `{"model":"broken","messages":[]}`, 502, "server_error", "bad_gateway", "", "HTTP 500"},
		{"backend too slow", "POST", "/v1/chat/completions", `{"model":"slow","messages":[]}`, 504, "server_error", "gateway_timeout", "", "did not answer in time"},
		{"backend 400 relayed", "POST", "/v1/chat/completions", `{"model":"picky","messages":[]}`, 400, "invalid_request_error", "context_length_exceeded", "messages", "context length exceeded"},
		{"wrong method", "GET", "/v1/chat/completions", ``, 405, "invalid_request_error", "method_not_allowed", "", "not allowed"},
		{"unknown path", "GET", "/v2/whatever", ``, 404, "invalid_request_error", "unknown_url", "", "Unknown endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, url+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode, string(body))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			e := decodeAPIError(t, body)
			assert.Equal(t, tt.typ, e.Error.Type)
			if tt.code == "" {
				assert.Nil(t, e.Error.Code)
			} else if assert.NotNil(t, e.Error.Code) {
				assert.Equal(t, tt.code, *e.Error.Code)
			}
			if tt.param != "" && assert.NotNil(t, e.Error.Param) {
				assert.Equal(t, tt.param, *e.Error.Param)
			}
			assert.Contains(t, e.Error.Message, tt.msg)
			assert.NotEmpty(t, resp.Header.Get(nexus.HeaderRequestID))
		})
	}
}

func TestNoHealthyBackend503(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"))
	gw, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	b, _ := gw.Registry().Get("gpu")
	b.SetStatus(registry.StatusUnhealthy, "test: taken down")

	resp, body := post(t, url, `{"model":"llama3","messages":[]}`)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	e := decodeAPIError(t, body)
	assert.Equal(t, "service_unavailable", *e.Error.Code)
	assert.Contains(t, e.Error.Message, "No healthy backend available for model 'llama3'")
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	cfg := testConfig(backendConfig("gpu", be, 1))
	cfg.Server.FirstByteTimeout = time.Minute // 10 MiB through the race detector is slow
	_, url := startGateway(t, cfg)
	pad := func(n int) string {
		prefix := `{"model":"m","messages":[{"role":"user","content":"`
		suffix := `"}]}`
		return prefix + strings.Repeat("a", n-len(prefix)-len(suffix)) + suffix
	}
	resp, _ := post(t, url, pad(nexus.MaxBodyBytes))
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a body of exactly the limit is accepted")
	resp, body := post(t, url, pad(nexus.MaxBodyBytes+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	e := decodeAPIError(t, body)
	assert.Equal(t, "request_too_large", *e.Error.Code)
}
