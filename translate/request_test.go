package translate

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestErrors checks that malformed requests are RequestErrors
// naming the member, in both directions.
func TestRequestErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, param string
		toChat            bool
	}{
		{"messages: not JSON", `{"messages":`, "", true},
		{"messages: not an object", `[1]`, "", true},
		{"messages: missing", `{"model":"m","max_tokens":1}`, "messages", true},
		{"messages: wrong type", `{"messages":"hi"}`, "messages", true},
		{"messages: max_tokens string", `{"max_tokens":"1","messages":[]}`, "max_tokens", true},
		{"messages: bad role", `{"messages":[{"role":"tool","content":"x"}]}`, "messages[0].role", true},
		{"messages: missing content", `{"messages":[{"role":"user"}]}`, "messages[0].content", true},
		{"messages: content number", `{"messages":[{"role":"user","content":5}]}`, "messages[0].content", true},
		{"messages: image without source", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image"}]}]}`, "messages[0].content[1].source", true},
		{"messages: image file source", `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages[0].content[0].source.type", true},
		{"messages: base64 without data", `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`, "messages[0].content[0].source", true},
		{"messages: tool_result without id", `{"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages[0].content[0].tool_use_id", true},
		{"messages: tool_use without name", `{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t"}]}]}`, "messages[0].content[0]", true},
		{"messages: image source string", `{"messages":[{"role":"user","content":[{"type":"image","source":"x"}]}]}`, "messages[0].content[0].source", true},
		{"messages: system block not text", `{"system":[{"type":"image"}],"messages":[]}`, "system[0].type", true},
		{"messages: tool without name", `{"messages":[],"tools":[{"input_schema":{}}]}`, "tools[0].name", true},
		{"messages: bad tool_choice", `{"messages":[],"tools":[{"name":"a"}],"tool_choice":{"type":"sometimes"}}`, "tool_choice.type", true},
		{"messages: tool_choice tool without name", `{"messages":[],"tools":[{"name":"a"}],"tool_choice":{"type":"tool"}}`, "tool_choice.name", true},
		{"chat: not JSON", `{`, "", false},
		{"chat: no messages", `{"model":"m","messages":[]}`, "messages", false},
		{"chat: n", `{"messages":[{"role":"user","content":"a"}],"n":2}`, "n", false},
		{"chat: bad role", `{"messages":[{"role":"robot","content":"a"}]}`, "messages[0].role", false},
		{"chat: audio part", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`, "messages[0].content[0].type", false},
		{"chat: image without url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, "messages[0].content[0].image_url.url", false},
		{"chat: ftp image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/a.png"}}]}]}`, "messages[0].content[0].image_url.url", false},
		{"chat: data URL not base64", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:text/plain,hi"}}]}]}`, "messages[0].content[0].image_url.url", false},
		{"chat: image in system", `{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://a/b"}}]}]}`, "messages[0].content[0].type", false},
		{"chat: tool without id", `{"messages":[{"role":"tool","content":"a"}]}`, "messages[0].tool_call_id", false},
		{"chat: tool call without name", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}]}`, "messages[0].tool_calls[0].function.name", false},
		{"chat: stop number", `{"messages":[{"role":"user","content":"a"}],"stop":5}`, "stop", false},
		{"chat: custom tool", `{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools[0].type", false},
		{"chat: bad tool_choice", `{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"maybe"}`, "tool_choice", false},
		{"chat: tool_choice object without name", `{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function"}}`, "tool_choice.function.name", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			translate := ChatRequestToMessages
			if c.toChat {
				translate = MessagesRequestToChat
			}
			out, err := translate([]byte(c.body), RequestOptions{})
			require.Error(t, err, "got %s", out)
			var re *RequestError
			require.True(t, errors.As(err, &re), "%T %v", err, err)
			assert.Equal(t, c.param, re.Param, re.Message)
			assert.NotEmpty(t, re.Message)
		})
	}
}

// TestRequestLenient checks inputs that must translate, not fail: members
// of shapes a client may send and members translation does not know.
func TestRequestLenient(t *testing.T) {
	t.Parallel()
	toChat := []string{
		`{"model":"m","messages":[],"context_management":{"edits":[]},"output_config":{"format":{"type":"json_schema"}},"mcp_servers":[],"service_tier":"auto"}`,
		`{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"s"},{"type":"redacted_thinking","data":"d"}]}]}`,
		`{"messages":[{"role":"user","content":[{"type":"search_result","source":"s","title":"t","content":[]},{"type":"tool_result","tool_use_id":"t","content":null}]}]}`,
		`{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]}`,
		`{"system":null,"messages":[{"role":"system","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],"thinking":{"type":"enabled"},"metadata":{}}`,
	}
	for _, body := range toChat {
		out, err := MessagesRequestToChat([]byte(body), RequestOptions{})
		require.NoError(t, err, body)
		assert.True(t, json.Valid(out))
	}
	fromChat := []string{
		`{"model":"m","messages":[{"role":"user","content":null},{"role":"user","content":"a","name":"bob"}],"response_format":{"type":"json_object"},"logit_bias":{},"seed":1,"stream_options":{"include_usage":true},"n":1}`,
		`{"messages":[{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]},{"role":"function","tool_call_id":"x","content":"r"}]}`,
	}
	for _, body := range fromChat {
		out, err := ChatRequestToMessages([]byte(body), RequestOptions{})
		require.NoError(t, err, body)
		assert.True(t, json.Valid(out))
	}
}

// TestThinkingToChat covers each thinking setting under each control.
func TestThinkingToChat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		thinking, outputConfig string
		ctl                    ThinkingControl
		effort                 string
		kwargs                 any
	}{
		{`{"type":"enabled","budget_tokens":1024}`, ``, ThinkingReasoningEffort, "low", nil},
		{`{"type":"enabled","budget_tokens":8000}`, ``, ThinkingReasoningEffort, "medium", nil},
		{`{"type":"enabled","budget_tokens":32000}`, ``, ThinkingReasoningEffort, "high", nil},
		{`{"type":"adaptive"}`, ``, ThinkingReasoningEffort, "", nil},
		{`{"type":"adaptive"}`, `{"effort":"low"}`, ThinkingReasoningEffort, "low", nil},
		{`{"type":"adaptive"}`, `{"effort":"max"}`, ThinkingReasoningEffort, "high", nil},
		{`{"type":"disabled"}`, ``, ThinkingReasoningEffort, "", nil},
		{`{"type":"enabled","budget_tokens":1024}`, ``, ThinkingTemplateKwargs, "", map[string]any{"enable_thinking": true}},
		{`{"type":"adaptive","display":"omitted"}`, ``, ThinkingTemplateKwargs, "", map[string]any{"enable_thinking": true}},
		{`{"type":"disabled"}`, ``, ThinkingTemplateKwargs, "", map[string]any{"enable_thinking": false}},
		{`{"type":"future_mode"}`, ``, ThinkingTemplateKwargs, "", nil},
		{`{"type":"enabled","budget_tokens":32000}`, ``, ThinkingOmit, "", nil},
	}
	for _, c := range cases {
		body := `{"messages":[],"thinking":` + c.thinking
		if c.outputConfig != "" {
			body += `,"output_config":` + c.outputConfig
		}
		out, err := MessagesRequestToChat([]byte(body+"}"), RequestOptions{Thinking: c.ctl})
		require.NoError(t, err)
		var got struct {
			ReasoningEffort    string `json:"reasoning_effort"`
			ChatTemplateKwargs any    `json:"chat_template_kwargs"`
		}
		require.NoError(t, json.Unmarshal(out, &got))
		assert.Equal(t, c.effort, got.ReasoningEffort, body)
		assert.Equal(t, c.kwargs, got.ChatTemplateKwargs, body)
	}
}

// TestCountTokens checks the estimate's arithmetic and that it rejects
// what translation rejects.
func TestCountTokens(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       int
	}{
		{"empty", `{"messages":[]}`, 0},
		{"string content", `{"messages":[{"role":"user","content":"12345678"}]}`, 2},
		{"rounds up", `{"messages":[{"role":"user","content":"123456789"}]}`, 3},
		{"system and blocks", `{"system":[{"type":"text","text":"ab"},{"type":"text","text":"cd"}],"messages":[{"role":"user","content":[{"type":"text","text":"efgh"}]}]}`, 3}, // "ab\n\ncd" 6 + 4
		{"image", `{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://a/b.png"}}]}]}`, 1600},
		{"tool use and result", `{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"ab","input":{"k":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"1234"}]}]}]}`, 4}, // 2 + 7 + 4 = 13 bytes
		{"tools", `{"messages":[],"tools":[{"name":"abcd","description":"efgh","input_schema":{"a":1}},{"type":"web_search_20250305","name":"web_search"}]}`, 4},                                                                                              // 4+4+7
	}
	for _, c := range cases {
		got, err := CountTokens([]byte(c.body))
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
	_, err := CountTokens([]byte(`{"messages":[{"role":"bot","content":"x"}]}`))
	var re *RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "messages[0].role", re.Param)

	cc, err := os.ReadFile("testdata/messages_to_chat/claude_code.in.json")
	require.NoError(t, err)
	n, err := CountTokens(cc)
	require.NoError(t, err)
	assert.Greater(t, n, 1000)
	assert.Less(t, n, len(cc)/4)
}

// TestSystemMessages checks where role "system" messages inside messages
// go: into the leading system message by default, in place on request.
func TestSystemMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		inPlace    bool
		want       []map[string]any
	}{
		{"hoisted after system", `{"system":"a","messages":[{"role":"user","content":"u"},{"role":"system","content":"b"},{"role":"system","content":[{"type":"text","text":"c"}]}]}`, false,
			[]map[string]any{{"role": "system", "content": "a\n\nb\n\nc"}, {"role": "user", "content": "u"}}},
		{"hoisted without system", `{"messages":[{"role":"user","content":"u"},{"role":"system","content":"b"},{"role":"user","content":"v"}]}`, false,
			[]map[string]any{{"role": "system", "content": "b"}, {"role": "user", "content": "u"}, {"role": "user", "content": "v"}}},
		{"empty dropped", `{"messages":[{"role":"system","content":""},{"role":"user","content":"u"}]}`, false,
			[]map[string]any{{"role": "user", "content": "u"}}},
		{"in place", `{"system":"a","messages":[{"role":"user","content":"u"},{"role":"system","content":"b"}]}`, true,
			[]map[string]any{{"role": "system", "content": "a"}, {"role": "user", "content": "u"}, {"role": "system", "content": "b"}}},
		{"no system at all", `{"messages":[{"role":"user","content":"u"}]}`, false,
			[]map[string]any{{"role": "user", "content": "u"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := MessagesRequestToChat([]byte(c.body), RequestOptions{SystemInPlace: c.inPlace})
			require.NoError(t, err)
			var got struct {
				Messages []map[string]any `json:"messages"`
			}
			require.NoError(t, json.Unmarshal(out, &got))
			assert.Equal(t, c.want, got.Messages)
		})
	}
}

func TestSamplingRemoved(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"": false, "2023-06-01": false, "2026-10-20": false, "2026-10-21": true, "2027-01-01": true,
		"latest": false, "2026-10-21x": false, "9999999999": false,
	} {
		assert.Equal(t, want, SamplingRemoved(v), v)
	}
}
