package nexustest

import (
	"encoding/json"
	"net/http"
	"time"
)

// sseEvent is one server-sent event, framed and ready to write.
type sseEvent struct {
	frame   []byte
	content bool // carries a piece of the reply; DropAfter and StallAfter count these
}

// ssePlan is a whole streamed reply, built before the first byte is sent so
// that every endpoint shares one writer and one set of fault points.
type ssePlan struct {
	events []sseEvent
	// head is how many events open the stream (a chat role event, a Messages
	// message_start, ...). A cut at n >= 1 on a stream without any content
	// event comes after them.
	head int
}

// data appends a data-only event (OpenAI chat and completions).
func (p *ssePlan) data(v any, content bool) {
	p.add("", v, content)
}

// add appends an event; name "" writes no event: line. A value that cannot be
// encoded is skipped; every value built here is plain data.
func (p *ssePlan) add(name string, v any, content bool) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	n := len(data) + 8
	if name != "" {
		n += len(name) + 8
	}
	buf := make([]byte, 0, n)
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, '\n')
	}
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	p.events = append(p.events, sseEvent{frame: buf, content: content})
}

// done appends OpenAI's terminating data: [DONE].
func (p *ssePlan) done() {
	p.events = append(p.events, sseEvent{frame: []byte("data: [DONE]\n\n")})
}

// openHead marks every event added so far as the stream's opening.
func (p *ssePlan) openHead() { p.head = len(p.events) }

// cutAt returns how many events are sent before an interruption at point n
// (see DropAfter), or -1 for none.
func (p *ssePlan) cutAt(n int) int {
	switch {
	case n < 0:
		return -1
	case n == 0:
		return 0
	}
	seen, last := 0, -1
	for i, ev := range p.events {
		if !ev.content {
			continue
		}
		seen++
		last = i
		if seen == n {
			return i + 1
		}
	}
	if last >= 0 {
		return last + 1
	}
	return p.head
}

// sseWriter writes one plan as a streamed reply.
type sseWriter struct {
	w          http.ResponseWriter
	rc         *http.ResponseController
	r          *http.Request
	delay      time.Duration
	dropAfter  int
	stallAfter int
	events     int
}

// stream sends the plan with the backend's ChunkDelay, DropAfter and
// StallAfter. It reports whether it stopped because the client went away.
func (b *Backend) stream(w http.ResponseWriter, r *http.Request, p *ssePlan) (clientGone bool) {
	s := &sseWriter{
		w: w, rc: http.NewResponseController(w), r: r,
		delay: b.cfg.chunkDelay, dropAfter: b.cfg.dropAfter, stallAfter: b.cfg.stallAfter,
	}
	return s.run(p)
}

// run sends headers and the events in order, unless DropAfter or StallAfter
// interrupts the stream first (DropAfter wins at a point both name).
func (s *sseWriter) run(p *ssePlan) (clientGone bool) {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	s.w.WriteHeader(http.StatusOK)
	if s.rc.Flush() != nil {
		return true
	}
	cut, drop := p.cutAt(s.dropAfter), true
	if stall := p.cutAt(s.stallAfter); stall >= 0 && (cut < 0 || stall < cut) {
		cut, drop = stall, false
	}
	for i, ev := range p.events {
		if i == cut {
			return s.interrupt(drop)
		}
		if !s.write(ev.frame) {
			return true
		}
	}
	if cut == len(p.events) {
		return s.interrupt(drop)
	}
	return false
}

// interrupt cuts the connection (drop) or stalls until the request ends. It
// reports whether the client went away.
func (s *sseWriter) interrupt(drop bool) (gone bool) {
	if drop {
		if conn, _, err := s.rc.Hijack(); err == nil {
			// Closing without ending the chunked body: the client sees an
			// unexpected EOF.
			_ = conn.Close()
		}
		return false
	}
	<-s.r.Context().Done()
	return true
}

// write waits ChunkDelay (except before the first event), then writes and
// flushes one event. It reports false when the client is gone.
func (s *sseWriter) write(frame []byte) bool {
	d := s.delay
	if s.events == 0 {
		d = 0
	}
	if !wait(s.r.Context(), d) {
		return false
	}
	s.events++
	if _, err := s.w.Write(frame); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}
