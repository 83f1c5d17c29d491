package nexustest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

func TestProbeEndpoints(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t,
		nexustest.Models("llama3:8b", "qwen3"),
		nexustest.ModelInfo("qwen3", 32768, "completion", "tools"),
	)
	c := newClient(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		check                    func(t *testing.T, m map[string]any)
	}{
		{"openai models", "GET", "/v1/models", "", 200, func(t *testing.T, m map[string]any) {
			assert.Equal(t, "list", m["object"])
			data := m["data"].([]any)
			require.Len(t, data, 2)
			first := data[0].(map[string]any)
			assert.Equal(t, "llama3:8b", first["id"])
			assert.Equal(t, "model", first["object"])
			assert.Equal(t, "nexustest", first["owned_by"])
			assert.NotZero(t, first["created"])
			assert.Equal(t, "qwen3", data[1].(map[string]any)["id"])
		}},
		{"ollama tags", "GET", "/api/tags", "", 200, func(t *testing.T, m map[string]any) {
			models := m["models"].([]any)
			require.Len(t, models, 2)
			first := models[0].(map[string]any)
			assert.Equal(t, "llama3:8b", first["name"])
			assert.Equal(t, "llama3:8b", first["model"])
			for _, k := range []string{"modified_at", "size", "digest"} {
				assert.NotEmpty(t, first[k], k)
			}
		}},
		{"ollama show by name, defaults", "POST", "/api/show", `{"name":"llama3:8b"}`, 200, func(t *testing.T, m map[string]any) {
			assert.Equal(t, []any{"completion"}, m["capabilities"])
			assert.InDelta(t, 4096, m["model_info"].(map[string]any)["llama.context_length"], 0)
		}},
		{"ollama show by model, configured", "POST", "/api/show", `{"model":"qwen3"}`, 200, func(t *testing.T, m map[string]any) {
			assert.Equal(t, []any{"completion", "tools"}, m["capabilities"])
			assert.InDelta(t, 32768, m["model_info"].(map[string]any)["llama.context_length"], 0)
		}},
		{"ollama show unknown model", "POST", "/api/show", `{"name":"nope"}`, 404, func(t *testing.T, m map[string]any) {
			assert.Contains(t, m["error"], "nope")
		}},
		{"ollama show bad json", "POST", "/api/show", `{`, 400, func(t *testing.T, m map[string]any) {
			assert.NotEmpty(t, m["error"])
		}},
		{"llama.cpp health", "GET", "/health", "", 200, func(t *testing.T, m map[string]any) {
			assert.Equal(t, map[string]any{"status": "ok"}, m)
		}},
		{"unknown path", "GET", "/v1/nothing", "", 404, func(t *testing.T, m map[string]any) {
			assert.Equal(t, "invalid_request_error", m["error"].(map[string]any)["type"])
		}},
		{"wrong method", "GET", "/v1/chat/completions", "", 405, func(t *testing.T, m map[string]any) {
			assert.Contains(t, m["error"].(map[string]any)["message"], "GET")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, data := do(t, c, tc.method, b.URL()+tc.path, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", data)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Equal(t, "nexustest", resp.Header.Get("X-Nexustest-Backend"))
			tc.check(t, decode(t, data))
		})
	}
}

func TestChatNonStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []nexustest.Option
		body    string
		content string
		usage   [2]float64
		backend string
	}{
		{
			name:    "defaults",
			body:    chatBody("test-model", false, false, "12345678"),
			content: "Hello from nexustest", usage: [2]float64{2, 3}, backend: "nexustest",
		},
		{
			name:    "reply, usage and name",
			opts:    []nexustest.Option{nexustest.Reply("pong"), nexustest.Usage(11, 7), nexustest.Name("gpu-1")},
			body:    chatBody("test-model", false, false, "ping"),
			content: "pong", usage: [2]float64{11, 7}, backend: "gpu-1",
		},
		{
			name:    "stream chunks make the plain reply",
			opts:    []nexustest.Option{nexustest.Stream("a", "b", "c")},
			body:    chatBody("test-model", false, false, "x"),
			content: "abc", usage: [2]float64{1, 3}, backend: "nexustest",
		},
		{
			name: "echo prompt with content parts and extra fields",
			opts: []nexustest.Option{nexustest.EchoPrompt(), nexustest.Models("m")},
			body: `{"model":"m","temperature":0.2,"tools":[],"messages":[
				{"role":"system","content":"be nice"},
				{"role":"user","content":"first"},
				{"role":"assistant","content":null},
				{"role":"user","content":[{"type":"text","text":"how are"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":" you"}]}]}`,
			content: "You said: how are you", usage: [2]float64{5, 5}, backend: "nexustest",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, tc.opts...)
			resp, data := do(t, newClient(t), "POST", b.URL()+"/v1/chat/completions", tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
			m := decode(t, data)
			model := decode(t, []byte(tc.body))["model"]

			assert.True(t, strings.HasPrefix(m["id"].(string), "chatcmpl-"), m["id"])
			assert.Equal(t, "chat.completion", m["object"])
			assert.Greater(t, m["created"], float64(1700000000))
			assert.Equal(t, model, m["model"])
			assert.Equal(t, tc.backend, m["system_fingerprint"])
			choices := m["choices"].([]any)
			require.Len(t, choices, 1)
			choice := choices[0].(map[string]any)
			assert.InDelta(t, 0, choice["index"], 0)
			assert.Equal(t, map[string]any{"role": "assistant", "content": tc.content}, choice["message"])
			assert.Contains(t, choice, "logprobs")
			assert.Nil(t, choice["logprobs"])
			assert.Equal(t, "stop", choice["finish_reason"])
			assert.Equal(t, map[string]any{
				"prompt_tokens": tc.usage[0], "completion_tokens": tc.usage[1], "total_tokens": tc.usage[0] + tc.usage[1],
			}, m["usage"])
			assert.Equal(t, map[string]any{"backend": tc.backend}, m["nexustest_extra"])
		})
	}
}

func TestChatStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		opts         []nexustest.Option
		includeUsage bool
		chunks       []string
		usage        map[string]any
	}{
		{name: "default reply in words", chunks: []string{"Hello", " from", " nexustest"}},
		{
			name:         "with usage",
			opts:         []nexustest.Option{nexustest.Reply("a  b\tc ")},
			includeUsage: true,
			chunks:       []string{"a", "  b", "\tc "},
			usage:        map[string]any{"prompt_tokens": 1.0, "completion_tokens": 3.0, "total_tokens": 4.0},
		},
		{
			name:         "explicit chunks and usage",
			opts:         []nexustest.Option{nexustest.Stream("x", "yz"), nexustest.Usage(5, 9)},
			includeUsage: true,
			chunks:       []string{"x", "yz"},
			usage:        map[string]any{"prompt_tokens": 5.0, "completion_tokens": 9.0, "total_tokens": 14.0},
		},
		{name: "no content chunks", opts: []nexustest.Option{nexustest.Stream()}, chunks: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, tc.opts...)
			resp := postStream(t, t.Context(), newClient(t), b.URL(), chatBody("test-model", true, tc.includeUsage, "hi"))
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
			events, err := readEvents(resp.Body)
			require.NoError(t, err)

			want := 1 + len(tc.chunks) + 1 + 1 // role, contents, finish, [DONE]
			if tc.includeUsage {
				want++
			}
			require.Len(t, events, want, "events: %q", events)
			require.Equal(t, "[DONE]", events[len(events)-1])

			var first map[string]any
			for i, ev := range events[:len(events)-1] {
				m := decode(t, []byte(ev))
				assert.Equal(t, "chat.completion.chunk", m["object"])
				if i == 0 {
					first = m
				} else {
					for _, k := range []string{"id", "created", "model", "system_fingerprint"} {
						assert.Equal(t, first[k], m[k], "event %d field %s", i, k)
					}
				}
				if tc.usage == nil || i < len(events)-2 {
					assert.NotContains(t, m, "usage", "event %d", i)
				}
			}
			assert.Equal(t, "test-model", first["model"])
			assert.Equal(t, map[string]any{"role": "assistant", "content": ""}, delta(t, first))
			for i, want := range tc.chunks {
				got, ok := contentOf(t, events[1+i])
				require.True(t, ok)
				assert.Equal(t, want, got)
			}
			finish := decode(t, []byte(events[1+len(tc.chunks)]))
			assert.Empty(t, delta(t, finish))
			assert.Equal(t, "stop", finish["choices"].([]any)[0].(map[string]any)["finish_reason"])
			if tc.includeUsage {
				u := decode(t, []byte(events[len(events)-2]))
				assert.Equal(t, []any{}, u["choices"])
				assert.Equal(t, tc.usage, u["usage"])
			}
		})
	}
}

func delta(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	choices := m["choices"].([]any)
	require.Len(t, choices, 1)
	c := choices[0].(map[string]any)
	assert.Contains(t, c, "finish_reason")
	return c["delta"].(map[string]any)
}

func TestChatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []nexustest.Option
		body       string
		status     int
		typ        string
		code       any
		param      any
		retryAfter string
	}{
		{name: "malformed json", body: `{"model":`, status: 400, typ: "invalid_request_error"},
		{name: "wrong type", body: `{"model":5}`, status: 400, typ: "invalid_request_error"},
		{name: "missing model", body: `{"messages":[]}`, status: 400, typ: "invalid_request_error", param: "model"},
		{name: "unknown model", body: chatBody("gpt-9", false, false, "x"), status: 404, typ: "invalid_request_error", code: "model_not_found"},
		{name: "fail 500", opts: []nexustest.Option{nexustest.Fail(500)}, body: chatBody("test-model", false, false, "x"), status: 500, typ: "server_error", code: "500"},
		{name: "fail 429", opts: []nexustest.Option{nexustest.Fail(429)}, body: chatBody("test-model", true, false, "x"), status: 429, typ: "server_error", code: "429", retryAfter: "1"},
		{name: "fail 503 even when invalid", opts: []nexustest.Option{nexustest.Fail(503)}, body: `{`, status: 503, typ: "server_error", code: "503", retryAfter: "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, tc.opts...)
			resp, data := do(t, newClient(t), "POST", b.URL()+"/v1/chat/completions", tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", data)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Equal(t, tc.retryAfter, resp.Header.Get("Retry-After"))
			m := decode(t, data)
			require.Len(t, m, 1, "only the error key: %s", data)
			e := m["error"].(map[string]any)
			assert.Len(t, e, 4, "message, type, param, code: %s", data)
			assert.NotEmpty(t, e["message"])
			assert.Equal(t, tc.typ, e["type"])
			assert.Equal(t, tc.code, e["code"])
			assert.Equal(t, tc.param, e["param"])
			if tc.code == "500" {
				assert.Equal(t, "nexustest: injected failure", e["message"])
			}
			assert.Equal(t, int64(1), b.ChatHits())
		})
	}
}

func TestFailProbesAndRecovery(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Fail(502))
	c := newClient(t)
	probes := []string{"/v1/models", "/api/tags", "/health"}
	status := func(method, path, body string) int {
		resp, _ := do(t, c, method, b.URL()+path, body)
		return resp.StatusCode
	}
	chat := chatBody("test-model", false, false, "x")

	// The Fail option breaks chat only; probes stay healthy.
	assert.Equal(t, 502, status("POST", "/v1/chat/completions", chat))
	for _, p := range probes {
		assert.Equal(t, 200, status("GET", p, ""), p)
	}

	b.SetFail(503)
	assert.Equal(t, 503, status("POST", "/v1/chat/completions", chat))
	for _, p := range probes {
		resp, data := do(t, c, "GET", b.URL()+p, "")
		assert.Equal(t, 503, resp.StatusCode, p)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"), p)
		assert.Equal(t, "503", decode(t, data)["error"].(map[string]any)["code"], p)
	}
	assert.Equal(t, 503, status("POST", "/api/show", `{"name":"test-model"}`))

	b.SetFail(0)
	assert.Equal(t, 200, status("POST", "/v1/chat/completions", chat))
	for _, p := range probes {
		assert.Equal(t, 200, status("GET", p, ""), p)
	}

	b.SetChatFail(500)
	assert.Equal(t, 500, status("POST", "/v1/chat/completions", chat))
	assert.Equal(t, 200, status("GET", "/v1/models", ""))
}

func TestSetModelsAndReply(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("a", "b"))
	c := newClient(t)
	ids := func() []string {
		_, data := do(t, c, "GET", b.URL()+"/v1/models", "")
		var list struct{ Data []struct{ ID string } }
		require.NoError(t, json.Unmarshal(data, &list))
		var out []string
		for _, d := range list.Data {
			out = append(out, d.ID)
		}
		return out
	}
	assert.Equal(t, []string{"a", "b"}, ids())

	b.SetModels("c")
	assert.Equal(t, []string{"c"}, ids())
	resp, _ := do(t, c, "POST", b.URL()+"/v1/chat/completions", chatBody("a", false, false, "x"))
	assert.Equal(t, 404, resp.StatusCode)
	resp, _ = do(t, c, "GET", b.URL()+"/api/tags", "")
	assert.Equal(t, 200, resp.StatusCode)

	b.SetReply("new words here")
	resp, data := do(t, c, "POST", b.URL()+"/v1/chat/completions", chatBody("c", false, false, "x"))
	require.Equal(t, 200, resp.StatusCode)
	msg := decode(t, data)["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	assert.Equal(t, "new words here", msg["content"])

	b.SetModels()
	assert.Empty(t, ids())
}

func TestRecording(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t)
	c := newClient(t)
	body := chatBody("test-model", false, false, "secret prompt")
	do(t, c, "POST", b.URL()+"/v1/chat/completions", body, "Authorization", "Bearer backend-key", "X-Custom", "v")
	do(t, c, "GET", b.URL()+"/v1/models", "")
	do(t, c, "GET", b.URL()+"/v1/models", "")
	do(t, c, "GET", b.URL()+"/v1/chat/completions", "") // 405, still recorded

	reqs := b.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, "/v1/chat/completions", reqs[0].Path)
	assert.Equal(t, "Bearer backend-key", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "v", reqs[0].Header.Get("X-Custom"))
	assert.JSONEq(t, body, string(reqs[0].Body))
	assert.Equal(t, "/v1/models", reqs[1].Path)
	assert.Empty(t, reqs[1].Header.Get("Authorization"))

	// Copies: changing them does not change the record.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("Authorization", "changed")
	again := b.Requests()
	assert.JSONEq(t, body, string(again[0].Body))
	assert.Equal(t, "Bearer backend-key", again[0].Header.Get("Authorization"))

	assert.Equal(t, int64(4), b.Hits(""))
	assert.Equal(t, int64(2), b.Hits("/v1/models"))
	assert.Equal(t, int64(2), b.Hits("/v1/chat/completions"))
	assert.Equal(t, int64(0), b.Hits("/api/tags"))
	assert.Equal(t, int64(1), b.ChatHits(), "only POST counts as a chat hit")

	quiet := nexustest.NewBackend(t, nexustest.NoRecord())
	do(t, c, "GET", quiet.URL()+"/health", "")
	assert.Empty(t, quiet.Requests())
	assert.Equal(t, int64(1), quiet.Hits("/health"))
}
