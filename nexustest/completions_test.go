package nexustest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

func TestCompletionsRaw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		text       string
		usage      map[string]any
	}{
		{name: "string prompt", body: `{"model":"test-model","prompt":"12345678"}`, text: "Hello from nexustest",
			usage: map[string]any{"prompt_tokens": 2.0, "completion_tokens": 3.0, "total_tokens": 5.0}},
		{name: "token prompt", body: `{"model":"test-model","prompt":[1,2,3,4,5]}`, text: "Hello from nexustest",
			usage: map[string]any{"prompt_tokens": 5.0, "completion_tokens": 3.0, "total_tokens": 8.0}},
		{name: "fill in the middle", body: `{"model":"test-model","prompt":"def f(","suffix":"):\n  pass","max_tokens":9}`,
			text:  "Hello from nexustest [suffix: ):\n  pass]",
			usage: map[string]any{"prompt_tokens": 1.0, "completion_tokens": 4.0, "total_tokens": 5.0}},
	}
	b := nexustest.NewBackend(t)
	c := newClient(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(t, c, "POST", b.URL()+"/v1/completions", tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
			m := decode(t, data)
			assert.True(t, strings.HasPrefix(m["id"].(string), "cmpl-"), m["id"])
			assert.Equal(t, "text_completion", m["object"])
			assert.Equal(t, "test-model", m["model"])
			assert.NotZero(t, m["created"])
			assert.Equal(t, []any{map[string]any{
				"text": tc.text, "index": 0.0, "logprobs": nil, "finish_reason": "stop",
			}}, m["choices"])
			assert.Equal(t, tc.usage, m["usage"])
		})
	}
}

func TestCompletionsStreamRaw(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Stream("a", "b"), nexustest.Usage(3, 2))
	resp := postTo(t, t.Context(), newClient(t), b.URL()+"/v1/completions",
		`{"model":"test-model","prompt":"x","suffix":"END","stream":true,"stream_options":{"include_usage":true}}`)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events, err := readEvents(resp.Body)
	require.NoError(t, err)
	require.Len(t, events, 6, "a, b, suffix marker, finish, usage, [DONE]: %q", events)
	var texts []string
	for i, ev := range events[:3] {
		m := decode(t, []byte(ev))
		assert.Equal(t, "text_completion", m["object"], i)
		ch := m["choices"].([]any)[0].(map[string]any)
		assert.Nil(t, ch["finish_reason"])
		assert.Contains(t, ch, "logprobs")
		texts = append(texts, ch["text"].(string))
		assert.NotContains(t, m, "usage")
	}
	assert.Equal(t, []string{"a", "b", " [suffix: END]"}, texts)
	finish := decode(t, []byte(events[3]))["choices"].([]any)[0].(map[string]any)
	assert.Equal(t, "stop", finish["finish_reason"])
	assert.Empty(t, finish["text"])
	u := decode(t, []byte(events[4]))
	assert.Equal(t, []any{}, u["choices"])
	assert.Equal(t, map[string]any{"prompt_tokens": 3.0, "completion_tokens": 2.0, "total_tokens": 5.0}, u["usage"])
	assert.Equal(t, "[DONE]", events[5])
}

func TestCompletionsOpenAIClient(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("coder"), nexustest.Reply("x = 1"))
	client := openaiClient(t, b)

	got, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
		Model:  "coder",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: param.NewOpt("def f():")},
		Suffix: param.NewOpt("return x"),
	})
	require.NoError(t, err)
	require.Len(t, got.Choices, 1)
	assert.Equal(t, "x = 1 [suffix: return x]", got.Choices[0].Text)
	assert.Equal(t, openai.CompletionChoiceFinishReasonStop, got.Choices[0].FinishReason)
	assert.Equal(t, "coder", got.Model)
	assert.Positive(t, got.Usage.TotalTokens)

	stream := client.Completions.NewStreaming(t.Context(), openai.CompletionNewParams{
		Model:         "coder",
		Prompt:        openai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"a", "b"}},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)},
	})
	var text strings.Builder
	var finish string
	var total int64
	for stream.Next() {
		c := stream.Current()
		for _, ch := range c.Choices {
			text.WriteString(ch.Text)
			if ch.FinishReason != "" {
				finish = string(ch.FinishReason)
			}
		}
		total += c.Usage.TotalTokens
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, "x = 1", text.String())
	assert.Equal(t, "stop", finish)
	assert.Equal(t, int64(4), total, "prompt 1 + 3 words")
}
