package translate

import (
	"bytes"
	"strconv"
)

// chatStream is the state of an Anthropic stream being turned into chat
// chunks.
type chatStream struct {
	started, finished, done bool
	id                      string
	stop                    string
	usage                   msgUsage
	tools                   int      // tool calls so far
	toolBlocks              [][2]int // Anthropic block index → chat tool call index
	ev                      msgEvent
	buf                     []byte
}

// msgEvent is one Anthropic stream event of any type.
type msgEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string      `json:"id"`
		Usage *msgUsageIn `json:"usage"`
	} `json:"message"`
	Index        int       `json:"index"`
	ContentBlock *msgBlock `json:"content_block"`
	Delta        *struct {
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		Thinking    string  `json:"thinking"`
		PartialJSON string  `json:"partial_json"`
		StopReason  *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *msgUsageIn `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// Event converts one Anthropic stream event into chat.completion.chunk
// objects written with emit as data-only events (the data valid only
// during the emit call): message_start gives the role chunk, text and
// thinking deltas content and reasoning_content, a tool_use block a
// tool_calls entry with id and name and then its arguments in pieces,
// message_delta the finish_reason chunk. ping, message_stop and other
// events write nothing. An error event becomes a chunk in OpenAI's error
// shape, {"error":{...}}, and ends the stream. The event type is read
// from the data, name being only a fallback.
func (r *ChatReply) Event(name string, data []byte, emit func(name string, data []byte) error) error {
	s := &r.s
	if s.done {
		return nil
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	s.ev = msgEvent{}
	if err := decodeLenient(data, &s.ev); err != nil {
		return err
	}
	ev := &s.ev
	typ := ev.Type
	if typ == "" {
		typ = name
	}
	switch typ {
	case "error":
		s.done = true
		return r.errorChunk(emit)
	case "message_start":
		if ev.Message != nil {
			if s.id == "" { // the first id wins: chunks keep one id
				s.id = ev.Message.ID
			}
			if ev.Message.Usage != nil {
				ev.Message.Usage.merge(&s.usage)
			}
		}
		return r.ensureStarted(emit)
	case "content_block_start":
		return r.blockStart(emit)
	case "content_block_delta":
		if ev.Delta == nil {
			return nil
		}
		switch ev.Delta.Type {
		case "text_delta":
			return r.contentChunk(emit, "content", ev.Delta.Text)
		case "thinking_delta":
			return r.contentChunk(emit, "reasoning_content", ev.Delta.Thinking)
		case "input_json_delta":
			if k, ok := s.toolOf(ev.Index); ok && ev.Delta.PartialJSON != "" {
				return r.toolChunk(emit, k, "", "", ev.Delta.PartialJSON)
			}
		}
	case "message_delta":
		if ev.Usage != nil {
			ev.Usage.merge(&s.usage)
		}
		if ev.Delta != nil && ev.Delta.StopReason != nil {
			s.stop = *ev.Delta.StopReason
		}
		return r.finishChunk(emit)
	}
	return nil
}

// Finish ends the chat stream: the finish_reason chunk if message_delta
// never came, then the usage chunk (choices [], prompt tokens including
// cache reads and writes) when ReplyOptions.IncludeUsage is set. It does
// not write data: [DONE].
func (r *ChatReply) Finish(emit func(name string, data []byte) error) error {
	s := &r.s
	if s.done {
		return nil
	}
	if err := r.finishChunk(emit); err != nil {
		return err
	}
	s.done = true
	if !r.opt.IncludeUsage {
		return nil
	}
	u := chatUsageOf(s.usage)
	b := r.chunkHead()
	b = append(b, `[],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokensDetails.CachedTokens, 10)
	s.buf = append(b, "}}}"...)
	return emit("", s.buf)
}

// toolOf returns the chat tool call index of Anthropic block index.
func (s *chatStream) toolOf(index int) (int, bool) {
	for _, p := range s.toolBlocks {
		if p[0] == index {
			return p[1], true
		}
	}
	return 0, false
}

// blockStart handles content_block_start: a tool_use block starts a tool
// call; text or thinking already in the block is written.
func (r *ChatReply) blockStart(emit func(string, []byte) error) error {
	s := &r.s
	cb := s.ev.ContentBlock
	if cb == nil {
		return nil
	}
	switch cb.Type {
	case "text":
		return r.contentChunk(emit, "content", cb.Text)
	case "thinking":
		if cb.Thinking != nil {
			return r.contentChunk(emit, "reasoning_content", *cb.Thinking)
		}
	case "tool_use":
		if _, dup := s.toolOf(s.ev.Index); dup {
			return nil
		}
		k := s.tools
		s.tools++
		s.toolBlocks = append(s.toolBlocks, [2]int{s.ev.Index, k})
		id := cb.ID
		if id == "" {
			id = randomID("call_")
		}
		args := ""
		if !isNull(cb.Input) && !isEmptyObject(cb.Input) {
			args = string(appendCompact(nil, cb.Input))
		}
		return r.toolChunk(emit, k, id, cb.Name, args)
	}
	return nil
}

// chunkHead begins a chunk in s.buf up to the value of choices.
func (r *ChatReply) chunkHead() []byte {
	s := &r.s
	if s.id == "" {
		s.id = randomID("msg_")
	}
	b := append(s.buf[:0], `{"id":`...)
	b = appendString(b, chatID(s.id))
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, r.created, 10)
	b = append(b, `,"model":`...)
	b = appendString(b, r.model)
	return append(b, `,"choices":`...)
}

// deltaHead begins a chunk with one choice, up to the delta's members.
func (r *ChatReply) deltaHead() []byte {
	return append(r.chunkHead(), `[{"index":0,"delta":{`...)
}

// sendDelta ends a chunk begun with deltaHead and writes it.
func (r *ChatReply) sendDelta(emit func(string, []byte) error, b []byte, finish string) error {
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	if finish == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, finish)
	}
	r.s.buf = append(b, "}]}"...)
	return emit("", r.s.buf)
}

// ensureStarted writes the role chunk once.
func (r *ChatReply) ensureStarted(emit func(string, []byte) error) error {
	if r.s.started {
		return nil
	}
	r.s.started = true
	return r.sendDelta(emit, append(r.deltaHead(), `"role":"assistant","content":""`...), "")
}

// contentChunk writes a chunk whose delta has member field = text.
func (r *ChatReply) contentChunk(emit func(string, []byte) error, field, text string) error {
	if text == "" || r.s.finished {
		return nil
	}
	if err := r.ensureStarted(emit); err != nil {
		return err
	}
	b := append(r.deltaHead(), '"')
	b = append(b, field...)
	b = append(b, `":`...)
	return r.sendDelta(emit, appendString(b, text), "")
}

// toolChunk writes a tool_calls delta for call k: its id, type and name
// when id is set, and a piece of arguments.
func (r *ChatReply) toolChunk(emit func(string, []byte) error, k int, id, name, args string) error {
	if r.s.finished {
		return nil
	}
	if err := r.ensureStarted(emit); err != nil {
		return err
	}
	b := append(r.deltaHead(), `"tool_calls":[{"index":`...)
	b = strconv.AppendInt(b, int64(k), 10)
	if id != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, id)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendString(b, name)
		b = append(b, `,"arguments":`...)
	} else {
		b = append(b, `,"function":{"arguments":`...)
	}
	b = appendString(b, args)
	return r.sendDelta(emit, append(b, "}}]"...), "")
}

// finishChunk writes the finish_reason chunk once.
func (r *ChatReply) finishChunk(emit func(string, []byte) error) error {
	s := &r.s
	if s.finished {
		return nil
	}
	if err := r.ensureStarted(emit); err != nil {
		return err
	}
	s.finished = true
	return r.sendDelta(emit, r.deltaHead(), finishReason(s.stop))
}

// errorChunk writes an Anthropic error event as an OpenAI error chunk.
func (r *ChatReply) errorChunk(emit func(string, []byte) error) error {
	msg, typ := "the backend failed during the stream", "server_error"
	if e := r.s.ev.Error; e != nil {
		if e.Message != "" {
			msg = e.Message
		}
		if e.Type != "" {
			typ = e.Type
		}
	}
	b := append(r.s.buf[:0], `{"error":{"message":`...)
	b = appendString(b, msg)
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	r.s.buf = append(b, `,"param":null,"code":null}}`...)
	return emit("", r.s.buf)
}
