package nexustest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// engineMaxBody bounds a chat request body.
const engineMaxBody = 32 << 20

// engineJob is one chat request on its way through the engine.
type engineJob struct {
	model   string
	prompt  int // prompt tokens
	hashes  []uint64
	out     int // tokens to decode
	finish  string
	stream  *engineStream // nil for a plain reply
	slot    *engineSlot
	task    int64 // id_task given with the slot
	cold    bool
	cached  int // prompt tokens served from the prefix cache
	prefill time.Duration
	decoded int
}

// chat serves POST /v1/chat/completions: queue for a slot, load the model,
// prefill the uncached part of the prompt, decode.
func (e *Engine) chat(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(io.LimitReader(r.Body, engineMaxBody))
	if err != nil {
		e.reject(w, http.StatusBadRequest, nil, fmt.Sprintf("reading request body: %v", err))
		return
	}
	req, prompt, err := parseEngineChat(body)
	if err != nil {
		var param *string
		if errors.Is(err, errEngineNoModel) {
			param = new("model")
		}
		e.reject(w, http.StatusBadRequest, param, err.Error())
		return
	}
	j := &engineJob{model: *req.Model, prompt: engineTokens(len(prompt)), out: e.cfg.OutputTokens, finish: "stop"}
	if _, ok := e.models[j.model]; !ok { // e.models' keys never change
		code := "model_not_found"
		e.mu.Lock()
		e.st.rejected++
		e.mu.Unlock()
		engineWriteError(w, http.StatusNotFound, "NotFoundError", &code,
			fmt.Sprintf("The model `%s` does not exist.", j.model))
		return
	}
	if n := req.maxTokens(); n > 0 && n < j.out {
		j.out, j.finish = n, "length"
	}
	if e.cache != nil {
		j.hashes = enginePrefixHashes(nil, e.seed, j.model, prompt)
	}
	id := "chatcmpl-" + strconv.FormatInt(e.ids.Add(1), 10)
	created := time.Now().Unix()
	if req.Stream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		j.stream = newEngineStream(w, id, created, j.model, e.cfg.Name, includeUsage)
		if !j.stream.start() {
			e.finish(ctx, j)
			return
		}
	}

	ok := e.run(ctx, j)
	e.finish(ctx, j)
	if !ok {
		return
	}
	u := engineUsage{
		PromptTokens: j.prompt, CompletionTokens: j.out, TotalTokens: j.prompt + j.out,
		PromptTokensDetails: engineTokenDetails{CachedTokens: j.cached},
	}
	if j.stream != nil {
		j.stream.end(j.finish, u, e.timings(j))
		return
	}
	engineWriteJSON(w, http.StatusOK, engineCompletion{
		ID: id, Object: "chat.completion", Created: created, Model: j.model, SystemFingerprint: e.cfg.Name,
		Choices: []engineReplyChoice{{
			Message:      engineReplyMessage{Role: "assistant", Content: engineReplyText(j.out)},
			FinishReason: j.finish,
		}},
		Usage:   u,
		Timings: e.timings(j),
		Info:    engineReplyInfo{Engine: e.cfg.Name, Slot: j.slot.id, Task: j.task, ColdLoad: j.cold},
	})
}

// reject answers a malformed request with 400.
func (e *Engine) reject(w http.ResponseWriter, status int, param *string, msg string) {
	e.mu.Lock()
	e.st.rejected++
	e.mu.Unlock()
	engineWriteJSON(w, status, engineErrorEnvelope{Error: engineErrorDetail{
		Message: fmt.Sprintf("nexustest engine %s: %s", e.cfg.Name, msg),
		Type:    "BadRequestError",
		Param:   param,
	}})
}

// run takes j through the engine. It reports false if the client left (or
// the engine closed) on the way; the slot and model are released either way.
func (e *Engine) run(ctx context.Context, j *engineJob) bool {
	e.mu.Lock()
	e.st.received++
	e.mu.Unlock()

	s := e.acquire(ctx)
	if s == nil {
		return false
	}
	j.slot, j.task = s, s.task // s is ours until release: no lock needed
	defer e.release(s)

	cold, ok := e.useModel(ctx, j.model)
	if !ok {
		return false
	}
	j.cold = cold
	defer e.doneModel(j.model)

	e.mu.Lock()
	s.model, s.prompt, s.remain = j.model, j.prompt, j.out
	if e.cache != nil {
		n := min(len(j.hashes), engineLookupBlocks(j.prompt))
		j.cached = e.cache.Match(j.hashes[:n]) * EngineBlockTokens
	}
	e.mu.Unlock()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	j.prefill = time.Duration(j.prompt-j.cached) * e.cfg.PrefillPerToken
	if !engineSleep(ctx, timer, e.cfg.scaled(j.prefill)) {
		return false
	}
	e.mu.Lock()
	if e.cache != nil {
		e.cache.Add(j.hashes)
	}
	e.st.promptTokens += int64(j.prompt)
	e.st.cachedTokens += int64(j.cached)
	e.st.prefillTime += j.prefill
	e.mu.Unlock()

	step := e.cfg.scaled(e.cfg.DecodeTime)
	begin := time.Now()
	for i := 1; i <= j.out; i++ {
		if step > 0 && !engineSleep(ctx, timer, time.Until(begin.Add(time.Duration(i)*step))) {
			return false
		}
		if ctx.Err() != nil {
			return false
		}
		j.decoded = i
		s.decoded.Store(int64(i))
		if j.stream != nil && !j.stream.token(i-1) {
			return false
		}
	}
	return true
}

// finish records what j cost and how it ended.
func (e *Engine) finish(ctx context.Context, j *engineJob) {
	gone := ctx.Err() != nil || (j.stream != nil && j.stream.broken)
	closing := gone && e.closed()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.completionTokens += int64(j.decoded)
	e.st.decodeTime += time.Duration(j.decoded) * e.cfg.DecodeTime
	switch {
	case closing:
	case gone || j.decoded < j.out:
		e.st.canceled++
	default:
		e.st.served++
	}
}

// timings returns llama.cpp's timings object for j, nil for other types.
func (e *Engine) timings(j *engineJob) *engineTimings {
	if e.cfg.Type != EngineLlamaCpp {
		return nil
	}
	t := &engineTimings{
		CacheN:      j.cached,
		PromptN:     j.prompt - j.cached,
		PromptMS:    engineMS(j.prefill),
		PredictedN:  j.out,
		PredictedMS: engineMS(time.Duration(j.out) * e.cfg.DecodeTime),
	}
	if t.PromptN > 0 && t.PromptMS > 0 {
		t.PromptPerTokenMS = t.PromptMS / float64(t.PromptN)
		t.PromptPerSecond = 1000 / t.PromptPerTokenMS
	}
	if t.PredictedN > 0 && t.PredictedMS > 0 {
		t.PredictedPerTokenMS = t.PredictedMS / float64(t.PredictedN)
		t.PredictedPerSecond = 1000 / t.PredictedPerTokenMS
	}
	return t
}

func engineMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// engineStream writes one streamed reply as server-sent events, flushing
// each event.
type engineStream struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	base         engineChunk
	includeUsage bool
	prefix       []byte // `data: {...,"delta":{"content":` of content events
	buf          []byte
	broken       bool // a write failed: the client is gone
}

func newEngineStream(w http.ResponseWriter, id string, created int64, model, name string, includeUsage bool) *engineStream {
	s := &engineStream{
		w: w, rc: http.NewResponseController(w), includeUsage: includeUsage,
		base: engineChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, SystemFingerprint: name},
	}
	idJSON, _ := json.Marshal(id)
	modelJSON, _ := json.Marshal(model)
	nameJSON, _ := json.Marshal(name)
	s.prefix = fmt.Appendf(nil, `data: {"id":%s,"object":"chat.completion.chunk","created":%d,"model":%s,"system_fingerprint":%s,"choices":[{"index":0,"delta":{"content":`,
		idJSON, created, modelJSON, nameJSON)
	return s
}

// start sends the headers at once, as the engines do before the first
// token.
func (s *engineStream) start() bool {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	s.w.WriteHeader(http.StatusOK)
	return s.flush()
}

// token sends output token i; before the first, the role event.
func (s *engineStream) token(i int) bool {
	if i == 0 && !s.send(s.chunk(engineDelta{Role: "assistant", Content: new("")}, nil)) {
		return false
	}
	s.buf = append(s.buf[:0], s.prefix...)
	s.buf = append(s.buf, engineVocabJSON[i%len(engineVocabJSON)]...)
	s.buf = append(s.buf, `},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	return s.write(s.buf)
}

// end sends the finish event (with llama.cpp's timings if given), the usage
// event if asked for, and [DONE].
func (s *engineStream) end(finish string, u engineUsage, t *engineTimings) {
	c := s.chunk(engineDelta{}, &finish)
	c.Timings = t
	if !s.send(c) {
		return
	}
	if s.includeUsage {
		c := s.base
		c.Choices = []engineChunkChoice{}
		c.Usage = &u
		if !s.send(c) {
			return
		}
	}
	s.write([]byte("data: [DONE]\n\n"))
}

func (s *engineStream) chunk(d engineDelta, finish *string) engineChunk {
	c := s.base
	c.Choices = []engineChunkChoice{{Delta: d, FinishReason: finish}}
	return c
}

func (s *engineStream) send(c engineChunk) bool {
	data, err := json.Marshal(c)
	if err != nil {
		s.broken = true
		return false
	}
	s.buf = append(s.buf[:0], "data: "...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, "\n\n"...)
	return s.write(s.buf)
}

func (s *engineStream) write(event []byte) bool {
	if _, err := s.w.Write(event); err != nil {
		s.broken = true
		return false
	}
	return s.flush()
}

func (s *engineStream) flush() bool {
	if s.rc.Flush() != nil {
		s.broken = true
		return false
	}
	return true
}
