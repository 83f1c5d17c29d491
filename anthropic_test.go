package nexus_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/nexustest"
)

// claudeModel is the model the Anthropic tests ask for.
const claudeModel = "claude-test"

// messagesMode is how a backend serves POST /v1/messages: natively
// (passthrough) or only through chat completions (translation).
type messagesMode struct {
	name   string
	native bool
}

var messagesModes = []messagesMode{{"native", true}, {"chat-only", false}}

// messagesBackend starts a nexustest backend serving claudeModel in mode,
// with opts, and returns it with its gateway configuration: a vLLM backend
// (which serves every endpoint) or, chat-only, one configured and built
// with endpoints = ["chat"].
func messagesBackend(t testing.TB, name string, mode messagesMode, priority int, opts ...nexustest.Option) (*nexustest.Backend, nexus.BackendConfig) {
	t.Helper()
	opts = append([]nexustest.Option{nexustest.Models(claudeModel), nexustest.Name(name)}, opts...)
	if !mode.native {
		opts = append(opts, nexustest.Endpoints(nexustest.EndpointChat))
	}
	b := nexustest.NewBackend(t, opts...)
	bc := backendConfig(name, b, priority)
	bc.Type = "vllm"
	if !mode.native {
		bc.Endpoints = []string{"chat"}
	}
	return b, bc
}

// messagesGateway starts a gateway in front of one messagesBackend.
func messagesGateway(t testing.TB, mode messagesMode, opts ...nexustest.Option) (*nexus.Gateway, *nexustest.Backend, string) {
	t.Helper()
	b, bc := messagesBackend(t, "gpu", mode, 1, opts...)
	gw, url := startGateway(t, testConfig(bc))
	return gw, b, url
}

// anthropicClient is an anthropic-sdk-go client of the gateway at base,
// without retries.
func anthropicClient(base string, opts ...aoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]aoption.RequestOption{
		aoption.WithBaseURL(base + "/"),
		aoption.WithAPIKey("client-key"),
		aoption.WithMaxRetries(0),
		aoption.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
	}, opts...)...)
}

func ptr[T any](v T) *T { return &v }

// userParams is a Messages request of one user text.
func userParams(text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     claudeModel,
		MaxTokens: 100,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

// streamMessage runs a streamed request and assembles it with the SDK's
// accumulator.
func streamMessage(ctx context.Context, c anthropic.Client, p anthropic.MessageNewParams, opts ...aoption.RequestOption) (anthropic.Message, []string, error) {
	s := c.Messages.NewStreaming(ctx, p, opts...)
	defer s.Close()
	var msg anthropic.Message
	var types []string
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			return msg, types, err
		}
	}
	return msg, types, s.Err()
}

// sendMessage runs p plain or streamed.
func sendMessage(t *testing.T, c anthropic.Client, p anthropic.MessageNewParams, stream bool, opts ...aoption.RequestOption) anthropic.Message {
	t.Helper()
	if stream {
		msg, types, err := streamMessage(t.Context(), c, p, opts...)
		require.NoError(t, err)
		require.NotEmpty(t, types)
		assert.Equal(t, "message_start", types[0])
		assert.Equal(t, "message_stop", types[len(types)-1])
		return msg
	}
	msg, err := c.Messages.New(t.Context(), p, opts...)
	require.NoError(t, err)
	return *msg
}

// forEachMode runs f for both modes, plain and streamed, in parallel.
func forEachMode(t *testing.T, f func(t *testing.T, mode messagesMode, stream bool)) {
	for _, mode := range messagesModes {
		for _, stream := range []bool{false, true} {
			name := mode.name + "/plain"
			if stream {
				name = mode.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f(t, mode, stream)
			})
		}
	}
}

// lastRequest returns the last request b received on path (the backend
// also receives probes and load polls).
func lastRequest(t *testing.T, b *nexustest.Backend, path string) nexustest.RecordedRequest {
	t.Helper()
	reqs := b.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i]
		}
	}
	t.Fatalf("no request on %s", path)
	return nexustest.RecordedRequest{}
}

// lastBody decodes the body of the last request b received on path.
func lastBody(t *testing.T, b *nexustest.Backend, path string) map[string]any {
	t.Helper()
	rec := lastRequest(t, b, path)
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Body, &m), "%s", rec.Body)
	return m
}

// inferencePath is where a backend in mode receives a /v1/messages request.
func inferencePath(mode messagesMode) string {
	if mode.native {
		return "/v1/messages"
	}
	return "/v1/chat/completions"
}

func TestAnthropicPlainAndStream(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, mode messagesMode, stream bool) {
		gw, b, url := messagesGateway(t, mode, nexustest.Reply("Hello from the fleet"), nexustest.Usage(12, 4))
		p := userParams("hello there")
		p.System = []anthropic.TextBlockParam{{Text: "You are terse."}}
		var resp *http.Response
		msg := sendMessage(t, anthropicClient(url), p, stream, aoption.WithResponseInto(&resp))

		require.Len(t, msg.Content, 1)
		assert.Equal(t, "text", msg.Content[0].Type)
		assert.Equal(t, "Hello from the fleet", msg.Content[0].Text)
		assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)
		assert.Equal(t, "assistant", string(msg.Role))
		assert.Equal(t, claudeModel, string(msg.Model))
		assert.True(t, strings.HasPrefix(msg.ID, "msg_"), msg.ID)
		assert.EqualValues(t, 12, msg.Usage.InputTokens)
		assert.EqualValues(t, 4, msg.Usage.OutputTokens)
		assert.Equal(t, "gpu", resp.Header.Get("X-Nexus-Backend"))

		body := lastBody(t, b, inferencePath(mode))
		if mode.native {
			assert.Equal(t, []any{map[string]any{"type": "text", "text": "You are terse."}}, body["system"])
		} else {
			msgs := body["messages"].([]any)
			assert.Equal(t, map[string]any{"role": "system", "content": "You are terse."}, msgs[0])
			assert.Equal(t, map[string]any{"role": "user", "content": "hello there"}, msgs[1])
			assert.EqualValues(t, 100, body["max_tokens"])
		}

		// Tokens (and, for streams, the time to first token) are recorded
		// in /v1/stats.
		st := recordedStats(t, gw, 1)
		assert.EqualValues(t, 12, st.Tokens.Prompt)
		assert.EqualValues(t, 4, st.Tokens.Completion)
		var ep *metrics.EndpointStats
		for i := range st.Endpoints {
			if st.Endpoints[i].Name == metrics.EndpointMessages {
				ep = &st.Endpoints[i]
			}
		}
		require.NotNil(t, ep, "endpoints: %+v", st.Endpoints)
		if stream {
			assert.EqualValues(t, 1, st.TimeToFirstToken.Count, "TTFT of the stream")
		} else {
			assert.Zero(t, st.TimeToFirstToken.Count)
		}
	})
}

func TestAnthropicImage(t *testing.T) {
	t.Parallel()
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nfake"))
	forEachMode(t, func(t *testing.T, mode messagesMode, stream bool) {
		_, b, url := messagesGateway(t, mode)
		p := userParams("")
		p.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(
			anthropic.NewTextBlock("What is in the picture?"),
			anthropic.NewImageBlockBase64("image/png", png),
		)}
		msg := sendMessage(t, anthropicClient(url), p, stream)
		require.NotEmpty(t, msg.Content)
		assert.Equal(t, nexustest.DefaultReply, msg.Content[0].Text)

		body := lastBody(t, b, inferencePath(mode))
		msgs := body["messages"].([]any)
		content := msgs[len(msgs)-1].(map[string]any)["content"].([]any)
		require.Len(t, content, 2)
		if mode.native {
			assert.Equal(t, map[string]any{"type": "base64", "media_type": "image/png", "data": png},
				content[1].(map[string]any)["source"])
		} else {
			assert.Equal(t, map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64," + png}},
				content[1])
		}
	})
}

// weatherTools are the tools the tool tests offer.
func weatherTools() []anthropic.ToolUnionParam {
	schema := anthropic.ToolInputSchemaParam{
		Properties: map[string]any{"city": map[string]any{"type": "string"}},
		Required:   []string{"city"},
	}
	return []anthropic.ToolUnionParam{
		anthropic.ToolUnionParamOfTool(schema, "get_weather"),
		anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{}, "get_time"),
	}
}

func TestAnthropicToolCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		preamble string
		calls    []nexustest.ToolCall
	}{
		{"one call", "", []nexustest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{"several calls after text", "Let me look.", []nexustest.ToolCall{
			{Name: "get_weather", Arguments: `{"city":"Paris","days":[1,2],"units":{"temp":"C"}}`},
			{Name: "get_weather", Arguments: `{"city":"Zürich \"ZH\""}`},
			{Name: "get_time", Arguments: ``},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachMode(t, func(t *testing.T, mode messagesMode, stream bool) {
				_, b, url := messagesGateway(t, mode, nexustest.ToolCalls(tc.calls...), nexustest.ToolPreamble(tc.preamble))
				p := userParams("Weather in Paris?")
				p.Tools = weatherTools()
				msg := sendMessage(t, anthropicClient(url), p, stream)

				assert.Equal(t, anthropic.StopReasonToolUse, msg.StopReason)
				blocks := msg.Content
				if tc.preamble != "" {
					require.NotEmpty(t, blocks)
					assert.Equal(t, "text", blocks[0].Type)
					assert.Equal(t, tc.preamble, blocks[0].Text)
					blocks = blocks[1:]
				}
				require.Len(t, blocks, len(tc.calls), "content: %+v", msg.Content)
				ids := map[string]bool{}
				for i, call := range tc.calls {
					bl := blocks[i]
					assert.Equal(t, "tool_use", bl.Type)
					assert.Equal(t, call.Name, bl.Name)
					assert.NotEmpty(t, bl.ID)
					ids[bl.ID] = true
					want := call.Arguments
					if want == "" {
						want = "{}"
					}
					assert.JSONEq(t, want, string(bl.Input), "parsed input of call %d", i)
					// The typed view of a tool_use block parses too.
					var input map[string]any
					require.NoError(t, json.Unmarshal(bl.AsToolUse().Input, &input))
				}
				assert.Len(t, ids, len(tc.calls), "distinct ids")

				body := lastBody(t, b, inferencePath(mode))
				if !mode.native {
					tools := body["tools"].([]any)
					require.Len(t, tools, 2)
					fn := tools[0].(map[string]any)["function"].(map[string]any)
					assert.Equal(t, "get_weather", fn["name"])
					assert.Equal(t, []any{"city"}, fn["parameters"].(map[string]any)["required"])
				}
			})
		})
	}
}

func TestAnthropicToolResultTurn(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, mode messagesMode, stream bool) {
		_, b, url := messagesGateway(t, mode, nexustest.Reply("It is sunny in Paris."))
		p := userParams("Weather in Paris?")
		p.Tools = weatherTools()
		p.Messages = append(p.Messages,
			anthropic.NewAssistantMessage(
				anthropic.NewTextBlock("Let me look."),
				anthropic.NewToolUseBlock("toolu_01", map[string]any{"city": "Paris"}, "get_weather"),
			),
			anthropic.NewUserMessage(
				anthropic.NewToolResultBlock("toolu_01", "sunny, 21°C", false),
				anthropic.NewTextBlock("Thanks."),
			),
		)
		msg := sendMessage(t, anthropicClient(url), p, stream)
		require.NotEmpty(t, msg.Content)
		assert.Equal(t, "It is sunny in Paris.", msg.Content[0].Text)
		assert.Equal(t, anthropic.StopReasonEndTurn, msg.StopReason)

		body := lastBody(t, b, inferencePath(mode))
		msgs := body["messages"].([]any)
		if mode.native {
			require.Len(t, msgs, 3)
			last := msgs[2].(map[string]any)["content"].([]any)
			assert.Equal(t, "tool_result", last[0].(map[string]any)["type"])
			assert.Equal(t, "toolu_01", last[0].(map[string]any)["tool_use_id"])
			return
		}
		require.Len(t, msgs, 4, "user, assistant with tool_calls, tool, user: %v", msgs)
		asst := msgs[1].(map[string]any)
		assert.Equal(t, "assistant", asst["role"])
		assert.Equal(t, "Let me look.", asst["content"])
		call := asst["tool_calls"].([]any)[0].(map[string]any)
		assert.Equal(t, "toolu_01", call["id"])
		assert.JSONEq(t, `{"city":"Paris"}`, call["function"].(map[string]any)["arguments"].(string))
		assert.Equal(t, map[string]any{"role": "tool", "tool_call_id": "toolu_01", "content": "sunny, 21°C"}, msgs[2])
		assert.Equal(t, map[string]any{"role": "user", "content": "Thanks."}, msgs[3])
	})
}

// TestAnthropicStopAndMaxTokens: native, the backend applies stop_sequences
// and max_tokens itself; chat-only, they reach the backend as stop and
// max_tokens, and its finish_reason "length" and vLLM's stop_reason come
// back as max_tokens and stop_sequence.
func TestAnthropicStopAndMaxTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		maxTokens int64
		stops     []string
		text      string
		reason    anthropic.StopReason
		seq       string
	}{
		{"stop sequence", 100, []string{"zzz", "."}, "one two three", anthropic.StopReasonStopSequence, "."},
		{"max_tokens", 2, nil, "one two", anthropic.StopReasonMaxTokens, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachMode(t, func(t *testing.T, mode messagesMode, stream bool) {
				opts := []nexustest.Option{nexustest.Reply("one two three. four five")}
				if !mode.native {
					opts = []nexustest.Option{nexustest.Handler(limitedChat(tc.text, tc.reason == anthropic.StopReasonMaxTokens, tc.seq))}
				}
				_, b, url := messagesGateway(t, mode, opts...)
				p := userParams("count")
				p.MaxTokens = tc.maxTokens
				p.StopSequences = tc.stops
				msg := sendMessage(t, anthropicClient(url), p, stream)
				require.Len(t, msg.Content, 1)
				assert.Equal(t, tc.text, msg.Content[0].Text)
				assert.Equal(t, tc.reason, msg.StopReason)
				assert.Equal(t, tc.seq, msg.StopSequence)

				if !mode.native {
					body := lastBody(t, b, "/v1/chat/completions")
					assert.EqualValues(t, tc.maxTokens, body["max_tokens"])
					if tc.stops != nil {
						assert.Equal(t, []any{"zzz", "."}, body["stop"])
					} else {
						assert.NotContains(t, body, "stop")
					}
				}
			})
		})
	}
}

// limitedChat is a chat handler that answers text and finishes as a
// backend cut by max_tokens ("length") or by the stop string seq (vLLM
// names it in stop_reason), plain or streamed.
func limitedChat(text string, length bool, seq string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		finish := "stop"
		if length {
			finish = "length"
		}
		var stop any
		if seq != "" {
			stop = seq
		}
		usage := map[string]any{"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": claudeModel,
				"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": text},
					"finish_reason": finish, "stop_reason": stop}},
				"usage": usage,
			})
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		head := map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": claudeModel}
		send := func(extra map[string]any) {
			ev := map[string]any{}
			for k, v := range head {
				ev[k] = v
			}
			for k, v := range extra {
				ev[k] = v
			}
			b, _ := json.Marshal(ev)
			_, _ = io.WriteString(w, "data: "+string(b)+"\n\n")
		}
		send(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": ""}}}})
		for i, word := range strings.SplitAfter(text, " ") {
			_ = i
			send(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": word}}}})
		}
		send(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish, "stop_reason": stop}}})
		send(map[string]any{"choices": []any{}, "usage": usage})
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	t.Parallel()
	for _, mode := range messagesModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			_, b, url := messagesGateway(t, mode)
			var resp *http.Response
			got, err := ptr(anthropicClient(url)).Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{
				Model:    claudeModel,
				System:   anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("You are terse.")},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("12345678 12345678 12345678"))},
			}, aoption.WithResponseInto(&resp))
			require.NoError(t, err)
			assert.Positive(t, got.InputTokens)
			if mode.native {
				assert.EqualValues(t, 1, b.Hits("/v1/messages/count_tokens"), "passed through")
				assert.NotEqual(t, "estimated", resp.Header.Get("X-Nexus-Route-Reason"))
				return
			}
			assert.Equal(t, "estimated", resp.Header.Get("X-Nexus-Route-Reason"))
			assert.Zero(t, b.Hits("/v1/messages/count_tokens"))
			assert.Zero(t, b.ChatHits(), "an estimate costs the backend nothing")
		})
	}
}

func TestAnthropicUnknownModel(t *testing.T) {
	t.Parallel()
	for _, mode := range messagesModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			_, _, url := messagesGateway(t, mode)
			p := userParams("hi")
			p.Model = "claude-nope"
			_, err := ptr(anthropicClient(url)).Messages.New(t.Context(), p)
			var ae *anthropic.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, http.StatusNotFound, ae.StatusCode)
			var env struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal([]byte(ae.RawJSON()), &env), ae.RawJSON())
			assert.Equal(t, "error", env.Type)
			assert.Equal(t, "not_found_error", env.Error.Type)
			assert.Contains(t, env.Error.Message, "claude-nope")

			// count_tokens checks the model too.
			_, err = ptr(anthropicClient(url)).Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{
				Model: "claude-nope", Messages: p.Messages,
			})
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, http.StatusNotFound, ae.StatusCode)
		})
	}
}

func TestAnthropicFailoverBeforeFirstByte(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, mode messagesMode, stream bool) {
		bad, badCfg := messagesBackend(t, "refusing", mode, 1, nexustest.Fail(http.StatusServiceUnavailable))
		good, goodCfg := messagesBackend(t, "good", mode, 2)
		cfg := testConfig(badCfg, goodCfg)
		cfg.Routing.Strategy = "priority_only" // smart also weighs probe latency
		_, url := startGateway(t, cfg)
		var resp *http.Response
		msg := sendMessage(t, anthropicClient(url), userParams("hi"), stream, aoption.WithResponseInto(&resp))
		assert.Equal(t, nexustest.DefaultReply, msg.Content[0].Text)
		assert.Equal(t, "good", resp.Header.Get("X-Nexus-Backend"))
		assert.EqualValues(t, 1, bad.Hits(inferencePath(mode)), "the refusing backend was tried first")
		assert.Equal(t, "failover", resp.Header.Get("X-Nexus-Route-Reason"))
		assert.EqualValues(t, 1, good.Hits(inferencePath(mode)))
	})
}

func TestAnthropicStreamFailsMidway(t *testing.T) {
	t.Parallel()
	for _, mode := range messagesModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			_, _, url := messagesGateway(t, mode, nexustest.Reply("one two three four five"), nexustest.DropAfter(2))
			msg, types, err := streamMessage(t.Context(), anthropicClient(url), userParams("hi"))
			require.Error(t, err, "events: %v", types)
			assert.Contains(t, types, "content_block_delta", "the stream had begun")
			assert.NotContains(t, types, "message_stop")
			if len(msg.Content) > 0 {
				assert.Equal(t, "one two", msg.Content[0].Text)
			}
		})
	}
}

// TestAnthropicPassthrough: to a backend that serves Messages, the body
// arrives byte for byte except model, the anthropic-* headers and the
// query string arrive unchanged, and the client's gateway key stays at the
// gateway.
func TestAnthropicPassthrough(t *testing.T) {
	t.Parallel()
	b, bc := messagesBackend(t, "gpu", messagesMode{native: true}, 1)
	cfg := testConfig(bc)
	cfg.Routing.Aliases = map[string]string{"claude": claudeModel}
	cfg.Keys = []nexus.KeyConfig{{Name: "cc", Key: "sk-gateway-key"}}
	_, url := startGateway(t, cfg)

	body := `{"model":"claude","max_tokens":32000,"stream":false,` +
		`"system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"system","content":"mid"},` +
		`{"role":"user","content":[{"type":"mystery_block","x":{"y":[1,2]}}]}],` +
		`"thinking":{"type":"adaptive","display":"omitted"},"context_management":{"edits":[]},"output_config":{"effort":"high"},` +
		`"metadata":{"user_id":"{\"device\":\"d\"}"},"unknown_member":  [ 1 , 2 ]}`
	for _, version := range []string{"2023-06-01", "2026-10-21"} {
		resp, data := postPath(t, url, "/v1/messages?beta=true", body,
			"x-api-key", "sk-gateway-key",
			"anthropic-version", version,
			"anthropic-beta", "claude-code-20250219,context-management-2025-06-27",
			"X-Claude-Code-Session-Id", "sess-1")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", data)

		rec := lastRequest(t, b, "/v1/messages")
		assert.Equal(t, "beta=true", rec.RawQuery)
		assert.Equal(t, strings.Replace(body, `"model":"claude"`, `"model":"claude-test"`, 1), string(rec.Body), "byte for byte but the model")
		assert.Equal(t, version, rec.Header.Get("anthropic-version"))
		assert.Equal(t, "claude-code-20250219,context-management-2025-06-27", rec.Header.Get("anthropic-beta"))
		assert.Equal(t, "sess-1", rec.Header.Get("X-Claude-Code-Session-Id"))
		assert.Empty(t, rec.Header.Get("x-api-key"), "the gateway key is not forwarded")
		assert.Empty(t, rec.Header.Get("Authorization"))
	}
}

// TestAnthropicBackend400Relayed: a backend's 400 to a passed-through
// request reaches the client unchanged, byte for byte (Claude Code retries
// without role "system" messages when it sees one).
func TestAnthropicBackend400Relayed(t *testing.T) {
	t.Parallel()
	const refusal = `{"type":"error","error":{"type":"invalid_request_error","message":"messages.1.role: Input should be 'user' or 'assistant'"},"request_id":"req_backend"}`
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"claude-test","object":"model"}]}`)
			return
		}
		got, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, refusal)
	}))
	t.Cleanup(srv.Close)
	_, url := startGateway(t, testConfig(nexus.BackendConfig{Name: "vllm", URL: srv.URL, Type: "vllm", Priority: 1}))

	body := `{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"x"}]}`
	resp, data := postPath(t, url, "/v1/messages?beta=true", body, "anthropic-version", "2023-06-01")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, refusal, string(data), "relayed unchanged")
	assert.Equal(t, body, string(got))

	_, err := ptr(anthropicClient(url)).Messages.New(t.Context(), userParams("hi"))
	var ae *anthropic.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.JSONEq(t, refusal, ae.RawJSON())
}

func TestAnthropicVersions(t *testing.T) {
	t.Parallel()
	for _, mode := range messagesModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			_, b, url := messagesGateway(t, mode)
			for _, version := range []string{"2023-06-01", "2026-10-21"} {
				msg := sendMessage(t, anthropicClient(url, aoption.WithHeader("anthropic-version", version)), userParams("hi"), true)
				assert.Equal(t, nexustest.DefaultReply, msg.Content[0].Text, version)
				if mode.native {
					assert.Equal(t, version, lastRequest(t, b, "/v1/messages").Header.Get("anthropic-version"))
				}
			}
		})
	}
}

func TestAnthropicModelList(t *testing.T) {
	t.Parallel()
	b1 := nexustest.NewBackend(t, nexustest.Models("claude-b", "claude-a"))
	b2 := nexustest.NewBackend(t, nexustest.Models("claude-a", "claude-c"))
	_, url := startGateway(t, testConfig(backendConfig("one", b1, 1), backendConfig("two", b2, 2)))

	page, err := ptr(anthropicClient(url)).Models.List(t.Context(), anthropic.ModelListParams{})
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		assert.Equal(t, "model", string(m.Type))
		assert.Equal(t, m.ID, m.DisplayName)
		assert.False(t, m.CreatedAt.IsZero())
	}
	assert.Equal(t, []string{"claude-a", "claude-b", "claude-c"}, ids, "each model once")
	assert.False(t, page.HasMore)
	assert.Equal(t, "claude-a", page.FirstID)
	assert.Equal(t, "claude-c", page.LastID)

	// Without anthropic-version: OpenAI's list, one entry per backend.
	resp, err := http.Get(url + "/v1/models")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list api.ModelList
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	assert.Equal(t, "list", list.Object)
	assert.Len(t, list.Data, 4)

	m, err := ptr(anthropicClient(url)).Models.Get(t.Context(), "claude-c", anthropic.ModelGetParams{})
	require.NoError(t, err)
	assert.Equal(t, "claude-c", m.ID)
	_, err = ptr(anthropicClient(url)).Models.Get(t.Context(), "claude-z", anthropic.ModelGetParams{})
	var ae *anthropic.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusNotFound, ae.StatusCode)
}

// TestAnthropicSessionRecorded: Claude Code's session header shows in the
// history and the request's log line.
func TestAnthropicSessionRecorded(t *testing.T) {
	t.Parallel()
	for _, mode := range messagesModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			_, bc := messagesBackend(t, "gpu", mode, 1, nexustest.Usage(5, 3))
			var buf syncBuffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			gw, url := startGateway(t, testConfig(bc), nexus.WithLogger(log))
			c := anthropicClient(url, aoption.WithHeader("X-Claude-Code-Session-Id", "0b9c-session"),
				aoption.WithHeader("X-Request-Id", "req-cc-"+mode.name))
			sendMessage(t, c, userParams("hi"), true)

			hist := gw.History().List()
			require.Len(t, hist, 1)
			e := hist[0]
			assert.Equal(t, "0b9c-session", e.Session)
			assert.Equal(t, metrics.EndpointMessages, e.Endpoint)
			assert.Equal(t, !mode.native, e.Translated)
			assert.True(t, e.Stream)
			assert.EqualValues(t, 5, e.PromptTokens)
			assert.EqualValues(t, 3, e.CompletionTokens)

			resp, err := http.Get(url + "/v1/history")
			require.NoError(t, err)
			defer resp.Body.Close()
			var entries []map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&entries))
			require.Len(t, entries, 1)
			assert.Equal(t, "0b9c-session", entries[0]["session"])

			line := buf.requestLines(t)["req-cc-"+mode.name]
			require.NotNil(t, line)
			assert.Equal(t, "0b9c-session", line["session_id"])
			assert.Equal(t, "messages", line["endpoint"])
			assert.EqualValues(t, 5, line["tokens_prompt"])
		})
	}
}

// TestAnthropicErrorEnvelope: the gateway's own errors on the Messages
// routes are Anthropic's.
func TestAnthropicErrorEnvelope(t *testing.T) {
	t.Parallel()
	_, _, url := messagesGateway(t, messagesModes[1])
	resp, data := postPath(t, url, "/v1/messages", `{"model":`, "anthropic-version", "2023-06-01")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var env struct {
		Type  string `json:"type"`
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(data, &env), "%s", data)
	assert.Equal(t, "error", env.Type)
	assert.Equal(t, "invalid_request_error", env.Error.Type)
}
