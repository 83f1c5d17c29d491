package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nexusllm/nexus/internal/openai"
)

// Constant bytes and header values of a relayed stream. net/http only
// reads header values, so one slice serves every response.
var (
	doneEvent       = []byte("data: [DONE]\n\n")
	eventStreamType = []string{"text/event-stream"}
	noCache         = []string{"no-cache"}
	accelNo         = []string{"no"}
)

// streamWriter writes events to the client and remembers whether the
// response was committed. Writes stay in net/http's buffer until flush:
// the relay flushes whenever its upstream reader is about to wait for more
// (openai.EventReader.BeforeRead) and at the end, so the events of a burst
// that arrived together leave in one write (as with httputil.ReverseProxy,
// which flushes once per upstream read) and no event waits for the next.
type streamWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	buf       []byte
	dialect   Dialect // the client's: the shape of a failure event
	events    int64   // data events written
	committed bool
	pending   bool  // written since the last flush
	err       error // the first write or flush error: the client is gone
}

func (s *streamWriter) commit() {
	h := s.w.Header()
	h["Content-Type"] = eventStreamType
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = accelNo
	delete(h, "Content-Length")
	s.w.WriteHeader(http.StatusOK)
	s.committed = true
}

// event writes one event, unflushed.
func (s *streamWriter) event(name string, data []byte) error {
	if !s.committed {
		s.commit()
	}
	b := s.buf[:0]
	if name != "" {
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	for {
		line, rest, more := bytes.Cut(data, []byte{'\n'})
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
		if !more {
			break
		}
		data = rest
	}
	b = append(b, '\n')
	s.buf = b
	s.events++
	return s.write(b)
}

// comment writes a comment event (a keep-alive), unflushed.
func (s *streamWriter) comment(c []byte) error {
	b := append(s.buf[:0], ':')
	b = append(b, c...)
	b = append(b, "\n\n"...)
	s.buf = b
	return s.write(b)
}

// write writes b, unflushed.
func (s *streamWriter) write(b []byte) error {
	if s.err != nil {
		return s.err
	}
	if _, err := s.w.Write(b); err != nil {
		s.err = err
		return err
	}
	s.pending = true
	return nil
}

// flush sends what was written since the last flush.
func (s *streamWriter) flush() error {
	if s.err != nil || !s.pending {
		return s.err
	}
	s.pending = false
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}

// fail ends a committed stream with an error event in the client's
// dialect, and for a chat client [DONE].
func (s *streamWriter) fail(e *Error) {
	name, data := failEvent(s.dialect, e, s.events)
	_ = s.event(name, data)
	if s.dialect == DialectChat {
		_ = s.write(doneEvent)
	}
}

// relay is the state of one stream relay: the upstream event reader (its
// 4 KiB buffer) and the client writer. The Forwarder pools them.
type relay struct {
	er    *openai.EventReader
	body  io.Reader // the upstream body er reads
	sw    streamWriter
	flush func() error                         // sw.flush, bound once
	emit  func(name string, data []byte) error // sw.event, bound once
}

// maxKeptBuf is the largest event-writing buffer kept for the next stream.
const maxKeptBuf = 64 << 10

func (f *Forwarder) getRelay(w http.ResponseWriter, body io.Reader, maxEvent int) *relay {
	rl, _ := f.relays.Get().(*relay)
	if rl == nil {
		rl = &relay{er: openai.NewEventReader(body, maxEvent)}
		rl.flush, rl.emit = rl.sw.flush, rl.sw.event
	} else {
		rl.er.Reset(body, maxEvent)
	}
	rl.er.BeforeRead(rl.flush)
	rl.body = body
	rl.sw = streamWriter{w: w, rc: http.NewResponseController(w), buf: rl.sw.buf[:0]}
	return rl
}

func (f *Forwarder) putRelay(rl *relay) {
	rl.er.Reset(nil, 0)
	rl.body = nil
	buf := rl.sw.buf
	if cap(buf) > maxKeptBuf {
		buf = nil
	}
	rl.sw = streamWriter{buf: buf[:0]}
	f.relays.Put(rl)
}

func (f *Forwarder) relayStream(ctx context.Context, w http.ResponseWriter, req *Request, resp *http.Response, timer *time.Timer, start time.Time) (Result, error) {
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return Result{}, &Error{Kind: KindBadResponse, Err: errors.New("backend answered a stream request with " + strings.TrimSpace(ct+" (not text/event-stream)"))}
	}
	maxEvent := f.MaxEventBytes
	if maxEvent <= 0 {
		maxEvent = defaultMaxEvent
	}
	rl := f.getRelay(w, resp.Body, maxEvent)
	defer f.putRelay(rl)
	rl.sw.dialect = req.Dialect
	if req.Translate != nil {
		rl.sw.dialect = req.ClientDialect
	}
	var res Result
	var err error
	if req.Dialect == DialectChat {
		res, err = f.relayChat(ctx, rl, req, timer, start)
	} else {
		res, err = f.relayTyped(ctx, rl, req, timer, start)
		if u := &res.Usage; res.HasUsage && u.TotalTokens == 0 {
			u.TotalTokens = u.PromptTokens + u.CompletionTokens
		}
	}
	if ferr := rl.sw.flush(); ferr != nil && err == nil {
		err = &Error{Kind: KindClientGone, Committed: true, Err: ferr}
	}
	return res, err
}

// relayChat relays the events of a DialectChat stream until its end.
func (f *Forwarder) relayChat(ctx context.Context, rl *relay, req *Request, timer *time.Timer, start time.Time) (Result, error) {
	idle := orDuration(f.IdleTimeout, defaultTimeout)
	er, sw := rl.er, &rl.sw
	res := Result{Status: http.StatusOK}
	finished := false
	for {
		ev, err := er.Next()
		if err != nil {
			if sw.err != nil { // flushing before the read failed
				return res, &Error{Kind: KindClientGone, Committed: true, Err: sw.err}
			}
			if err == io.EOF && finished && (sw.committed || req.Translate != nil) {
				// Complete but for the end marker: add it.
				return res, f.complete(rl, req, timer, endEOF)
			}
			return res, f.endStream(ctx, sw, err, false)
		}
		if ev.HasData || sw.committed {
			// Comments alone do not prove a backend that has not sent its
			// first event alive: first_byte_timeout keeps running.
			timer.Reset(idle)
		}
		if !ev.HasData {
			if err := rl.keepAlive(ev.Comment); err != nil {
				return res, err
			}
			continue
		}
		if ev.IsDone() {
			return res, f.complete(rl, req, timer, endDone)
		}
		// The events before the stream is committed (the first, unless a
		// translator holds them back) must be valid as a whole; later ones
		// are relayed as they are, after one pass for the facts the
		// gateway records.
		first := !sw.committed
		inspect := openai.ScanChunk
		if first {
			inspect = openai.InspectChunk
		}
		info, ok := inspect(ev.Data)
		if first {
			switch {
			case !ok:
				return res, &Error{Kind: KindBadResponse, Err: errors.New("first stream event is not a JSON object")}
			case info.Error:
				return res, errorEvent(ev.Data, req.APIKey)
			}
		}
		if info.HasUsage {
			res.Usage, res.HasUsage = info.Usage, true
		}
		if info.Content && res.FirstToken == 0 {
			res.FirstToken = time.Since(start)
		}
		finished = finished || info.Finished
		if info.UsageOnly && req.DropUsageChunk && req.Translate == nil {
			continue
		}
		if info.Error {
			ev.Data = redactKey(ev.Data, req.APIKey)
		}
		if err := f.send(rl, req, &ev); err != nil {
			return res, err
		}
	}
}

// relayTyped relays the events of a DialectResponses or DialectAnthropic
// stream until its end.
func (f *Forwarder) relayTyped(ctx context.Context, rl *relay, req *Request, timer *time.Timer, start time.Time) (Result, error) {
	idle := orDuration(f.IdleTimeout, defaultTimeout)
	er, sw := rl.er, &rl.sw
	res := Result{Status: http.StatusOK}
	inspect := openai.InspectResponsesEvent
	if req.Dialect == DialectAnthropic {
		inspect = openai.InspectAnthropicEvent
	}
	errored := false // the backend's own error event reached the client
	for {
		ev, err := er.Next()
		if err != nil {
			if sw.err != nil {
				return res, &Error{Kind: KindClientGone, Committed: true, Err: sw.err}
			}
			return res, f.endStream(ctx, sw, err, errored)
		}
		if !ev.HasData {
			if sw.committed {
				timer.Reset(idle)
			}
			if err := rl.keepAlive(ev.Comment); err != nil {
				return res, err
			}
			continue
		}
		if ev.IsDone() {
			return res, f.complete(rl, req, timer, endDone)
		}
		info := inspect(ev.Name, ev.Data)
		first := !sw.committed
		if first && info.Ping {
			continue // like a comment: neither commits nor proves the backend alive
		}
		timer.Reset(idle)
		if first {
			switch {
			case len(ev.Data) == 0 || ev.Data[0] != '{' || !openai.Valid(ev.Data):
				return res, &Error{Kind: KindBadResponse, Err: errors.New("first stream event is not a JSON object")}
			case info.Error:
				return res, errorEvent(ev.Data, req.APIKey)
			}
		}
		if info.UsageSet != 0 {
			res.Usage.Apply(info.Usage, info.UsageSet)
			res.HasUsage = true
		}
		if info.Content && res.FirstToken == 0 {
			res.FirstToken = time.Since(start)
		}
		if info.Error {
			errored = errored || !info.Terminal
			ev.Data = redactKey(ev.Data, req.APIKey)
		}
		if err := f.send(rl, req, &ev); err != nil {
			return res, err
		}
		if info.Terminal {
			res.ResponseID = info.ResponseID
			return res, f.complete(rl, req, timer, endTerminal)
		}
	}
}

// errorEvent is the error for an error event that arrived before commit.
func errorEvent(data []byte, key string) *Error {
	return &Error{Kind: KindBadResponse, Err: errors.New("backend sent an error event: " + truncate(redactKey(data, key), 300))}
}

// keepAlive relays the comment of a comment-only event once the stream is
// committed; before, it is dropped.
func (rl *relay) keepAlive(comment []byte) error {
	if !rl.sw.committed || len(comment) == 0 {
		return nil
	}
	if err := rl.sw.comment(comment); err != nil {
		return &Error{Kind: KindClientGone, Committed: true, Err: err}
	}
	return nil
}

// send relays one upstream event, through the translator when there is one.
func (f *Forwarder) send(rl *relay, req *Request, ev *openai.Event) error {
	sw := &rl.sw
	if req.Translate == nil {
		if err := sw.event(ev.Name, ev.Data); err != nil {
			return &Error{Kind: KindClientGone, Committed: true, Err: err}
		}
		return nil
	}
	if err := req.Translate.Event(ev.Name, ev.Data, rl.emit); err != nil {
		return translateFailed(sw, err)
	}
	return nil
}

// translateFailed is the error for a translator that failed: a bad
// response before commit, a broken stream (told to the client) after.
func translateFailed(sw *streamWriter, err error) *Error {
	switch {
	case sw.err != nil:
		return &Error{Kind: KindClientGone, Committed: true, Err: sw.err}
	case !sw.committed:
		return &Error{Kind: KindBadResponse, Err: fmt.Errorf("translating the stream: %w", err)}
	}
	e := &Error{Kind: KindStreamBroken, Committed: true, Err: fmt.Errorf("translating the stream: %w", err)}
	sw.fail(e)
	return e
}

// How an upstream stream ended cleanly.
type endKind uint8

const (
	endDone     endKind = iota // data: [DONE]
	endEOF                     // the end of the body after a chat finish_reason
	endTerminal                // a typed stream's terminal event, relayed
)

// complete finishes a stream whose upstream ended cleanly: the
// translator's last events, the end marker a chat client expects (or the
// backend's own [DONE]), a flush, and the read of what is left upstream so
// that the connection can serve again.
func (f *Forwarder) complete(rl *relay, req *Request, timer *time.Timer, how endKind) error {
	sw := &rl.sw
	if tr := req.Translate; tr != nil {
		if err := tr.Finish(rl.emit); err != nil {
			return translateFailed(sw, err)
		}
	}
	if !sw.committed {
		return &Error{Kind: KindBadResponse, Err: errors.New("stream ended before its first event")}
	}
	if req.Translate != nil && req.ClientDialect == DialectChat || req.Translate == nil && how != endTerminal {
		_ = sw.write(doneEvent) // a failed write is kept in sw and returned by flush
	}
	if err := sw.flush(); err != nil {
		return &Error{Kind: KindClientGone, Committed: true, Err: err}
	}
	switch how {
	case endDone:
		rl.drain(timer)
	case endTerminal:
		rl.drainEnd(timer, req.Translate == nil)
	}
	return nil
}

// Bounds of the read of the upstream body after [DONE].
const (
	drainTimeout  = 50 * time.Millisecond
	maxDrainBytes = 64 << 10
)

// drain reads what is left of the upstream body after [DONE] — normally
// just the end of the chunked encoding, sent right after it — because the
// transport only reuses a connection whose response was read to the end;
// otherwise every stream would cost a new connection to the backend. The
// client already has [DONE]. It gives up after drainTimeout (the timer
// cancels the exchange) or maxDrainBytes.
func (rl *relay) drain(timer *time.Timer) {
	timer.Reset(drainTimeout)
	buf := rl.sw.buf[:cap(rl.sw.buf)]
	if len(buf) < 512 {
		buf = make([]byte, 512)
	}
	for n := 0; n < maxDrainBytes; {
		m, err := rl.body.Read(buf)
		n += m
		if err != nil {
			return
		}
	}
}

// endStream handles an upstream body that ended or failed before its
// stream was complete. errored says the backend's own error event already
// told the client.
func (f *Forwarder) endStream(ctx context.Context, sw *streamWriter, err error, errored bool) error {
	if !sw.committed {
		if context.Cause(ctx) != nil {
			// A timeout or a client that left, though the reader may
			// report it as an event cut short.
			return f.classify(ctx, err, false)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return &Error{Kind: KindBadResponse, Err: errors.New("stream ended before its first event")}
		}
		if errors.Is(err, openai.ErrEventTooLarge) {
			return &Error{Kind: KindBadResponse, Err: err}
		}
		return f.classify(ctx, err, false)
	}
	if err == io.EOF && errored {
		return &Error{Kind: KindStreamBroken, Committed: true, Err: errors.New("the backend ended the stream with an error event")}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	e := f.classify(ctx, err, true)
	if e.Kind != KindClientGone {
		sw.fail(e)
	}
	return e
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// drainEnd reads what is left upstream after a typed stream's terminal
// event: a backend may still send "data: [DONE]", relayed when relayDone,
// before the end of its body.
func (rl *relay) drainEnd(timer *time.Timer, relayDone bool) {
	timer.Reset(drainTimeout)
	ev, err := rl.er.Next()
	if err != nil {
		return
	}
	if ev.IsDone() && relayDone {
		_ = rl.sw.write(doneEvent)
		_ = rl.sw.flush()
	}
	rl.drain(timer)
}
