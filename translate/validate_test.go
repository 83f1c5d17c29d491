package translate

import (
	"encoding/json"
	"fmt"
	"slices"
)

// event is one SSE event written by a translator.
type event struct {
	Name string
	Data string
}

// recorder collects emitted events, copying their data.
type recorder struct{ events []event }

func (r *recorder) emit(name string, data []byte) error {
	r.events = append(r.events, event{name, string(data)})
	return nil
}

// validateAnthropicStream checks that events are a well-formed Messages
// stream: message_start first (or a lone error), then blocks opened and
// closed one at a time with indexes 0, 1, 2…, deltas only inside the open
// block and of its type, pings between blocks, then message_delta with a
// stop_reason and usage.output_tokens, then message_stop last. An error
// event may end the stream anywhere.
func validateAnthropicStream(events []event) error {
	if len(events) == 0 {
		return fmt.Errorf("no events")
	}
	open, openType, next := -1, "", 0
	var sawDelta, sawStop bool
	for i, e := range events {
		var ev struct {
			Type    string `json:"type"`
			Index   *int   `json:"index"`
			Message *struct {
				ID      string            `json:"id"`
				Type    string            `json:"type"`
				Role    string            `json:"role"`
				Content []json.RawMessage `json:"content"`
				Usage   *struct {
					InputTokens  *int64 `json:"input_tokens"`
					OutputTokens *int64 `json:"output_tokens"`
				} `json:"usage"`
			} `json:"message"`
			ContentBlock *struct {
				Type string `json:"type"`
			} `json:"content_block"`
			Delta *struct {
				Type       string  `json:"type"`
				StopReason *string `json:"stop_reason"`
			} `json:"delta"`
			Usage *struct {
				OutputTokens *int64 `json:"output_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
			return fmt.Errorf("event %d: %v: %s", i, err, e.Data)
		}
		if ev.Type != e.Name {
			return fmt.Errorf("event %d: name %q, type %q", i, e.Name, ev.Type)
		}
		if sawStop {
			return fmt.Errorf("event %d %s after message_stop", i, e.Name)
		}
		if e.Name == "error" {
			if i != len(events)-1 {
				return fmt.Errorf("event %d: error is not last", i)
			}
			return nil
		}
		if i == 0 {
			if e.Name != "message_start" {
				return fmt.Errorf("first event is %s", e.Name)
			}
			m := ev.Message
			if m == nil || m.ID == "" || m.Type != "message" || m.Role != "assistant" || m.Content == nil || len(m.Content) != 0 ||
				m.Usage == nil || m.Usage.InputTokens == nil || m.Usage.OutputTokens == nil {
				return fmt.Errorf("bad message_start %s", e.Data)
			}
			continue
		}
		if sawDelta && e.Name != "message_stop" {
			return fmt.Errorf("event %d %s after message_delta", i, e.Name)
		}
		switch e.Name {
		case "message_start":
			return fmt.Errorf("event %d: second message_start", i)
		case "ping":
		case "content_block_start":
			if open >= 0 {
				return fmt.Errorf("event %d: block %d opened while %d is open", i, next, open)
			}
			if ev.Index == nil || *ev.Index != next || ev.ContentBlock == nil {
				return fmt.Errorf("event %d: want block %d: %s", i, next, e.Data)
			}
			if !slices.Contains([]string{"text", "thinking", "tool_use"}, ev.ContentBlock.Type) {
				return fmt.Errorf("event %d: block type %q", i, ev.ContentBlock.Type)
			}
			open, openType = next, ev.ContentBlock.Type
			next++
		case "content_block_delta":
			if open < 0 || ev.Index == nil || *ev.Index != open || ev.Delta == nil {
				return fmt.Errorf("event %d: delta outside the open block %d: %s", i, open, e.Data)
			}
			want := map[string]string{"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "thinking", "input_json_delta": "tool_use"}[ev.Delta.Type]
			if want != openType {
				return fmt.Errorf("event %d: %s in a %s block", i, ev.Delta.Type, openType)
			}
		case "content_block_stop":
			if open < 0 || ev.Index == nil || *ev.Index != open {
				return fmt.Errorf("event %d: stop of a block that is not open: %s", i, e.Data)
			}
			open = -1
		case "message_delta":
			if open >= 0 {
				return fmt.Errorf("event %d: message_delta with block %d open", i, open)
			}
			if ev.Delta == nil || ev.Delta.StopReason == nil ||
				!slices.Contains([]string{"end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"}, *ev.Delta.StopReason) {
				return fmt.Errorf("event %d: bad stop_reason: %s", i, e.Data)
			}
			if ev.Usage == nil || ev.Usage.OutputTokens == nil {
				return fmt.Errorf("event %d: message_delta without usage.output_tokens", i)
			}
			sawDelta = true
		case "message_stop":
			if !sawDelta {
				return fmt.Errorf("event %d: message_stop before message_delta", i)
			}
			sawStop = true
		default:
			return fmt.Errorf("event %d: unknown event %q", i, e.Name)
		}
	}
	if !sawStop {
		return fmt.Errorf("no message_stop")
	}
	return nil
}

// validateChatStream checks that events are a well-formed chat stream:
// data-only chunks of one id and model, the first with role assistant, one
// choice of index 0 each, tool calls numbered 0, 1, 2… in order of first
// appearance and introduced with id, type and name, exactly one
// finish_reason with nothing but an optional usage chunk (choices [])
// after it. An error chunk may end the stream anywhere.
func validateChatStream(events []event, wantUsage bool) error {
	var id, model string
	finished, sawUsage := false, false
	tools := 0
	for i, e := range events {
		if e.Name != "" {
			return fmt.Errorf("chunk %d has event name %q", i, e.Name)
		}
		var c struct {
			ID      string          `json:"id"`
			Object  string          `json:"object"`
			Model   string          `json:"model"`
			Error   json.RawMessage `json:"error"`
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Role             *string `json:"role"`
					Content          *string `json:"content"`
					ReasoningContent *string `json:"reasoning_content"`
					ToolCalls        []struct {
						Index    *int    `json:"index"`
						ID       *string `json:"id"`
						Type     *string `json:"type"`
						Function *struct {
							Name      *string `json:"name"`
							Arguments *string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     *int64 `json:"prompt_tokens"`
				CompletionTokens *int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(e.Data), &c); err != nil {
			return fmt.Errorf("chunk %d: %v: %s", i, err, e.Data)
		}
		if c.Error != nil {
			if i != len(events)-1 {
				return fmt.Errorf("chunk %d: error is not last", i)
			}
			return nil
		}
		if c.Object != "chat.completion.chunk" || c.ID == "" {
			return fmt.Errorf("chunk %d: not a chunk: %s", i, e.Data)
		}
		if i == 0 {
			id, model = c.ID, c.Model
			if len(c.Choices) != 1 || c.Choices[0].Delta.Role == nil || *c.Choices[0].Delta.Role != "assistant" {
				return fmt.Errorf("first chunk has no role: %s", e.Data)
			}
		} else if c.ID != id || c.Model != model {
			return fmt.Errorf("chunk %d: id or model changed: %s", i, e.Data)
		}
		if sawUsage {
			return fmt.Errorf("chunk %d after the usage chunk", i)
		}
		if len(c.Choices) == 0 {
			if !finished || c.Usage == nil || c.Usage.PromptTokens == nil || c.Usage.CompletionTokens == nil {
				return fmt.Errorf("chunk %d: bad usage chunk: %s", i, e.Data)
			}
			sawUsage = true
			continue
		}
		if len(c.Choices) != 1 || c.Choices[0].Index != 0 {
			return fmt.Errorf("chunk %d: want one choice of index 0: %s", i, e.Data)
		}
		ch := c.Choices[0]
		if finished {
			return fmt.Errorf("chunk %d after finish_reason: %s", i, e.Data)
		}
		for _, tc := range ch.Delta.ToolCalls {
			switch {
			case tc.Index == nil || *tc.Index > tools:
				return fmt.Errorf("chunk %d: tool call index out of order: %s", i, e.Data)
			case *tc.Index == tools:
				if tc.ID == nil || *tc.ID == "" || tc.Type == nil || *tc.Type != "function" || tc.Function == nil || tc.Function.Name == nil {
					return fmt.Errorf("chunk %d: new tool call without id, type or name: %s", i, e.Data)
				}
				tools++
			case tc.ID != nil:
				return fmt.Errorf("chunk %d: tool call %d introduced twice", i, *tc.Index)
			}
		}
		if ch.FinishReason != nil {
			if !slices.Contains([]string{"stop", "length", "tool_calls", "content_filter"}, *ch.FinishReason) {
				return fmt.Errorf("chunk %d: finish_reason %q", i, *ch.FinishReason)
			}
			finished = true
		}
	}
	if !finished {
		return fmt.Errorf("no finish_reason")
	}
	if sawUsage != wantUsage {
		return fmt.Errorf("usage chunk: got %v, want %v", sawUsage, wantUsage)
	}
	return nil
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// toValidUTF8 is s with each invalid byte replaced by U+FFFD, as
// encoding/json decodes it.
func toValidUTF8(s string) string {
	var out []rune
	for _, r := range s {
		out = append(out, r)
	}
	return string(out)
}
