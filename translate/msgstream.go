package translate

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Kinds of content block.
const (
	blockNone = iota
	blockText
	blockThinking
	blockTool
)

// Stages of a streamed tool call.
const (
	toolPending = iota // seen, buffered, block not yet opened
	toolOpen
	toolClosed
)

// streamTool is one streamed chat tool call.
type streamTool struct {
	chatIndex int
	id, name  string
	args      []byte // all the arguments so far
	stage     int
}

// msgStream is the state of a chat stream being turned into Anthropic
// events.
type msgStream struct {
	started, done bool
	open          int // blockNone or the kind of the open block
	index         int // Anthropic index of the open block, or the next
	tools         []streamTool
	openTool      int // position in tools of the open tool call
	pending       int // tool calls waiting to open
	anyTool       bool
	finish        string
	vllmStop      []byte
	usage         chatUsage
	hasUsage      bool
	chunk         chatReplyBody
	buf           []byte
	emit          func(name string, data []byte) error
}

// Event converts one chat stream event into Anthropic events written with
// emit (the data valid only during the emit call): message_start and ping
// before the first content, then content_block_start, _delta and _stop
// per block. Chunks carrying a finish_reason close the blocks; usage is
// kept for message_delta. data: [DONE] is ignored; an error event or chunk
// becomes an Anthropic error event and ends the stream. Data that is not
// JSON is an error.
func (r *MessagesReply) Event(name string, data []byte, emit func(name string, data []byte) error) error {
	s := &r.s
	if s.done {
		return nil
	}
	data = bytes.TrimSpace(data)
	if string(data) == "[DONE]" || len(data) == 0 {
		return nil
	}
	s.emit = emit
	defer func() { s.emit = nil }()
	if name == "error" {
		s.done = true
		return s.errorEvent(data)
	}
	s.chunk = chatReplyBody{}
	if err := decodeLenient(data, &s.chunk); err != nil {
		return err
	}
	if !isNull(s.chunk.Error) {
		s.done = true
		return s.errorEvent(data)
	}
	c := &s.chunk
	if !s.started {
		if err := r.start(c.ID, c.Usage); err != nil {
			return err
		}
	}
	if c.Usage != nil {
		s.usage, s.hasUsage = *c.Usage, true
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue
		}
		d := &ch.Delta
		if th := d.reasoning(); th != "" {
			if err := s.textDelta(blockThinking, th); err != nil {
				return err
			}
		}
		if d.Content != nil && *d.Content != "" {
			if err := s.textDelta(blockText, *d.Content); err != nil {
				return err
			}
		}
		if d.Refusal != nil && *d.Refusal != "" {
			if err := s.textDelta(blockText, *d.Refusal); err != nil {
				return err
			}
		}
		for j := range d.ToolCalls {
			tc := &d.ToolCalls[j]
			ci := j
			if tc.Index != nil {
				ci = *tc.Index
			}
			if err := s.toolDelta(ci, tc.ID, tc.Function.Name, tc.Function.Arguments); err != nil {
				return err
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			s.finish = *ch.FinishReason
			s.vllmStop = append(s.vllmStop[:0], ch.StopReason...)
			if err := s.closeAll(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Finish ends the Anthropic stream: it closes any open block and writes
// message_delta (stop_reason, stop_sequence, usage with output_tokens and,
// when the backend reported them, input and cache-read tokens) and
// message_stop. A stream that had no event still gets a whole, empty
// message.
func (r *MessagesReply) Finish(emit func(name string, data []byte) error) error {
	s := &r.s
	if s.done {
		return nil
	}
	s.done = true
	s.emit = emit
	defer func() { s.emit = nil }()
	if !s.started {
		if err := r.start("", nil); err != nil {
			return err
		}
	}
	if err := s.closeAll(); err != nil {
		return err
	}
	reason, seq := stopReason(s.finish, s.vllmStop, s.anyTool)
	b := append(s.buf[:0], `{"type":"message_delta","delta":{"stop_reason":`...)
	b = appendString(b, reason)
	b = append(b, `,"stop_sequence":`...)
	if seq != nil {
		b = appendString(b, *seq)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `},"usage":{`...)
	if s.hasUsage {
		u := messagesUsage(&s.usage)
		b = append(b, `"input_tokens":`...)
		b = strconv.AppendInt(b, u.InputTokens, 10)
		b = append(b, `,"cache_read_input_tokens":`...)
		b = strconv.AppendInt(b, u.CacheReadInputTokens, 10)
		b = append(b, ',')
	}
	b = append(b, `"output_tokens":`...)
	b = strconv.AppendInt(b, s.usage.CompletionTokens, 10)
	b = append(b, "}}"...)
	s.buf = b
	if err := emit("message_delta", b); err != nil {
		return err
	}
	return emit("message_stop", []byte(`{"type":"message_stop"}`))
}

// start writes message_start and ping.
func (r *MessagesReply) start(id string, u *chatUsage) error {
	s := &r.s
	s.started = true
	var in msgUsage
	if u != nil {
		in = messagesUsage(u)
	}
	b := append(s.buf[:0], `{"type":"message_start","message":{"id":`...)
	b = appendString(b, messageID(id))
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, r.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, in.InputTokens, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, in.CacheReadInputTokens, 10)
	b = append(b, `,"output_tokens":0}}}`...)
	s.buf = b
	if err := s.emit("message_start", b); err != nil {
		return err
	}
	return s.emit("ping", []byte(`{"type":"ping"}`))
}

// textDelta writes text or thinking, in the open block of that kind or in
// a new one.
func (s *msgStream) textDelta(kind int, text string) error {
	if s.open != kind {
		if err := s.closeAll(); err != nil {
			return err
		}
		b := s.blockStart()
		if kind == blockText {
			b = append(b, `{"type":"text","text":""}}`...)
		} else {
			b = append(b, `{"type":"thinking","thinking":"","signature":""}}`...)
		}
		if err := s.send("content_block_start", b); err != nil {
			return err
		}
		s.open = kind
	}
	b := s.blockDelta()
	if kind == blockText {
		b = append(b, `"text_delta","text":`...)
	} else {
		b = append(b, `"thinking_delta","thinking":`...)
	}
	b = appendString(b, text)
	return s.send("content_block_delta", append(b, "}}"...))
}

// toolDelta handles one piece of the tool call with chat index ci.
func (s *msgStream) toolDelta(ci int, id, name, args string) error {
	s.anyTool = true
	k := -1
	for i := range s.tools {
		if s.tools[i].chatIndex == ci {
			k = i
			break
		}
	}
	if k < 0 {
		s.tools = append(s.tools, streamTool{chatIndex: ci, id: id, name: name, args: append([]byte(nil), args...)})
		k = len(s.tools) - 1
		if s.open == blockTool && !complete(s.tools[s.openTool].args) {
			s.pending++
			return nil
		}
		if err := s.closeAll(); err != nil {
			return err
		}
		return s.openToolBlock(k)
	}
	t := &s.tools[k]
	switch t.stage {
	case toolPending:
		if t.id == "" {
			t.id = id
		}
		if t.name == "" {
			t.name = name
		}
		t.args = append(t.args, args...)
		return nil
	case toolClosed:
		return nil // a late piece of a closed call: nothing can take it
	}
	if args == "" {
		return nil
	}
	t.args = append(t.args, args...)
	if err := s.argsDelta(args); err != nil {
		return err
	}
	if s.pending > 0 && complete(t.args) {
		if err := s.closeOpen(); err != nil {
			return err
		}
		return s.promote()
	}
	return nil
}

// complete reports whether args is a whole JSON value, so that no more
// pieces of it can follow.
func complete(args []byte) bool {
	return len(bytes.TrimSpace(args)) > 0 && json.Valid(args)
}

// openToolBlock opens the block of tool call k and writes its buffered
// arguments.
func (s *msgStream) openToolBlock(k int) error {
	t := &s.tools[k]
	if t.id == "" {
		t.id = randomID("toolu_")
	}
	t.stage = toolOpen
	s.open, s.openTool = blockTool, k
	b := s.blockStart()
	b = append(b, `{"type":"tool_use","id":`...)
	b = appendString(b, t.id)
	b = append(b, `,"name":`...)
	b = appendString(b, t.name)
	if err := s.send("content_block_start", append(b, `,"input":{}}}`...)); err != nil {
		return err
	}
	if len(t.args) == 0 {
		return nil
	}
	return s.argsDelta(string(t.args))
}

// argsDelta writes a piece of the open tool call's arguments.
func (s *msgStream) argsDelta(args string) error {
	b := append(s.blockDelta(), `"input_json_delta","partial_json":`...)
	b = appendString(b, args)
	return s.send("content_block_delta", append(b, "}}"...))
}

// promote opens the pending tool calls in order, closing each that is
// already complete while more wait, and leaves the last opened open.
func (s *msgStream) promote() error {
	for k := range s.tools {
		if s.pending == 0 {
			return nil
		}
		if s.tools[k].stage != toolPending {
			continue
		}
		s.pending--
		if err := s.openToolBlock(k); err != nil {
			return err
		}
		if s.pending == 0 || !complete(s.tools[k].args) {
			return nil
		}
		if err := s.closeOpen(); err != nil {
			return err
		}
	}
	return nil
}

// closeOpen closes the open block, if any.
func (s *msgStream) closeOpen() error {
	if s.open == blockNone {
		return nil
	}
	if s.open == blockTool {
		s.tools[s.openTool].stage = toolClosed
	}
	b := append(s.buf[:0], `{"type":"content_block_stop","index":`...)
	b = strconv.AppendInt(b, int64(s.index), 10)
	s.open = blockNone
	s.index++
	return s.send("content_block_stop", append(b, '}'))
}

// closeAll closes the open block and writes every pending tool call as a
// whole block.
func (s *msgStream) closeAll() error {
	if err := s.closeOpen(); err != nil {
		return err
	}
	for s.pending > 0 {
		if err := s.promote(); err != nil {
			return err
		}
		if err := s.closeOpen(); err != nil {
			return err
		}
	}
	return nil
}

// blockStart begins a content_block_start event for a new block at the
// next index; the caller appends the content block and "}".
func (s *msgStream) blockStart() []byte {
	b := append(s.buf[:0], `{"type":"content_block_start","index":`...)
	b = strconv.AppendInt(b, int64(s.index), 10)
	return append(b, `,"content_block":`...)
}

// blockDelta begins a content_block_delta event for the open block; the
// caller appends the delta's type and members and "}}".
func (s *msgStream) blockDelta() []byte {
	b := append(s.buf[:0], `{"type":"content_block_delta","index":`...)
	b = strconv.AppendInt(b, int64(s.index), 10)
	return append(b, `,"delta":{"type":`...)
}

// send writes an event built in s.buf (b, which may have grown it).
func (s *msgStream) send(name string, b []byte) error {
	s.buf = b
	return s.emit(name, b)
}

// errorEvent writes the Anthropic error event for a chat error chunk.
func (s *msgStream) errorEvent(data []byte) error {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	msg := e.Error.Message
	if msg == "" {
		msg = "the backend failed during the stream"
	}
	b := append(s.buf[:0], `{"type":"error","error":{"type":"api_error","message":`...)
	b = appendString(b, msg)
	return s.send("error", append(b, "}}"...))
}
