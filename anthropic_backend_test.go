package nexus_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// anthropicBackendKey is the key of the simulated Anthropic API.
const anthropicBackendKey = "sk-ant-backend-secret"

// anthropicBackend starts a simulated Anthropic API (it requires
// x-api-key and anthropic-version) serving claudeModel with opts, and a
// gateway whose only backend it is, as type "anthropic".
func anthropicBackend(t *testing.T, opts ...nexustest.Option) (*nexus.Gateway, *nexustest.Backend, string) {
	t.Helper()
	opts = append([]nexustest.Option{nexustest.Anthropic(), nexustest.APIKey(anthropicBackendKey), nexustest.Models(claudeModel)}, opts...)
	b := nexustest.NewBackend(t, opts...)
	bc := backendConfig("claude", b, 1)
	bc.Type = "anthropic"
	bc.APIKey = anthropicBackendKey
	gw, url := startGateway(t, testConfig(bc))
	return gw, b, url
}

// lastMessagesRequest returns the last request the backend received on
// /v1/messages, its body decoded.
func lastMessagesRequest(t *testing.T, b *nexustest.Backend) (nexustest.RecordedRequest, map[string]any) {
	t.Helper()
	return lastRequest(t, b, "/v1/messages"), lastBody(t, b, "/v1/messages")
}

// chatCompletion runs a plain chat completion on the gateway at url.
func chatCompletion(t *testing.T, url string, p openai.ChatCompletionNewParams, opts ...option.RequestOption) (*openai.ChatCompletion, error) {
	t.Helper()
	c := newClient(url)
	return c.Chat.Completions.New(t.Context(), p, opts...)
}

// streamChat runs a streamed chat completion and assembles it, returning
// the reasoning text seen in reasoning_content deltas too.
func streamChat(t *testing.T, c openai.Client, p openai.ChatCompletionNewParams, opts ...option.RequestOption) (openai.ChatCompletion, string) {
	t.Helper()
	s := c.Chat.Completions.NewStreaming(t.Context(), p, opts...)
	defer s.Close()
	var acc openai.ChatCompletionAccumulator
	var reasoning strings.Builder
	for s.Next() {
		ch := s.Current()
		require.True(t, acc.AddChunk(ch))
		if len(ch.Choices) > 0 {
			if f, ok := ch.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
				var piece string
				require.NoError(t, json.Unmarshal([]byte(f.Raw()), &piece))
				reasoning.WriteString(piece)
			}
		}
	}
	require.NoError(t, s.Err())
	return acc.ChatCompletion, reasoning.String()
}

func TestAnthropicBackendChat(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			gw, b, url := anthropicBackend(t, nexustest.Reply("Bonjour from Claude"), nexustest.Usage(11, 3))
			p := openai.ChatCompletionNewParams{
				Model: claudeModel,
				Messages: []openai.ChatCompletionMessageParamUnion{
					openai.SystemMessage("Be brief."),
					openai.UserMessage("Say hello"),
				},
				Temperature: openai.Float(0.3),
			}
			var got openai.ChatCompletion
			var resp *http.Response
			if stream {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				got, _ = streamChat(t, newClient(url), p, option.WithResponseInto(&resp))
			} else {
				c, err := chatCompletion(t, url, p, option.WithResponseInto(&resp))
				require.NoError(t, err)
				got = *c
			}
			require.Len(t, got.Choices, 1)
			assert.Equal(t, "Bonjour from Claude", got.Choices[0].Message.Content)
			assert.Equal(t, "stop", got.Choices[0].FinishReason)
			assert.EqualValues(t, 11, got.Usage.PromptTokens)
			assert.EqualValues(t, 3, got.Usage.CompletionTokens)
			assert.EqualValues(t, 14, got.Usage.TotalTokens)
			assert.Equal(t, "claude", resp.Header.Get("X-Nexus-Backend"))

			rec, body := lastMessagesRequest(t, b)
			assert.Equal(t, anthropicBackendKey, rec.Header.Get("x-api-key"), "the backend key as x-api-key")
			assert.Empty(t, rec.Header.Get("Authorization"), "the client's key is not forwarded")
			assert.Equal(t, "2023-06-01", rec.Header.Get("anthropic-version"))
			assert.Equal(t, "Be brief.", body["system"])
			assert.EqualValues(t, 4096, body["max_tokens"], "Anthropic requires max_tokens")
			assert.InDelta(t, 0.3, body["temperature"], 1e-9, "2023-06-01 has temperature")
			assert.Equal(t, stream, body["stream"] == true)

			st := recordedStats(t, gw, 1)
			assert.EqualValues(t, 11, st.Tokens.Prompt)
			assert.EqualValues(t, 3, st.Tokens.Completion)
			if stream {
				assert.EqualValues(t, 1, st.TimeToFirstToken.Count)
			}
		})
	}
}

// TestAnthropicBackendStreamUsageOnlyWhenAsked: a streamed chat without
// stream_options gets no usage chunk, yet the gateway counts the tokens.
func TestAnthropicBackendStreamUsageOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	gw, _, url := anthropicBackend(t, nexustest.Usage(8, 2))
	c := newClient(url)
	s := c.Chat.Completions.NewStreaming(t.Context(), userMessage(claudeModel, "hi"))
	defer s.Close()
	var text strings.Builder
	for s.Next() {
		ch := s.Current()
		require.NotEmpty(t, ch.Choices, "no usage chunk: %s", ch.RawJSON())
		text.WriteString(ch.Choices[0].Delta.Content)
	}
	require.NoError(t, s.Err())
	assert.Equal(t, nexustest.DefaultReply, text.String())
	st := recordedStats(t, gw, 1)
	assert.EqualValues(t, 8, st.Tokens.Prompt)
	assert.EqualValues(t, 2, st.Tokens.Completion)
}

func TestAnthropicBackendToolCalls(t *testing.T) {
	t.Parallel()
	calls := []nexustest.ToolCall{
		{Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{Name: "get_weather", Arguments: `{"city":"Rome","days":[1,2]}`},
	}
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name:       "get_weather",
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	})}
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, b, url := anthropicBackend(t, nexustest.ToolCalls(calls...), nexustest.ToolPreamble("Checking."))
			p := userMessage(claudeModel, "Weather in Paris and Rome?")
			p.Tools = tools
			var got openai.ChatCompletion
			if stream {
				got, _ = streamChat(t, newClient(url), p)
			} else {
				c, err := chatCompletion(t, url, p)
				require.NoError(t, err)
				got = *c
			}
			msg := got.Choices[0].Message
			assert.Equal(t, "tool_calls", got.Choices[0].FinishReason)
			assert.Equal(t, "Checking.", msg.Content)
			require.Len(t, msg.ToolCalls, 2)
			for i, call := range calls {
				assert.Equal(t, call.Name, msg.ToolCalls[i].Function.Name)
				assert.JSONEq(t, call.Arguments, msg.ToolCalls[i].Function.Arguments)
				assert.True(t, strings.HasPrefix(msg.ToolCalls[i].ID, "toolu_"), msg.ToolCalls[i].ID)
			}

			_, body := lastMessagesRequest(t, b)
			tool := body["tools"].([]any)[0].(map[string]any)
			assert.Equal(t, "get_weather", tool["name"])
			assert.Contains(t, tool, "input_schema")

			// The next turn sends the calls and their results back.
			p.Messages = append(p.Messages, msg.ToParam(),
				openai.ToolMessage("sunny", msg.ToolCalls[0].ID), openai.ToolMessage("rain", msg.ToolCalls[1].ID))
			_, err := chatCompletion(t, url, p)
			require.NoError(t, err)
			_, body = lastMessagesRequest(t, b)
			msgs := body["messages"].([]any)
			require.Len(t, msgs, 3, "user, assistant with tool_use, user with tool_results")
			results := msgs[2].(map[string]any)["content"].([]any)
			require.Len(t, results, 2)
			assert.Equal(t, "tool_result", results[0].(map[string]any)["type"])
			assert.Equal(t, msg.ToolCalls[1].ID, results[1].(map[string]any)["tool_use_id"])
		})
	}
}

func TestAnthropicBackendReasoning(t *testing.T) {
	t.Parallel()
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, _, url := anthropicBackend(t, nexustest.Reasoning("Think first, then answer."), nexustest.Reply("42"))
			p := userMessage(claudeModel, "What is six times seven?")
			var got openai.ChatCompletion
			var reasoning string
			if stream {
				got, reasoning = streamChat(t, newClient(url), p)
			} else {
				c, err := chatCompletion(t, url, p)
				require.NoError(t, err)
				got = *c
				require.NoError(t, json.Unmarshal([]byte(got.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw()), &reasoning))
			}
			assert.Equal(t, "42", got.Choices[0].Message.Content)
			assert.Equal(t, "Think first, then answer.", reasoning)
		})
	}
}

// TestAnthropicBackendStopReasons: Anthropic's stop reasons come back as
// OpenAI finish reasons.
func TestAnthropicBackendStopReasons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		set    func(p *openai.ChatCompletionNewParams)
		text   string
		finish string
	}{
		{"end_turn", func(p *openai.ChatCompletionNewParams) {}, "one two three. four", "stop"},
		{"max_tokens", func(p *openai.ChatCompletionNewParams) { p.MaxTokens = openai.Int(2) }, "one two", "length"},
		{"stop_sequence", func(p *openai.ChatCompletionNewParams) {
			p.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String(".")}
		}, "one two three", "stop"},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "/plain", true: "/stream"}[stream], func(t *testing.T) {
				t.Parallel()
				_, _, url := anthropicBackend(t, nexustest.Reply("one two three. four"))
				p := userMessage(claudeModel, "count")
				tc.set(&p)
				var got openai.ChatCompletion
				if stream {
					got, _ = streamChat(t, newClient(url), p)
				} else {
					c, err := chatCompletion(t, url, p)
					require.NoError(t, err)
					got = *c
				}
				assert.Equal(t, tc.text, got.Choices[0].Message.Content)
				assert.Equal(t, tc.finish, got.Choices[0].FinishReason)
			})
		}
	}
}

// TestAnthropicBackendVersion2026: a client that asks for anthropic-version
// 2026-10-21 gets it, and the sampling parameters that version no longer
// has are dropped on the way.
func TestAnthropicBackendVersion2026(t *testing.T) {
	t.Parallel()
	_, b, url := anthropicBackend(t)
	p := userMessage(claudeModel, "hi")
	p.Temperature = openai.Float(0.2)
	p.TopP = openai.Float(0.9)
	_, err := chatCompletion(t, url, p, option.WithHeader("anthropic-version", "2026-10-21"))
	require.NoError(t, err)
	rec, body := lastMessagesRequest(t, b)
	assert.Equal(t, "2026-10-21", rec.Header.Get("anthropic-version"))
	assert.NotContains(t, body, "temperature")
	assert.NotContains(t, body, "top_p")
}

// TestAnthropicBackendDiscovery: the gateway's probe of a type anthropic
// backend (GET /v1/models with x-api-key and anthropic-version) finds its
// models; a wrong key leaves it unhealthy.
func TestAnthropicBackendDiscovery(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Anthropic(), nexustest.APIKey(anthropicBackendKey),
		nexustest.Models("claude-opus", "claude-haiku"))
	good := backendConfig("claude", b, 1)
	good.Type = "anthropic"
	good.APIKey = anthropicBackendKey
	bad := good
	bad.Name, bad.APIKey = "claude-wrong-key", "sk-wrong"
	gw, url := startGateway(t, testConfig(good, bad))

	ids := map[string][]string{}
	for _, m := range gw.Registry().Backends() {
		for _, model := range m.Models() {
			ids[m.Name] = append(ids[m.Name], model.ID)
		}
		assert.Equal(t, m.Name == "claude", m.Healthy(), m.Name)
	}
	assert.ElementsMatch(t, []string{"claude-opus", "claude-haiku"}, ids["claude"])

	c, err := chatCompletion(t, url, userMessage("claude-haiku", "hi"))
	require.NoError(t, err)
	assert.Equal(t, nexustest.DefaultReply, c.Choices[0].Message.Content)
	for _, r := range b.Requests() {
		if r.Path == "/v1/models" {
			assert.NotEmpty(t, r.Header.Get("anthropic-version"))
			assert.Empty(t, r.Header.Get("Authorization"))
		}
	}
}
