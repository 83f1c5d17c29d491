package translate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Pieces the fuzz programs draw from: text with characters JSON must
// escape, and tool arguments split mid-token.
var (
	fuzzText = []string{"", "a", "Hello, ", "wörld", "\"quoted\"", "line\n", "\\", "<tag>&", "日本", "\u2028", "\x00"}
	fuzzArgs = []string{"", "{", "\"pa", "th\":", "\"a.go\"", ",\"n\":1", "}", "{}", "]", " "}
)

// chatChunkJSON builds a chat chunk with one choice whose delta is delta.
func chatChunkJSON(delta map[string]any, finish any, usage any) []byte {
	c := map[string]any{"id": "chatcmpl-f", "object": "chat.completion.chunk",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	if usage != nil {
		c["usage"] = usage
	}
	b, _ := json.Marshal(c)
	return b
}

// FuzzChatToMessagesStream feeds chat chunk streams generated from program
// (random contents, splits and orders of deltas: text, reasoning, tool
// calls interleaved by index with and without ids, empty deltas,
// finish_reason with and without content, usage-only chunks) with raw
// inserted as one more event, and checks that translation never panics,
// always yields a well-formed Anthropic stream and, when raw was rejected,
// carries all text and thinking through in order.
func FuzzChatToMessagesStream(f *testing.F) {
	f.Add([]byte{0, 0x10, 3, 0x13, 0x23, 0x14, 8}, []byte(`[DONE]`))
	f.Add([]byte{1, 0x11, 0, 3, 0x13, 0x33, 0x43, 4, 0x54, 0x64, 0x74, 8, 9}, []byte(`{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"x"}}]}}]}`))
	f.Add([]byte{6, 7, 0x0b, 10, 0x1a, 8, 0, 5, 9}, []byte(`{"error":{"message":"boom"}}`))
	f.Fuzz(func(t *testing.T, program, raw []byte) {
		if len(program) > 512 {
			return
		}
		var rec recorder
		m := NewMessagesReply("m")
		var text, thinking strings.Builder
		rawAccepted := false
		for i, b := range program {
			if i == len(program)/2 {
				rawAccepted = m.Event("", raw, rec.emit) == nil
			}
			piece := fuzzText[int(b>>4)%len(fuzzText)]
			args := fuzzArgs[int(b>>4)%len(fuzzArgs)]
			tool := func() map[string]any {
				tc := map[string]any{"index": int(b>>4) % 4, "function": map[string]any{"arguments": args}}
				if b&0x40 != 0 || b>>4%4 == 0 {
					tc["id"] = "call_" + string(rune('a'+int(b>>4)%4))
					tc["type"] = "function"
					tc["function"].(map[string]any)["name"] = "f"
				}
				return tc
			}
			var data []byte
			switch b % 12 {
			case 0:
				data = chatChunkJSON(map[string]any{"content": piece}, nil, nil)
				text.WriteString(piece)
			case 1:
				data = chatChunkJSON(map[string]any{"reasoning_content": piece}, nil, nil)
				thinking.WriteString(piece)
			case 2:
				data = chatChunkJSON(map[string]any{"reasoning": piece}, nil, nil)
				thinking.WriteString(piece)
			case 3, 4, 5:
				data = chatChunkJSON(map[string]any{"tool_calls": []any{tool()}}, nil, nil)
			case 6:
				data = chatChunkJSON(map[string]any{}, nil, nil)
			case 7:
				data = chatChunkJSON(map[string]any{"role": "assistant", "content": nil}, nil, nil)
			case 8:
				reason := []string{"stop", "length", "tool_calls", "content_filter", ""}[int(b>>4)%5]
				data = chatChunkJSON(map[string]any{"content": piece}, reason, nil)
				text.WriteString(piece)
			case 9:
				data = []byte(`{"id":"chatcmpl-f","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":4}}}`)
			case 10:
				data = chatChunkJSON(map[string]any{"content": piece, "tool_calls": []any{tool()}}, nil, nil)
				text.WriteString(piece)
			case 11:
				data = chatChunkJSON(map[string]any{"refusal": piece}, nil, nil)
				text.WriteString(piece)
			}
			require.NoError(t, m.Event("", data, rec.emit))
		}
		if len(program) == 0 {
			rawAccepted = m.Event("", raw, rec.emit) == nil
		}
		require.NoError(t, m.Finish(rec.emit))
		require.NoError(t, validateAnthropicStream(rec.events), "%v", rec.events)
		if rawAccepted && strings.TrimSpace(string(raw)) != "[DONE]" && strings.TrimSpace(string(raw)) != "" {
			return
		}
		var gotText, gotThinking strings.Builder
		for _, e := range rec.events {
			var ev struct {
				Delta struct {
					Type, Text, Thinking string
				} `json:"delta"`
			}
			require.NoError(t, json.Unmarshal([]byte(e.Data), &ev))
			switch ev.Delta.Type {
			case "text_delta":
				gotText.WriteString(ev.Delta.Text)
			case "thinking_delta":
				gotThinking.WriteString(ev.Delta.Thinking)
			}
		}
		require.Equal(t, toValidUTF8(text.String()), gotText.String())
		require.Equal(t, toValidUTF8(thinking.String()), gotThinking.String())
	})
}

// FuzzMessagesToChatStream feeds Anthropic event streams generated from
// program (events of every type in random orders, valid or not: deltas
// without their block, tool blocks of any index, repeated message_delta,
// errors) with raw inserted as one more event, and checks that translation
// never panics, always yields a well-formed chat stream with the usage
// chunk exactly when asked for, and carries all text given before the
// message_delta through in order.
func FuzzMessagesToChatStream(f *testing.F) {
	f.Add([]byte{1, 0, 2, 3, 3, 6, 0x24, 0x15, 0x25, 6, 8, 9}, []byte(`{"type":"ping"}`))
	f.Add([]byte{0, 0, 0x14, 0x25, 0x34, 0x15, 0x35, 7, 0x25, 8}, []byte(`{"type":"content_block_delta","index":9,"delta":{"type":"input_json_delta","partial_json":"{"}}`))
	f.Add([]byte{1, 3, 2, 3, 10}, []byte(`garbage`))
	f.Fuzz(func(t *testing.T, program, raw []byte) {
		if len(program) == 0 || len(program) > 512 {
			return
		}
		includeUsage := program[0]&1 == 1
		var rec recorder
		c := NewChatReply("m", ReplyOptions{IncludeUsage: includeUsage})
		var text strings.Builder
		rawAccepted, ended, failed := false, false, false
		for i, b := range program[1:] {
			if i == len(program)/2 {
				rawAccepted = c.Event("", raw, rec.emit) == nil
			}
			idx := int(b>>4) % 4
			piece := fuzzText[int(b>>4)%len(fuzzText)]
			var ev map[string]any
			switch b % 11 {
			case 0:
				ev = map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_f", "usage": map[string]any{"input_tokens": 5, "cache_read_input_tokens": 2}}}
			case 1:
				ev = map[string]any{"type": "ping"}
			case 2:
				ev = map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "text", "text": piece}}
				if !ended {
					text.WriteString(piece)
				}
			case 3:
				ev = map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "text_delta", "text": piece}}
				if !ended {
					text.WriteString(piece)
				}
			case 4:
				ev = map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "tool_use", "id": "toolu_" + piece, "name": "f", "input": map[string]any{}}}
			case 5:
				ev = map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": fuzzArgs[int(b>>4)%len(fuzzArgs)]}}
			case 6:
				ev = map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "thinking_delta", "thinking": piece}}
			case 7:
				ev = map[string]any{"type": "content_block_stop", "index": idx}
			case 8:
				stop := []string{"end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal", "pause_turn", "new_reason"}[int(b>>4)%7]
				ev = map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop}, "usage": map[string]any{"output_tokens": 9}}
				ended = true
			case 9:
				ev = map[string]any{"type": "message_stop"}
			case 10:
				if b < 0xf0 {
					ev = map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "signature_delta", "signature": "s"}}
				} else {
					ev = map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": "x"}}
					failed = true
				}
			}
			data, _ := json.Marshal(ev)
			require.NoError(t, c.Event(ev["type"].(string), data, rec.emit))
		}
		require.NoError(t, c.Finish(rec.emit))
		if len(rec.events) > 0 && strings.HasPrefix(rec.events[len(rec.events)-1].Data, `{"error"`) {
			failed = true
		}
		require.NoError(t, validateChatStream(rec.events, includeUsage && !failed), "%v", rec.events)
		if rawAccepted || failed {
			return
		}
		var got strings.Builder
		for _, e := range rec.events {
			var ch struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
				} `json:"choices"`
			}
			require.NoError(t, json.Unmarshal([]byte(e.Data), &ch))
			for _, c := range ch.Choices {
				got.WriteString(c.Delta.Content)
			}
		}
		require.Equal(t, toValidUTF8(text.String()), got.String())
	})
}
