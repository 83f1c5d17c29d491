package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nexusllm/nexus/internal/openai"
)

var (
	doneEvent = []byte("data: [DONE]\n\n")
)

// streamWriter writes events to the client and remembers whether the
// response was committed.
type streamWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	buf       []byte
	committed bool
}

func (s *streamWriter) commit() {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	s.w.WriteHeader(http.StatusOK)
	s.committed = true
}

// event writes one event and flushes it.
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
	return s.raw(b)
}

func (s *streamWriter) raw(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// fail ends a committed stream with an OpenAI-style error event and [DONE].
func (s *streamWriter) fail(e *Error) {
	code := "backend_stream_error"
	msg := "The backend stream failed: " + e.Error()
	if e.Kind == KindTimeout {
		code = "stream_idle_timeout"
		msg = "The backend stopped sending events within the idle timeout"
	}
	env := openai.NewEnvelope(msg, openai.TypeServer, "", code).Marshal()
	_ = s.event("", env)
	_ = s.raw(doneEvent)
}

func (f *Forwarder) relayStream(ctx context.Context, w http.ResponseWriter, req *Request, resp *http.Response, timer *time.Timer, start time.Time) (Result, error) {
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return Result{}, &Error{Kind: KindBadResponse, Err: errors.New("backend answered a stream request with " + strings.TrimSpace(ct+" (not text/event-stream)"))}
	}
	maxEvent := f.MaxEventBytes
	if maxEvent <= 0 {
		maxEvent = defaultMaxEvent
	}
	idle := orDuration(f.IdleTimeout, defaultTimeout)
	er := openai.NewEventReader(resp.Body, maxEvent)
	sw := &streamWriter{w: w, rc: http.NewResponseController(w)}
	res := Result{Status: http.StatusOK}
	finished := false
	for {
		ev, err := er.Next()
		if err != nil {
			return res, f.endStream(ctx, sw, err, finished)
		}
		timer.Reset(idle)
		if !ev.HasData {
			if sw.committed && len(ev.Comment) > 0 {
				if err := sw.raw([]byte(":" + string(ev.Comment) + "\n\n")); err != nil {
					return res, &Error{Kind: KindClientGone, Committed: true, Err: err}
				}
			}
			continue
		}
		if ev.IsDone() {
			if !sw.committed {
				return res, &Error{Kind: KindBadResponse, Err: errors.New("stream ended before its first event")}
			}
			if err := sw.raw(doneEvent); err != nil {
				return res, &Error{Kind: KindClientGone, Committed: true, Err: err}
			}
			return res, nil
		}
		info, ok := openai.InspectChunk(ev.Data)
		if !sw.committed {
			switch {
			case !ok:
				return res, &Error{Kind: KindBadResponse, Err: errors.New("first stream event is not a JSON object")}
			case info.Error:
				return res, &Error{Kind: KindBadResponse, Err: errors.New("backend sent an error event: " + truncate(ev.Data, 300))}
			}
		}
		if u, ok := openai.ParseUsage(ev.Data); ok {
			res.Usage, res.HasUsage = u, true
		}
		if info.Content && res.FirstToken == 0 {
			res.FirstToken = time.Since(start)
		}
		finished = finished || info.Finished
		if info.UsageOnly && req.DropUsageChunk {
			continue
		}
		if err := sw.event(ev.Name, ev.Data); err != nil {
			return res, &Error{Kind: KindClientGone, Committed: true, Err: err}
		}
	}
}

// endStream handles the end of the upstream body without [DONE].
func (f *Forwarder) endStream(ctx context.Context, sw *streamWriter, err error, finished bool) error {
	if !sw.committed {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return &Error{Kind: KindBadResponse, Err: errors.New("stream ended before its first event")}
		}
		if errors.Is(err, openai.ErrEventTooLarge) {
			return &Error{Kind: KindBadResponse, Err: err}
		}
		return f.classify(ctx, err, false)
	}
	if err == io.EOF && finished {
		// Complete but for the end marker: add it.
		if werr := sw.raw(doneEvent); werr != nil {
			return &Error{Kind: KindClientGone, Committed: true, Err: werr}
		}
		return nil
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
