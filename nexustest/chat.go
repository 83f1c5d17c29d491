package nexustest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// chat runs POST /v1/chat/completions: the custom Handler if one was given,
// else the built-in fake, and counts in-flight and cancelled requests.
func (b *Backend) chat(w http.ResponseWriter, r *http.Request, body []byte) {
	b.rec.inFlight.Add(1)
	defer b.rec.inFlight.Add(-1)
	ctx := r.Context()
	if h := b.cfg.handler; h != nil {
		h(w, r)
		if ctx.Err() != nil && !stopped(ctx) {
			b.rec.addCanceled()
		}
		return
	}
	if clientGone := b.serveChat(w, r, body); clientGone && !stopped(ctx) {
		b.rec.addCanceled()
	}
}

// serveChat answers one chat completion. It reports whether it gave up
// because the request context was done or the client stopped reading.
func (b *Backend) serveChat(w http.ResponseWriter, r *http.Request, body []byte) (clientGone bool) {
	ctx := r.Context()
	if !wait(ctx, time.Duration(b.delay.Load())) {
		return true
	}
	if s := b.chatFail.Load(); failing(s) {
		writeFailure(w, int(s))
		return false
	}

	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", nil,
			fmt.Sprintf("nexustest %s: invalid JSON body: %v", b.cfg.name, err))
		return false
	}
	if req.Model == nil || *req.Model == "" {
		param := "model"
		writeJSON(w, http.StatusBadRequest, errorEnvelope{Error: errorDetail{
			Message: fmt.Sprintf("nexustest %s: you must provide a model parameter", b.cfg.name),
			Type:    "invalid_request_error",
			Param:   &param,
		}})
		return false
	}
	model := *req.Model
	if !b.models.Load().has[model] {
		code := "model_not_found"
		writeError(w, http.StatusNotFound, "invalid_request_error", &code,
			fmt.Sprintf("nexustest %s: the model '%s' does not exist", b.cfg.name, model))
		return false
	}

	c := b.content.Load()
	if b.cfg.echo {
		text := "You said: " + lastUserText(req.Messages)
		c = &content{reply: text, chunks: splitWords(text)}
	}
	u := b.usageFor(req.Messages, c)
	id := "chatcmpl-" + strconv.FormatInt(b.ids.Add(1), 10)
	created := time.Now().Unix()

	if !req.Stream {
		writeJSON(w, http.StatusOK, completion{
			ID:                id,
			Object:            "chat.completion",
			Created:           created,
			Model:             model,
			SystemFingerprint: b.cfg.name,
			Choices: []completionChoice{{
				Message:      assistantReply{Role: "assistant", Content: c.reply},
				FinishReason: "stop",
			}},
			Usage: u,
			Extra: extra{Backend: b.cfg.name},
		})
		return false
	}
	s := &sseStream{
		w: w, rc: http.NewResponseController(w), r: r,
		delay: b.cfg.chunkDelay, dropAfter: b.cfg.dropAfter, stallAfter: b.cfg.stallAfter,
	}
	s.base = chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, SystemFingerprint: b.cfg.name}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return s.run(c.chunks, u, includeUsage)
}

// usageFor returns the usage to report: the Usage option if given, else an
// estimate from the prompt text and the number of content chunks.
func (b *Backend) usageFor(msgs []chatMessage, c *content) usage {
	if o := b.cfg.usage; o != nil {
		return usage{PromptTokens: o.prompt, CompletionTokens: o.completion, TotalTokens: o.prompt + o.completion}
	}
	n := 0
	for _, m := range msgs {
		n += len(m.text())
	}
	p := max(n/4, 1)
	return usage{PromptTokens: p, CompletionTokens: len(c.chunks), TotalTokens: p + len(c.chunks)}
}

// lastUserText returns the text of the last message with role "user".
func lastUserText(msgs []chatMessage) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].text()
		}
	}
	return ""
}

// sseStream writes one streamed reply as server-sent events.
type sseStream struct {
	w          http.ResponseWriter
	rc         *http.ResponseController
	r          *http.Request
	delay      time.Duration
	dropAfter  int
	stallAfter int
	base       chunk
	events     int
}

// run sends headers, the role event, one event per content chunk, the finish
// event, the usage event if asked for, and [DONE] — unless DropAfter or
// StallAfter interrupts it. It reports whether it stopped because the client
// went away.
func (s *sseStream) run(chunks []string, u usage, includeUsage bool) (clientGone bool) {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	s.w.WriteHeader(http.StatusOK)
	if s.rc.Flush() != nil {
		return true
	}
	// Interruption points: 0 is right after the headers; k >= 1 is after the
	// k-th content event; past the last chunk counts as after the last one.
	at := func(n, k int) bool { return n == k || (k > 0 && k == len(chunks) && n > k) }
	if stop, gone := s.interrupt(0, at); stop {
		return gone
	}
	if !s.send(s.deltaChunk(delta{Role: "assistant", Content: new("")}, nil)) {
		return true
	}
	if len(chunks) == 0 && (s.dropAfter > 0 || s.stallAfter > 0) {
		// No content to count: interrupt right after the role event.
		return s.interruptNow(s.dropAfter > 0)
	}
	for i, text := range chunks {
		if !s.send(s.deltaChunk(delta{Content: &text}, nil)) {
			return true
		}
		if stop, gone := s.interrupt(i+1, at); stop {
			return gone
		}
	}
	if !s.send(s.deltaChunk(delta{}, new("stop"))) {
		return true
	}
	if includeUsage {
		c := s.base
		c.Choices = []chunkChoice{}
		c.Usage = &u
		if !s.send(c) {
			return true
		}
	}
	return !s.write([]byte("data: [DONE]\n\n"))
}

// interrupt applies DropAfter or StallAfter at point k. stop reports whether
// the stream must end here; gone whether the client went away meanwhile.
func (s *sseStream) interrupt(k int, at func(n, k int) bool) (stop, gone bool) {
	switch {
	case s.dropAfter >= 0 && at(s.dropAfter, k):
		return true, s.interruptNow(true)
	case s.stallAfter >= 0 && at(s.stallAfter, k):
		return true, s.interruptNow(false)
	}
	return false, false
}

// interruptNow cuts the connection (drop) or stalls until the request ends.
// It reports whether the client went away.
func (s *sseStream) interruptNow(drop bool) (gone bool) {
	if drop {
		s.drop()
		return false
	}
	<-s.r.Context().Done()
	return true
}

func (s *sseStream) deltaChunk(d delta, finish *string) chunk {
	c := s.base
	c.Choices = []chunkChoice{{Delta: d, FinishReason: finish}}
	return c
}

// send writes c as one data event.
func (s *sseStream) send(c chunk) bool {
	data, err := json.Marshal(c)
	if err != nil {
		return false
	}
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, "\n\n"...)
	return s.write(buf)
}

// write waits ChunkDelay (except before the first event), then writes and
// flushes one event. It reports false when the client is gone.
func (s *sseStream) write(event []byte) bool {
	d := s.delay
	if s.events == 0 {
		d = 0
	}
	if !wait(s.r.Context(), d) {
		return false
	}
	s.events++
	if _, err := s.w.Write(event); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// drop closes the TCP connection without ending the chunked body, so the
// client sees an unexpected EOF.
func (s *sseStream) drop() {
	conn, _, err := s.rc.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}
