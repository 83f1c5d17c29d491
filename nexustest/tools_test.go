package nexustest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

var weather = []nexustest.ToolCall{
	{Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`},
	{Name: "get_time"},
}

const chatTools = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`

func TestChatToolCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []nexustest.Option
		tools   bool
		content any // nil: null
	}{
		{name: "tool calls", opts: []nexustest.Option{nexustest.ToolCalls(weather...)}, tools: true},
		{name: "preamble", opts: []nexustest.Option{nexustest.ToolCalls(weather...), nexustest.ToolPreamble("Let me check.")}, tools: true, content: "Let me check."},
		{name: "request without tools", opts: []nexustest.Option{nexustest.ToolCalls(weather...)}, content: "Hello from nexustest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := nexustest.NewBackend(t, tc.opts...)
			body := `{"model":"test-model","messages":[{"role":"user","content":"weather?"}]}`
			if tc.tools {
				body = strings.Replace(body, "{", "{"+chatTools+",", 1)
			}
			resp, data := do(t, newClient(t), "POST", b.URL()+"/v1/chat/completions", body)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
			choice := decode(t, data)["choices"].([]any)[0].(map[string]any)
			msg := choice["message"].(map[string]any)
			assert.Contains(t, msg, "content")
			assert.Equal(t, tc.content, msg["content"])
			if !tc.tools {
				assert.Equal(t, "stop", choice["finish_reason"])
				assert.NotContains(t, msg, "tool_calls")
				return
			}
			assert.Equal(t, "tool_calls", choice["finish_reason"])
			calls := msg["tool_calls"].([]any)
			require.Len(t, calls, 2)
			for i, want := range []string{weather[0].Arguments, "{}"} {
				call := calls[i].(map[string]any)
				assert.True(t, strings.HasPrefix(call["id"].(string), "call_"), call["id"])
				assert.Equal(t, "function", call["type"])
				assert.Equal(t, map[string]any{"name": weather[i].Name, "arguments": want}, call["function"])
			}
		})
	}
}

func TestChatToolCallsStreamOpenAIClient(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.ToolCalls(weather...), nexustest.ToolPreamble("On it."), nexustest.Reasoning("think hard"))
	client := openaiClient(t, b)
	params := openai.ChatCompletionNewParams{
		Model:    "test-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name: "get_weather", Parameters: openai.FunctionParameters{"type": "object"},
		})},
	}
	stream := client.Chat.Completions.NewStreaming(t.Context(), params)
	var acc openai.ChatCompletionAccumulator
	var reasoning strings.Builder
	argChunks := 0
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		for _, ch := range chunk.Choices {
			var d struct {
				ReasoningContent string `json:"reasoning_content"`
			}
			_ = json.Unmarshal([]byte(ch.Delta.RawJSON()), &d)
			reasoning.WriteString(d.ReasoningContent)
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Function.Arguments != "" {
					argChunks++
				}
			}
		}
	}
	require.NoError(t, stream.Err())
	require.Len(t, acc.Choices, 1)
	msg := acc.Choices[0].Message
	assert.Equal(t, "On it.", msg.Content)
	assert.Equal(t, "tool_calls", acc.Choices[0].FinishReason)
	assert.Equal(t, "think hard", reasoning.String())
	require.Len(t, msg.ToolCalls, 2)
	assert.Equal(t, "get_weather", msg.ToolCalls[0].Function.Name)
	assert.JSONEq(t, weather[0].Arguments, msg.ToolCalls[0].Function.Arguments)
	assert.Equal(t, "get_time", msg.ToolCalls[1].Function.Name)
	assert.Equal(t, "{}", msg.ToolCalls[1].Function.Arguments)
	assert.NotEqual(t, msg.ToolCalls[0].ID, msg.ToolCalls[1].ID)
	assert.Greater(t, argChunks, 3, "the arguments come in several chunks")

	plain, err := client.Chat.Completions.New(t.Context(), params)
	require.NoError(t, err)
	var raw struct {
		Choices []struct {
			Message struct {
				ReasoningContent string `json:"reasoning_content"`
			} `json:"message"`
		} `json:"choices"`
	}
	require.NoError(t, json.Unmarshal([]byte(plain.RawJSON()), &raw))
	assert.Equal(t, "think hard", raw.Choices[0].Message.ReasoningContent)
	assert.Len(t, plain.Choices[0].Message.ToolCalls, 2)
}

func TestChatReasoningStreamOrder(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Reasoning("a b"), nexustest.Stream("x"))
	resp := postStream(t, t.Context(), newClient(t), b.URL(), chatBody("test-model", true, false, "hi"))
	defer resp.Body.Close()
	events, err := readEvents(resp.Body)
	require.NoError(t, err)
	var deltas []map[string]any
	for _, ev := range events[:len(events)-1] {
		deltas = append(deltas, delta(t, decode(t, []byte(ev))))
	}
	assert.Equal(t, []map[string]any{
		{"role": "assistant", "content": ""},
		{"reasoning_content": "a"},
		{"reasoning_content": " b"},
		{"content": "x"},
		{},
	}, deltas)
}

func TestMessagesToolUseAndThinking(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models(claude), nexustest.ToolCalls(weather...),
		nexustest.ToolPreamble("Checking."), nexustest.Reasoning("the user wants weather"))
	client := anthropicClient(t, b)
	params := anthropic.MessageNewParams{
		Model:     claude,
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
		Tools: []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"city": map[string]any{"type": "string"}},
		}, "get_weather")},
	}
	check := func(t *testing.T, msg *anthropic.Message) {
		t.Helper()
		require.Len(t, msg.Content, 4, "thinking, text, two tool_use")
		assert.Equal(t, "thinking", msg.Content[0].Type)
		assert.Equal(t, "the user wants weather", msg.Content[0].Thinking)
		assert.NotEmpty(t, msg.Content[0].Signature)
		assert.Equal(t, "text", msg.Content[1].Type)
		assert.Equal(t, "Checking.", msg.Content[1].Text)
		for i, want := range []string{weather[0].Arguments, "{}"} {
			blk := msg.Content[2+i]
			assert.Equal(t, "tool_use", blk.Type)
			assert.True(t, strings.HasPrefix(blk.ID, "toolu_"), blk.ID)
			assert.Equal(t, weather[i].Name, blk.Name)
			assert.JSONEq(t, want, string(blk.Input))
		}
		assert.Equal(t, anthropic.StopReasonToolUse, msg.StopReason)
	}
	msg, err := client.Messages.New(t.Context(), params)
	require.NoError(t, err)
	check(t, msg)

	stream := client.Messages.NewStreaming(t.Context(), params)
	var acc anthropic.Message
	partials := 0
	for stream.Next() {
		ev := stream.Current()
		if ev.Type == "content_block_delta" && ev.Delta.Type == "input_json_delta" {
			partials++
		}
		require.NoError(t, acc.Accumulate(ev))
	}
	require.NoError(t, stream.Err())
	check(t, &acc)
	assert.Greater(t, partials, 3, "the input comes in several input_json_delta pieces")

	// Without tools in the request: thinking and the normal reply.
	params.Tools = nil
	msg, err = client.Messages.New(t.Context(), params)
	require.NoError(t, err)
	require.Len(t, msg.Content, 2)
	assert.Equal(t, "Hello from nexustest", msg.Content[1].Text)
	assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
}
