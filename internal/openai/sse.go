package openai

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// ErrEventTooLarge is returned by EventReader when one event exceeds the
// reader's size limit.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one server-sent event.
type Event struct {
	// Name is the "event:" field, "" for the default message event.
	Name string
	// Data is the "data:" payload; several data lines are joined with "\n".
	Data []byte
	// HasData is false for events made only of comments or other fields.
	HasData bool
	// Comment holds comment lines (": ...") without the colon.
	Comment []byte
}

// IsDone reports whether the event is the OpenAI end marker "[DONE]".
func (e *Event) IsDone() bool { return e.HasData && string(e.Data) == "[DONE]" }

// EventReader reads server-sent events. It accepts "\n", "\r\n" and "\r"
// line ends and "data:" with or without a space.
type EventReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewEventReader returns a reader that fails with ErrEventTooLarge on any
// event bigger than max bytes.
func NewEventReader(r io.Reader, max int) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next returns the next event. The event's slices are valid until the next
// call. At the end of the stream it returns io.EOF; an event cut off by the
// end of the stream is returned with io.ErrUnexpectedEOF.
func (er *EventReader) Next() (Event, error) {
	var ev Event
	er.buf = er.buf[:0]
	var comment []byte
	size := 0
	started := false
	for {
		line, err := er.readLine(&size)
		if err != nil {
			if err == io.EOF && started {
				return ev, io.ErrUnexpectedEOF
			}
			return ev, err
		}
		if len(line) == 0 {
			if !started {
				continue // blank lines between events
			}
			ev.Data = er.buf
			ev.Comment = comment
			return ev, nil
		}
		started = true
		if line[0] == ':' {
			comment = append(comment, line[1:]...)
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if ev.HasData {
				er.buf = append(er.buf, '\n')
			}
			er.buf = append(er.buf, value...)
			ev.HasData = true
		case "event":
			ev.Name = string(value)
		}
	}
}

// readLine returns one line without its terminator.
func (er *EventReader) readLine(size *int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := er.r.ReadSlice('\n')
		*size += len(chunk)
		if *size > er.max {
			return nil, ErrEventTooLarge
		}
		if err == bufio.ErrBufferFull {
			line = append(line, chunk...)
			continue
		}
		if err != nil {
			if len(chunk) > 0 || len(line) > 0 {
				// A final line without a newline ends the stream mid-event.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line != nil {
			chunk = append(line, chunk...)
		}
		chunk = bytes.TrimSuffix(chunk[:len(chunk)-1], []byte{'\r'})
		return chunk, nil
	}
}

// Usage is the token accounting a backend reports.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

var usageKey = []byte(`"usage"`)

// ParseUsage extracts a non-null top-level "usage" object from a JSON
// response or stream chunk.
func ParseUsage(body []byte) (Usage, bool) {
	var u Usage
	if !bytes.Contains(body, usageKey) {
		return u, false
	}
	start, end, ok := memberSpan(body, "usage")
	if !ok || body[start] != '{' {
		return u, false
	}
	if json.Unmarshal(body[start:end], &u) != nil {
		return u, false
	}
	return u, true
}

// ChunkInfo is what the gateway needs to know about one stream chunk.
type ChunkInfo struct {
	// Content is true when a choice carries text, a refusal or tool calls.
	Content bool
	// Finished is true when a choice has a finish_reason.
	Finished bool
	// UsageOnly is true for the final usage chunk ("choices": []).
	UsageOnly bool
	// Error is true when the chunk is an error object.
	Error bool
}

// InspectChunk classifies a chat.completion.chunk payload. ok is false when
// data is not a JSON object.
func InspectChunk(data []byte) (info ChunkInfo, ok bool) {
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return info, false
	}
	var c struct {
		Choices []struct {
			Delta struct {
				Content   *string         `json:"content"`
				Refusal   *string         `json:"refusal"`
				ToolCalls json.RawMessage `json:"tool_calls"`
			} `json:"delta"`
			Text         *string `json:"text"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &c) != nil {
		return info, false
	}
	info.Error = len(c.Error) > 0 && string(c.Error) != "null"
	hasUsage := len(c.Usage) > 0 && string(c.Usage) != "null"
	info.UsageOnly = hasUsage && len(c.Choices) == 0
	for _, ch := range c.Choices {
		d := ch.Delta
		if (d.Content != nil && *d.Content != "") || (d.Refusal != nil && *d.Refusal != "") ||
			(len(d.ToolCalls) > 0 && string(d.ToolCalls) != "null") || (ch.Text != nil && *ch.Text != "") {
			info.Content = true
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			info.Finished = true
		}
	}
	return info, true
}
