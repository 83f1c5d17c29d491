package nexustest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

const claude = "claude-test"

func messagesBody(stream bool, extra string) string {
	s := `{"model":"claude-test","max_tokens":100,"system":"be kind","messages":[{"role":"user","content":"hello there"}]`
	if stream {
		s += `,"stream":true`
	}
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

func TestMessagesRaw(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models(claude))
	c := newClient(t)
	resp, data := do(t, c, "POST", b.URL()+"/v1/messages?beta=true", messagesBody(false, ""),
		"anthropic-version", "2023-06-01", "anthropic-beta", "context-management-2025-06-27")
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
	m := decode(t, data)
	assert.True(t, strings.HasPrefix(m["id"].(string), "msg_"), m["id"])
	assert.Equal(t, "message", m["type"])
	assert.Equal(t, "assistant", m["role"])
	assert.Equal(t, claude, m["model"])
	assert.Equal(t, []any{map[string]any{"type": "text", "text": "Hello from nexustest"}}, m["content"])
	assert.Equal(t, "end_turn", m["stop_reason"])
	assert.Contains(t, m, "stop_sequence")
	assert.Nil(t, m["stop_sequence"])
	assert.Equal(t, map[string]any{
		"input_tokens": 4.0, "output_tokens": 3.0, "cache_creation_input_tokens": 0.0, "cache_read_input_tokens": 0.0,
	}, m["usage"], "18 bytes of system and user text")

	rec := b.Requests()[0]
	assert.Equal(t, "/v1/messages", rec.Path)
	assert.Equal(t, "beta=true", rec.RawQuery)
	assert.Equal(t, "context-management-2025-06-27", rec.Header.Get("anthropic-beta"))

	resp, data = do(t, c, "POST", b.URL()+"/v1/messages/count_tokens", `{"model":"claude-test","messages":[{"role":"user","content":[{"type":"text","text":"12345678"}]}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
	assert.Equal(t, map[string]any{"input_tokens": 2.0}, decode(t, data))
}

func TestMessagesLimits(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models(claude), nexustest.Reply("one two three. four five"))
	c := newClient(t)
	tests := []struct {
		name, extra string
		text        string
		reason      string
		seq         any
		output      float64
	}{
		{name: "max_tokens cuts in words", extra: `"max_tokens":2`, text: "one two", reason: "max_tokens", output: 2},
		{name: "stop sequence", extra: `"stop_sequences":["zzz","."]`, text: "one two three", reason: "stop_sequence", seq: ".", output: 3},
		{name: "earliest stop sequence wins", extra: `"stop_sequences":["four","two"]`, text: "one ", reason: "stop_sequence", seq: "two", output: 2},
		{name: "max_tokens before the stop sequence", extra: `"max_tokens":1,"stop_sequences":["four"]`, text: "one", reason: "max_tokens", output: 1},
		{name: "fits", extra: `"max_tokens":5`, text: "one two three. four five", reason: "end_turn", output: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(messagesBody(false, tc.extra), `"max_tokens":100,`, "", 1)
			if !strings.Contains(body, "max_tokens") {
				body = messagesBody(false, tc.extra)
			}
			for _, stream := range []bool{false, true} {
				var msg anthropic.Message
				if stream {
					resp := postTo(t, t.Context(), c, b.URL()+"/v1/messages", strings.Replace(body, "{", `{"stream":true,`, 1))
					events, err := readNamedEvents(resp.Body)
					resp.Body.Close()
					require.NoError(t, err)
					for _, ev := range events {
						var u anthropic.MessageStreamEventUnion
						require.NoError(t, json.Unmarshal([]byte(ev.Data), &u))
						require.NoError(t, msg.Accumulate(u))
					}
				} else {
					resp, data := do(t, c, "POST", b.URL()+"/v1/messages", body)
					require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
					require.NoError(t, json.Unmarshal(data, &msg))
				}
				require.Len(t, msg.Content, 1, "stream %v", stream)
				assert.Equal(t, tc.text, msg.Content[0].Text, "stream %v", stream)
				assert.Equal(t, tc.reason, string(msg.StopReason), "stream %v", stream)
				if tc.seq == nil {
					assert.Empty(t, msg.StopSequence)
				} else {
					assert.Equal(t, tc.seq, msg.StopSequence)
				}
				assert.Equal(t, int64(tc.output), msg.Usage.OutputTokens, "stream %v", stream)
			}
		})
	}
}

func TestMessagesStreamRaw(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models(claude), nexustest.Stream("Hel", "lo"), nexustest.Usage(7, 2))
	resp := postTo(t, t.Context(), newClient(t), b.URL()+"/v1/messages", messagesBody(true, ""))
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events, err := readNamedEvents(resp.Body)
	require.NoError(t, err)
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}
	require.Len(t, events, len(want))
	for i, ev := range events {
		assert.Equal(t, want[i], ev.Name)
		assert.Equal(t, ev.Name, decode(t, []byte(ev.Data))["type"])
	}
	start := decode(t, []byte(events[0].Data))["message"].(map[string]any)
	assert.Equal(t, []any{}, start["content"])
	assert.Nil(t, start["stop_reason"])
	assert.Equal(t, 7.0, start["usage"].(map[string]any)["input_tokens"])
	assert.JSONEq(t, `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`, events[1].Data)
	assert.JSONEq(t, `{"type":"ping"}`, events[2].Data)
	assert.JSONEq(t, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}`, events[3].Data)
	assert.JSONEq(t, `{"type":"content_block_stop","index":0}`, events[5].Data)
	assert.JSONEq(t, `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`, events[6].Data)
	assert.JSONEq(t, `{"type":"message_stop"}`, events[7].Data)
}

func TestMessagesErrors(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models(claude))
	c := newClient(t)
	tests := []struct {
		name, path, body string
		status           int
		typ              string
	}{
		{name: "malformed", path: "/v1/messages", body: `{`, status: 400, typ: "invalid_request_error"},
		{name: "no max_tokens", path: "/v1/messages", body: `{"model":"claude-test","messages":[]}`, status: 400, typ: "invalid_request_error"},
		{name: "no model", path: "/v1/messages", body: `{"max_tokens":1,"messages":[]}`, status: 400, typ: "invalid_request_error"},
		{name: "unknown model", path: "/v1/messages", body: `{"model":"x","max_tokens":1,"messages":[]}`, status: 404, typ: "not_found_error"},
		{name: "count_tokens unknown model", path: "/v1/messages/count_tokens", body: `{"model":"x","messages":[]}`, status: 404, typ: "not_found_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(t, c, "POST", b.URL()+tc.path, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", data)
			assert.Equal(t, tc.typ, anthropicErrorOf(t, data)["type"])
		})
	}
}

func TestMessagesAnthropicClient(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models(claude), nexustest.EchoPrompt())
	client := anthropicClient(t, b)
	params := anthropic.MessageNewParams{
		Model:     claude,
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("how are you"))},
	}
	msg, err := client.Messages.New(t.Context(), params)
	require.NoError(t, err)
	require.Len(t, msg.Content, 1)
	assert.Equal(t, "You said: how are you", msg.Content[0].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
	assert.Equal(t, int64(5), msg.Usage.OutputTokens)

	stream := client.Messages.NewStreaming(t.Context(), params)
	var acc anthropic.Message
	for stream.Next() {
		require.NoError(t, acc.Accumulate(stream.Current()))
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, msg.Content[0].Text, acc.Content[0].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, acc.StopReason)
	assert.Equal(t, int64(5), acc.Usage.OutputTokens)
	assert.Equal(t, msg.Usage.InputTokens, acc.Usage.InputTokens)

	n, err := client.Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{Model: claude, Messages: params.Messages})
	require.NoError(t, err)
	assert.Equal(t, msg.Usage.InputTokens, n.InputTokens)
}

func TestAnthropicMode(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Anthropic(), nexustest.APIKey("sk-ant-test"), nexustest.Models(claude, "claude-2"))
	c := newClient(t)
	version := []string{"anthropic-version", "2023-06-01"}
	key := []string{"x-api-key", "sk-ant-test"}
	hdr := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		typ                      string
	}{
		{"no key", "POST", "/v1/messages", messagesBody(false, ""), hdr(version), 401, "authentication_error"},
		{"bearer is not enough", "POST", "/v1/messages", messagesBody(false, ""), hdr(version, []string{"Authorization", "Bearer sk-ant-test"}), 401, "authentication_error"},
		{"wrong key", "POST", "/v1/messages", messagesBody(false, ""), hdr(version, []string{"x-api-key", "nope"}), 401, "authentication_error"},
		{"no version", "POST", "/v1/messages", messagesBody(false, ""), hdr(key), 400, "invalid_request_error"},
		{"chat is not served", "POST", "/v1/chat/completions", chatBody(claude, false, false, "x"), hdr(key, version), 404, "not_found_error"},
		{"no ollama", "GET", "/api/tags", "", hdr(key, version), 404, "not_found_error"},
		{"unknown model", "GET", "/v1/models/claude-9", "", hdr(key, version), 404, "not_found_error"},
		{"served", "POST", "/v1/messages", messagesBody(false, ""), hdr(key, version), 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(t, c, tc.method, b.URL()+tc.path, tc.body, tc.hdr...)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", data)
			if tc.typ != "" {
				assert.Equal(t, tc.typ, anthropicErrorOf(t, data)["type"])
			}
		})
	}

	resp, data := do(t, c, "GET", b.URL()+"/v1/models", "", hdr(key, version)...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"data":[
		{"type":"model","id":"claude-test","display_name":"claude-test","created_at":"2024-01-01T00:00:00Z"},
		{"type":"model","id":"claude-2","display_name":"claude-2","created_at":"2024-01-01T00:00:00Z"}],
		"has_more":false,"first_id":"claude-test","last_id":"claude-2"}`, string(data))

	// The official client sends x-api-key and anthropic-version itself.
	client := anthropicClient(t, b)
	page, err := client.Models.List(t.Context(), anthropic.ModelListParams{})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.Equal(t, "claude-2", page.Data[1].ID)
	wrong := anthropicClient(t, b, aoption.WithAPIKey("wrong"))
	_, err = wrong.Messages.New(t.Context(), anthropic.MessageNewParams{
		Model: claude, MaxTokens: 1, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))},
	})
	var apiErr *anthropic.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)

	b.SetFail(529)
	resp, data = do(t, c, "POST", b.URL()+"/v1/messages", messagesBody(false, ""), hdr(key, version)...)
	require.Equal(t, 529, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Equal(t, "overloaded_error", anthropicErrorOf(t, data)["type"])
	resp, data = do(t, c, "GET", b.URL()+"/v1/models", "", hdr(key, version)...)
	require.Equal(t, 529, resp.StatusCode)
	assert.Equal(t, "overloaded_error", anthropicErrorOf(t, data)["type"])
}
