package nexustest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// messagesRequest is the part of an Anthropic Messages request the fake
// reads.
type messagesRequest struct {
	baseRequest
	MaxTokens     *int               `json:"max_tokens"`
	System        json.RawMessage    `json:"system"` // string or text blocks
	Messages      []anthropicMessage `json:"messages"`
	StopSequences []string           `json:"stop_sequences"`
	Tools         json.RawMessage    `json:"tools"`
}

type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"` // string or content blocks
}

// promptSize is the size of all system and message text.
func (m *messagesRequest) promptSize() (lastUser string, n int) {
	n = len(partsText(m.System, "text"))
	for _, msg := range m.Messages {
		text := partsText(msg.Content, "text")
		n += len(text)
		if msg.Role == "user" {
			lastUser = text
		}
	}
	return lastUser, n
}

// messageReply is an Anthropic Message.
type messageReply struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"` // always "message"
	Role         string         `json:"role"` // always "assistant"
	Model        string         `json:"model"`
	Content      []contentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        messageUsage   `json:"usage"`
}

// contentBlock is a text, thinking or tool_use block.
type contentBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
}

type messageUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// messageEvent is one event of a streamed Message; each type uses some of
// the fields.
type messageEvent struct {
	Type         string        `json:"type"`
	Message      *messageReply `json:"message,omitempty"`
	Index        *int          `json:"index,omitempty"`
	ContentBlock *contentBlock `json:"content_block,omitempty"`
	Delta        any           `json:"delta,omitempty"`
	Usage        *outputUsage  `json:"usage,omitempty"`
}

type outputUsage struct {
	OutputTokens int `json:"output_tokens"`
}

type blockDelta struct {
	Type        string  `json:"type"` // text_delta, thinking_delta, signature_delta, input_json_delta
	Text        *string `json:"text,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	Signature   *string `json:"signature,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
}

type stopDelta struct {
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

type tokenCount struct {
	InputTokens int `json:"input_tokens"`
}

// messages runs POST /v1/messages.
func (b *Backend) messages(w http.ResponseWriter, r *http.Request, body []byte) {
	var req messagesRequest
	b.infer(w, r, body, anthropicDialect, &req, func(model string) bool {
		return b.serveMessages(w, r, &req, model)
	})
}

// countTokens runs POST /v1/messages/count_tokens.
func (b *Backend) countTokens(w http.ResponseWriter, r *http.Request, body []byte) {
	var req messagesRequest
	b.infer(w, r, body, anthropicDialect, &req, func(string) bool {
		_, n := req.promptSize()
		writeJSON(w, http.StatusOK, tokenCount{InputTokens: b.promptTokens(n)})
		return false
	})
}

func (b *Backend) serveMessages(w http.ResponseWriter, r *http.Request, req *messagesRequest, model string) bool {
	if req.MaxTokens == nil {
		b.badRequest(w, anthropicDialect, "max_tokens", "max_tokens: Field required")
		return false
	}
	prompt, n := req.promptSize()
	a := b.answerFor(prompt, nonEmptyArray(req.Tools), "toolu_")
	stopReason, stopSeq := limitAnswer(&a, *req.MaxTokens, req.StopSequences)
	p, c := b.promptTokens(n), b.completionTokens(&a)

	var blocks []contentBlock
	var signature string
	if a.reasoning != "" {
		sum := sha256.Sum256([]byte("nexustest:" + a.reasoning))
		signature = base64.StdEncoding.EncodeToString(sum[:])
		blocks = append(blocks, contentBlock{Type: "thinking", Thinking: &a.reasoning, Signature: &signature})
	}
	if len(a.calls) == 0 || a.text != "" {
		blocks = append(blocks, contentBlock{Type: "text", Text: &a.text})
	}
	for _, call := range a.calls {
		blocks = append(blocks, contentBlock{Type: "tool_use", ID: call.id, Name: call.name, Input: json.RawMessage(call.args)})
	}
	msg := messageReply{
		ID: b.nextID("msg_"), Type: "message", Role: "assistant", Model: model, Content: blocks,
		StopReason: &stopReason, StopSequence: stopSeq,
		Usage: messageUsage{InputTokens: p, OutputTokens: c},
	}
	if !req.Stream {
		writeJSON(w, http.StatusOK, msg)
		return false
	}

	var plan ssePlan
	emit := func(ev messageEvent, content bool) { plan.add(ev.Type, ev, content) }
	opening := msg
	opening.Content, opening.StopReason, opening.StopSequence = []contentBlock{}, nil, nil
	opening.Usage.OutputTokens = 1
	emit(messageEvent{Type: "message_start", Message: &opening}, false)
	for i, blk := range blocks {
		start := blk
		var pieces []blockDelta
		switch blk.Type {
		case "thinking":
			start.Thinking, start.Signature = new(""), new("")
			for _, t := range a.thoughts {
				pieces = append(pieces, blockDelta{Type: "thinking_delta", Thinking: &t})
			}
		case "text":
			start.Text = new("")
			for _, t := range a.pieces {
				pieces = append(pieces, blockDelta{Type: "text_delta", Text: &t})
			}
		case "tool_use":
			start.Input = json.RawMessage("{}")
			for _, t := range a.calls[i-(len(blocks)-len(a.calls))].pieces {
				pieces = append(pieces, blockDelta{Type: "input_json_delta", PartialJSON: &t})
			}
		}
		emit(messageEvent{Type: "content_block_start", Index: &i, ContentBlock: &start}, false)
		if i == 0 {
			emit(messageEvent{Type: "ping"}, false)
			plan.openHead()
		}
		for _, d := range pieces {
			emit(messageEvent{Type: "content_block_delta", Index: &i, Delta: d}, true)
		}
		if blk.Type == "thinking" {
			emit(messageEvent{Type: "content_block_delta", Index: &i,
				Delta: blockDelta{Type: "signature_delta", Signature: &signature}}, false)
		}
		emit(messageEvent{Type: "content_block_stop", Index: &i}, false)
	}
	emit(messageEvent{Type: "message_delta", Delta: stopDelta{StopReason: &stopReason, StopSequence: stopSeq},
		Usage: &outputUsage{OutputTokens: c}}, false)
	emit(messageEvent{Type: "message_stop"}, false)
	return b.stream(w, r, &plan)
}

// limitAnswer applies stop_sequences and max_tokens (counted in text pieces,
// words by default) to the text of a, whichever cuts first. It returns the
// stop reason and the stop sequence that matched, if any. A cut text drops
// the tool calls that would have followed it.
func limitAnswer(a *answer, maxTokens int, stops []string) (string, *string) {
	reason := "end_turn"
	if len(a.calls) > 0 {
		reason = "tool_use"
	}
	joined := strings.Join(a.pieces, "")
	at, seq := -1, ""
	for _, s := range stops {
		if i := strings.Index(joined, s); s != "" && i >= 0 && (at < 0 || i < at) {
			at, seq = i, s
		}
	}
	pieces := a.pieces
	if at >= 0 {
		pieces = cutPieces(pieces, at)
	}
	if len(pieces) > maxTokens {
		a.pieces = pieces[:max(maxTokens, 0)]
		a.text, a.calls = strings.Join(a.pieces, ""), nil
		return "max_tokens", nil
	}
	if at >= 0 {
		a.pieces = pieces
		a.text, a.calls = joined[:at], nil
		return "stop_sequence", &seq
	}
	return reason, nil
}

// cutPieces returns the pieces that make up the first n bytes of their
// concatenation, the last one shortened if needed.
func cutPieces(pieces []string, n int) []string {
	var out []string
	for _, p := range pieces {
		if n <= 0 {
			break
		}
		if len(p) > n {
			p = p[:n]
		}
		out = append(out, p)
		n -= len(p)
	}
	return out
}
