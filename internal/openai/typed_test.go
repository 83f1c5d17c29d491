package openai

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCachedTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		usage  string
		want   Usage
		hasUse bool
	}{
		{`{"prompt_tokens":30,"completion_tokens":2,"total_tokens":32,"prompt_tokens_details":{"cached_tokens":24}}`, Usage{30, 2, 32, 24}, true},
		{`{"prompt_tokens":3,"prompt_tokens_details":null}`, Usage{PromptTokens: 3}, true},
		{`{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":"x"}}`, Usage{PromptTokens: 3}, true},
		{`{"prompt_tokens":3,"prompt_tokens_details":[1]}`, Usage{PromptTokens: 3}, true},
	}
	for _, tt := range tests {
		body := []byte(`{"choices":[],"usage":` + tt.usage + `}`)
		info, ok := InspectChunk(body)
		assert.True(t, ok)
		assert.Equal(t, tt.hasUse, info.HasUsage, tt.usage)
		assert.Equal(t, tt.want, info.Usage, tt.usage)
		assert.Equal(t, tt.want, InspectReply(body).Usage, tt.usage)
	}
}

func TestInspectResponsesEvent(t *testing.T) {
	t.Parallel()
	completed := `{"type":"response.completed","response":{"id":"r","output":[{"type":"message","content":[{"type":"output_text","text":"usage"}]}],` +
		`"usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"total_tokens":16}}}`
	tests := []struct {
		name, event, data string
		want              EventInfo
	}{
		{"created", "response.created", `{"type":"response.created","response":{"status":"in_progress","error":null,"usage":null}}`, EventInfo{}},
		{"text delta", "response.output_text.delta", `{"type":"response.output_text.delta","delta":"x"}`, EventInfo{Content: true}},
		{"reasoning delta", "response.reasoning_summary_text.delta", `{}`, EventInfo{Content: true}},
		{"arguments delta", "response.function_call_arguments.delta", `{}`, EventInfo{Content: true}},
		{"done is not content", "response.output_text.done", `{}`, EventInfo{}},
		{"completed", "response.completed", completed, EventInfo{Terminal: true, Usage: Usage{11, 5, 16, 4}, UsageSet: UsagePrompt | UsageCompletion | UsageTotal | UsageCached, ResponseID: "r"}},
		{"completed without name", "", completed, EventInfo{Terminal: true, Usage: Usage{11, 5, 16, 4}, UsageSet: UsagePrompt | UsageCompletion | UsageTotal | UsageCached, ResponseID: "r"}},
		{"incomplete", "response.incomplete", `{"type":"response.incomplete","response":{"usage":{"input_tokens":1,"output_tokens":2}}}`,
			EventInfo{Terminal: true, Usage: Usage{PromptTokens: 1, CompletionTokens: 2}, UsageSet: UsagePrompt | UsageCompletion}},
		{"failed", "response.failed", `{"type":"response.failed","response":{"status":"failed","error":{"code":"x"}}}`, EventInfo{Terminal: true, Error: true}},
		{"error", "error", `{"type":"error","code":"x","message":"y"}`, EventInfo{Error: true}},
		{"error without name", "", `{"type":"error","code":"x"}`, EventInfo{Error: true}},
		{"error envelope", "", `{"error":{"message":"x"}}`, EventInfo{Error: true}},
		{"delta without name", "", `{"type":"response.output_text.delta","delta":"x"}`, EventInfo{Content: true}},
		{"malformed", "", `{"type":"respo`, EventInfo{}},
		{"usage not integers", "response.completed", `{"response":{"usage":{"input_tokens":1.5,"output_tokens":"2"}}}`, EventInfo{Terminal: true}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, InspectResponsesEvent(tt.event, []byte(tt.data)), tt.name)
	}
}

func TestInspectAnthropicEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, data string
		want              EventInfo
	}{
		{"message_start", "message_start", `{"type":"message_start","message":{"id":"m","usage":{"input_tokens":20,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":1}}}`,
			EventInfo{Usage: Usage{PromptTokens: 30, CompletionTokens: 1, CachedTokens: 7}, UsageSet: UsagePrompt | UsageCompletion | UsageCached}},
		{"message_start without name", "", `{"type":"message_start","message":{"usage":{"input_tokens":5}}}`,
			EventInfo{Usage: Usage{PromptTokens: 5}, UsageSet: UsagePrompt}},
		{"delta", "content_block_delta", `{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}`, EventInfo{Content: true}},
		{"delta without name", "", `{"type":"content_block_delta","delta":{}}`, EventInfo{Content: true}},
		{"message_delta", "message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}`,
			EventInfo{Usage: Usage{CompletionTokens: 15}, UsageSet: UsageCompletion}},
		{"message_delta with input", "message_delta", `{"type":"message_delta","usage":{"input_tokens":9,"output_tokens":15}}`,
			EventInfo{Usage: Usage{PromptTokens: 9, CompletionTokens: 15}, UsageSet: UsagePrompt | UsageCompletion}},
		{"stop", "message_stop", `{"type":"message_stop"}`, EventInfo{Terminal: true}},
		{"stop without name", "", `{"type":"message_stop"}`, EventInfo{Terminal: true}},
		{"ping", "ping", `{"type": "ping"}`, EventInfo{Ping: true}},
		{"ping without name", "", `{"type":"ping"}`, EventInfo{Ping: true}},
		{"error", "error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, EventInfo{Error: true}},
		{"block start", "content_block_start", `{}`, EventInfo{}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, InspectAnthropicEvent(tt.event, []byte(tt.data)), tt.name)
	}
}

func TestInspectTypedReplies(t *testing.T) {
	t.Parallel()
	r := InspectResponsesReply([]byte(`{"object":"response","status":"completed","error":null,"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7}}`))
	assert.Equal(t, ReplyInfo{Usage: Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}, HasUsage: true}, r)
	assert.True(t, InspectResponsesReply([]byte(`{"object":"response","status":"failed","error":{"code":"x"}}`)).Error)
	assert.True(t, InspectResponsesReply([]byte(`{"object":"response","status":"failed","error":null}`)).Error)
	assert.True(t, InspectResponsesReply([]byte(`{"error":{"message":"x"}}`)).Error)
	assert.False(t, InspectResponsesReply([]byte(`{"id":"r","object":"response.deleted","deleted":true}`)).Error)

	a := InspectAnthropicReply([]byte(`{"type":"message","content":[],"usage":{"input_tokens":2,"cache_read_input_tokens":8,"output_tokens":5}}`))
	assert.Equal(t, ReplyInfo{Usage: Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, CachedTokens: 8}, HasUsage: true}, a)
	assert.True(t, InspectAnthropicReply([]byte(`{"type":"error","error":{"type":"api_error","message":"x"}}`)).Error)
	assert.Equal(t, ReplyInfo{}, InspectAnthropicReply([]byte(`{"input_tokens":42}`)), "a token count has no usage")
}

func TestUsageApply(t *testing.T) {
	t.Parallel()
	u := Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3, CachedTokens: 4}
	u.Apply(Usage{PromptTokens: 9, CompletionTokens: 8}, UsageCompletion)
	assert.Equal(t, Usage{1, 8, 3, 4}, u)
	u.Apply(Usage{}, UsagePrompt|UsageTotal|UsageCached)
	assert.Equal(t, Usage{CompletionTokens: 8}, u)
}

func TestAnthropicErrors(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]string{
		400: AnthropicInvalidRequest, 401: AnthropicAuthentication, 403: AnthropicPermission, 404: AnthropicNotFound,
		413: AnthropicRequestTooLarge, 429: AnthropicRateLimit, 500: AnthropicAPI, 502: AnthropicAPI, 503: AnthropicOverloaded,
		504: AnthropicTimeout, 529: AnthropicOverloaded, 408: AnthropicInvalidRequest, 422: AnthropicInvalidRequest,
	} {
		assert.Equal(t, want, AnthropicErrorType(status), status)
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "req_1")
	WriteAnthropicError(rec, 529, "", "busy")
	assert.Equal(t, 529, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"type":"error","error":{"type":"overloaded_error","message":"busy"},"request_id":"req_1"}`, rec.Body.String())

	rec = httptest.NewRecorder()
	WriteAnthropicError(rec, http.StatusBadRequest, AnthropicInvalidRequest, "messages: required")
	assert.JSONEq(t, `{"type":"error","error":{"type":"invalid_request_error","message":"messages: required"}}`, rec.Body.String())
}

// FuzzInspectTypedEvent: the typed-event walks survive any data, with or
// without a name, and a named event is classified as the same event with
// its name only in the data.
func FuzzInspectTypedEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"response.completed","response":{"usage":{"input_tokens":1,"input_tokens_details":{"cached_tokens":1}}}}`,
		`{"type":"message_start","message":{"usage":{"input_tokens":2,"cache_read_input_tokens":3}}}`,
		`{"type":"message_delta","usage":{"output_tokens":4}}`, `{"type":"error","error":{}}`, `{"type":"respo`, `[`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		for _, inspect := range []func(string, []byte) EventInfo{InspectResponsesEvent, InspectAnthropicEvent} {
			info := inspect("", []byte(data))
			if info.Content && info.Terminal {
				t.Fatalf("%q: content and terminal", data)
			}
		}
		InspectResponsesReply([]byte(data))
		InspectAnthropicReply([]byte(data))
	})
}
