package openai

import (
	"bufio"
	"bytes"
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

// EventReader reads server-sent events. It accepts "\n" and "\r\n" line
// ends and "data:" with or without a space. Its buffer is small (4 KiB);
// longer lines are joined up to the size limit, so one reader per stream
// costs little even with thousands of streams.
type EventReader struct {
	r    *bufio.Reader
	src  source
	max  int
	buf  []byte
	name string // the last event name, reused while it repeats
}

// eventReaderSize is the read buffer of an EventReader: a dozen typical
// chunks, the size of net/http's own connection buffers.
const eventReaderSize = 4 << 10

// maxKeptData is the largest event buffer Reset keeps for the next stream.
const maxKeptData = 64 << 10

// source is what the buffer reads from: the stream, with a hook called
// before every read, which is when the reader may block.
type source struct {
	r      io.Reader
	before func() error
}

func (s *source) Read(p []byte) (int, error) {
	if s.before != nil {
		if err := s.before(); err != nil {
			return 0, err
		}
	}
	return s.r.Read(p)
}

// NewEventReader returns a reader that fails with ErrEventTooLarge on any
// event bigger than max bytes.
func NewEventReader(r io.Reader, max int) *EventReader {
	er := &EventReader{max: max}
	er.src.r = r
	er.r = bufio.NewReaderSize(&er.src, eventReaderSize)
	return er
}

// Reset makes er read a new stream r with the size limit max, dropping
// anything buffered and the BeforeRead hook, so that readers can be
// pooled. Reset(nil, 0) releases the old stream.
func (er *EventReader) Reset(r io.Reader, max int) {
	er.src = source{r: r}
	er.r.Reset(&er.src)
	er.max = max
	if cap(er.buf) > maxKeptData {
		er.buf = nil
	}
	er.buf = er.buf[:0]
	er.name = ""
}

// BeforeRead sets fn to be called whenever the reader is about to read
// from its stream, which may block until the stream sends more: the
// moment to flush what was relayed so far. While the stream delivers a
// burst that is already buffered, fn is not called. An error from fn ends
// the read, and Next returns it.
func (er *EventReader) BeforeRead(fn func() error) { er.src.before = fn }

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
			if string(value) != er.name {
				er.name = string(value)
			}
			ev.Name = er.name
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
