package nexustest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

// endpointCase is one request per inference endpoint, plain and streamed.
type endpointCase struct {
	name, path, body, stream string // stream: "" if the endpoint does not stream
	anthropic                bool
}

func endpointCases() []endpointCase {
	return []endpointCase{
		{name: "chat", path: "/v1/chat/completions", body: chatBody("test-model", false, false, "hi"), stream: chatBody("test-model", true, true, "hi")},
		{name: "completions", path: "/v1/completions", body: `{"model":"test-model","prompt":"hi"}`, stream: `{"model":"test-model","prompt":"hi","stream":true}`},
		{name: "embeddings", path: "/v1/embeddings", body: `{"model":"test-model","input":"hi"}`},
		{name: "rerank", path: "/v1/rerank", body: `{"model":"test-model","query":"hi","documents":["hi"]}`},
		{name: "responses", path: "/v1/responses", body: `{"model":"test-model","input":"hi"}`, stream: `{"model":"test-model","input":"hi","stream":true}`},
		{name: "messages", path: "/v1/messages", body: messagesBodyFor("test-model", false), stream: messagesBodyFor("test-model", true), anthropic: true},
		{name: "count_tokens", path: "/v1/messages/count_tokens", body: `{"model":"test-model","messages":[]}`, anthropic: true},
	}
}

func messagesBodyFor(model string, stream bool) string {
	return strings.Replace(messagesBody(stream, ""), claude, model, 1)
}

func TestEndpointsOption(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Endpoints(nexustest.EndpointEmbeddings, nexustest.EndpointMessages))
	c := newClient(t)
	served := map[string]bool{"embeddings": true, "messages": true, "count_tokens": true}
	for _, ec := range endpointCases() {
		resp, data := do(t, c, "POST", b.URL()+ec.path, ec.body)
		if served[ec.name] {
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", ec.name, data)
			continue
		}
		require.Equal(t, http.StatusNotFound, resp.StatusCode, ec.name)
		e := errorOf(t, data)
		assert.Equal(t, "not_found", e["code"], ec.name)
	}
	resp, _ := do(t, c, "GET", b.URL()+"/v1/responses/resp_1", "")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	for _, p := range []string{"/v1/models", "/api/tags", "/health", "/v1/models/test-model"} {
		resp, _ := do(t, c, "GET", b.URL()+p, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "probe %s stays on", p)
	}

	none := nexustest.NewBackend(t, nexustest.Endpoints())
	resp, _ = do(t, c, "POST", none.URL()+"/v1/chat/completions", chatBody("test-model", false, false, "x"))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	_, err := nexustest.Start(nexustest.Endpoints("chat", "embedding"))
	require.ErrorContains(t, err, `unknown endpoint "embedding"`)
	_, err = nexustest.Start(nexustest.ToolCalls(nexustest.ToolCall{Name: "f", Arguments: "{"}))
	require.ErrorContains(t, err, "not valid JSON")
}

func TestAllEndpointsServeByDefault(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t)
	c := newClient(t)
	for _, ec := range endpointCases() {
		t.Run(ec.name, func(t *testing.T) {
			resp, data := do(t, c, "POST", b.URL()+ec.path, ec.body)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			resp, data = do(t, c, "GET", b.URL()+ec.path, "")
			require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
			if ec.anthropic {
				anthropicErrorOf(t, data)
			} else {
				errorOf(t, data)
			}
		})
	}
	resp, data := do(t, c, "GET", b.URL()+"/v1/models/test-model", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "test-model", decode(t, data)["id"])
	resp, data = do(t, c, "GET", b.URL()+"/v1/models/nope", "")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "model_not_found", errorOf(t, data)["code"])
}

func TestAPIKeyOpenAI(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.APIKey("k1"))
	c := newClient(t)
	for _, ec := range endpointCases() {
		resp, data := do(t, c, "POST", b.URL()+ec.path, ec.body)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, ec.name)
		if ec.anthropic {
			assert.Equal(t, "authentication_error", anthropicErrorOf(t, data)["type"])
		} else {
			assert.Equal(t, "invalid_api_key", errorOf(t, data)["code"])
		}
		resp, _ = do(t, c, "POST", b.URL()+ec.path, ec.body, "Authorization", "Bearer k1")
		assert.Equal(t, http.StatusOK, resp.StatusCode, ec.name)
		resp, _ = do(t, c, "POST", b.URL()+ec.path, ec.body, "x-api-key", "k1")
		assert.Equal(t, ec.anthropic, resp.StatusCode == http.StatusOK, "%s: x-api-key counts on the Messages routes only", ec.name)
	}
	resp, _ := do(t, c, "GET", b.URL()+"/v1/models", "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = do(t, c, "GET", b.URL()+"/v1/models", "", "Authorization", "Bearer k1")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	for _, open := range []string{"/health", "/api/tags"} {
		resp, _ = do(t, c, "GET", b.URL()+open, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, open)
	}
}

func TestFaultsOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	for _, ec := range endpointCases() {
		t.Run(ec.name, func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, nexustest.Fail(503))
			c := newClient(t)
			resp, data := do(t, c, "POST", b.URL()+ec.path, ec.body)
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Equal(t, "1", resp.Header.Get("Retry-After"))
			if ec.anthropic {
				assert.Equal(t, "api_error", anthropicErrorOf(t, data)["type"])
			} else {
				assert.Equal(t, "503", errorOf(t, data)["code"])
			}
			resp, _ = do(t, c, "GET", b.URL()+"/v1/models", "")
			assert.Equal(t, http.StatusOK, resp.StatusCode, "probes stay healthy")
			b.SetInferenceFail(0)
			resp, _ = do(t, c, "POST", b.URL()+ec.path, ec.body)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			b.SetChatFail(500)
			resp, _ = do(t, c, "POST", b.URL()+ec.path, ec.body)
			assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "SetChatFail is SetInferenceFail")
		})
	}
}

func TestStreamFaultsOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	for _, ec := range endpointCases() {
		if ec.stream == "" {
			continue
		}
		t.Run(ec.name+"/drop", func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, nexustest.Stream("a", "b", "c"), nexustest.DropAfter(2))
			resp := postTo(t, t.Context(), newClient(t), b.URL()+ec.path, ec.stream)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			events, err := readNamedEvents(resp.Body)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "cut, events: %q", events)
			last := events[len(events)-1].Data
			assert.Contains(t, last, `"b"`, "the second content event is the last one sent")
			assert.Zero(t, b.Canceled())
		})
		t.Run(ec.name+"/stall", func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, nexustest.Stream("a", "b"), nexustest.StallAfter(1))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			resp := postTo(t, ctx, newClient(t), b.URL()+ec.path, ec.stream)
			defer resp.Body.Close()
			// Read until the first content event, then give up on the stall.
			buf := make([]byte, 0, 4096)
			chunk := make([]byte, 512)
			for !strings.Contains(string(buf), `"a"`) {
				n, err := resp.Body.Read(chunk)
				buf = append(buf, chunk[:n]...)
				require.NoError(t, err)
			}
			assert.NotContains(t, string(buf), `"b"`)
			cancel()
			waitCtx, stop := context.WithTimeout(t.Context(), 10*time.Second)
			defer stop()
			require.NoError(t, b.WaitCanceled(waitCtx, 1), "a client leaving a stalled stream counts as cancelled")
		})
	}
}

func TestDelayAndInFlightOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	for _, ec := range endpointCases() {
		t.Run(ec.name, func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, nexustest.Delay(time.Hour))
			c := newClient(t)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.URL()+ec.path, strings.NewReader(ec.body))
				if resp, err := c.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			waitFor(t, func() bool { return b.InFlight() == 1 }, "request in flight")
			cancel()
			<-done
			waitCtx, stop := context.WithTimeout(t.Context(), 10*time.Second)
			defer stop()
			require.NoError(t, b.WaitCanceled(waitCtx, 1))
			waitFor(t, func() bool { return b.InFlight() == 0 }, "handler returned")
		})
	}
}

func TestOllamaCapabilities(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("nomic-embed", "qwen3"),
		nexustest.ModelInfo("nomic-embed", 2048, "embedding"),
		nexustest.ModelInfo("qwen3", 40960, "completion", "tools", "thinking", "insert"))
	c := newClient(t)
	for id, want := range map[string][]any{
		"nomic-embed": {"embedding"},
		"qwen3":       {"completion", "tools", "thinking", "insert"},
	} {
		resp, data := do(t, c, "POST", b.URL()+"/api/show", `{"model":"`+id+`"}`)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, want, decode(t, data)["capabilities"], id)
	}
}
