package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nexusllm/nexus/nexustest"
)

// fastBackend is a minimal OpenAI-compatible server for the "direct"
// baseline: every answer is prepared once, so a request costs little more
// than net/http itself. It serves GET /v1/models (for the gateway's health
// probe), POST /v1/chat/completions, plain or streamed, honouring
// stream_options.include_usage as real servers do, and POST /v1/embeddings
// (one prepared list of vectors, whatever was asked; see embeddingsReply).
type fastBackend struct {
	models     []byte
	plain      []byte
	plainLen   []string
	embed      []byte
	embedLen   []string
	events     [][]byte // role event, content events, finish event
	usage      []byte
	chunkDelay time.Duration
	bufs       sync.Pool
}

// Header values shared by every response; net/http only reads them.
var (
	hdrJSON        = []string{"application/json"}
	hdrEventStream = []string{"text/event-stream"}
	hdrNoCache     = []string{"no-cache"}
)

var (
	streamTrue       = []byte(`"stream":true`)
	includeUsageTrue = []byte(`"include_usage":true`)
	doneEvent        = []byte("data: [DONE]\n\n")
)

// benchWords are the streamed words; the reply is chunks of them.
var benchWords = strings.Fields("Nexus routes this request to the best backend and relays every event as it arrives without delay")

// replyChunks returns n content deltas (words, each but the first with its
// leading space).
func replyChunks(n int) []string {
	out := make([]string, n)
	for i := range out {
		w := benchWords[i%len(benchWords)]
		if i > 0 {
			w = " " + w
		}
		out[i] = w
	}
	return out
}

func newFastBackend(model string, chunks int, chunkDelay time.Duration) *fastBackend {
	const id, created = "chatcmpl-bench", 1700000000
	type delta struct {
		Role    string  `json:"role,omitempty"`
		Content *string `json:"content,omitempty"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Delta        delta   `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	}
	type usage struct {
		Prompt     int `json:"prompt_tokens"`
		Completion int `json:"completion_tokens"`
		Total      int `json:"total_tokens"`
	}
	type chunk struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Created int64    `json:"created"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		Usage   *usage   `json:"usage,omitempty"`
	}
	event := func(c chunk) []byte {
		b, _ := json.Marshal(c)
		return append(append([]byte("data: "), b...), "\n\n"...)
	}
	base := chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model}
	words := replyChunks(chunks)
	u := usage{Prompt: 18, Completion: len(words), Total: 18 + len(words)}

	f := &fastBackend{chunkDelay: chunkDelay}
	empty, stop := "", "stop"
	c := base
	c.Choices = []choice{{Delta: delta{Role: "assistant", Content: &empty}}}
	f.events = append(f.events, event(c))
	for _, w := range words {
		c := base
		c.Choices = []choice{{Delta: delta{Content: &w}}}
		f.events = append(f.events, event(c))
	}
	c = base
	c.Choices = []choice{{FinishReason: &stop}}
	f.events = append(f.events, event(c))
	c = base
	c.Choices = []choice{}
	c.Usage = &u
	f.usage = event(c)

	f.plain, _ = json.Marshal(map[string]any{
		"id": "chatcmpl-bench", "object": "chat.completion", "created": created, "model": model,
		"choices": []any{map[string]any{
			"index": 0, "message": map[string]any{"role": "assistant", "content": strings.Join(words, "")},
			"finish_reason": "stop",
		}},
		"usage": u,
	})
	f.plainLen = []string{strconv.Itoa(len(f.plain))}
	f.embed = embeddingsReply(model)
	f.embedLen = []string{strconv.Itoa(len(f.embed))}
	f.models, _ = json.Marshal(map[string]any{
		"object": "list",
		"data":   []any{map[string]any{"id": model, "object": "model", "created": created, "owned_by": "nexus-bench"}},
	})
	return f
}

func (f *fastBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/chat/completions":
		f.chat(w, r)
	case embeddingsPath:
		f.embeddings(w, r)
	case "/v1/models":
		w.Header()["Content-Type"] = hdrJSON
		_, _ = w.Write(f.models)
	default:
		http.NotFound(w, r)
	}
}

func (f *fastBackend) chat(w http.ResponseWriter, r *http.Request) {
	buf, _ := f.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		buf.Reset()
		f.bufs.Put(buf)
	}()
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, 10<<20)); err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	body := buf.Bytes()
	h := w.Header()
	if !bytes.Contains(body, streamTrue) {
		h["Content-Type"] = hdrJSON
		h["Content-Length"] = f.plainLen
		_, _ = w.Write(f.plain)
		return
	}
	h["Content-Type"] = hdrEventStream
	h["Cache-Control"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	send := func(ev []byte, wait bool) bool {
		if wait && f.chunkDelay > 0 {
			t := time.NewTimer(f.chunkDelay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return false
			}
		}
		if _, err := w.Write(ev); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	for i, ev := range f.events {
		if !send(ev, i > 0) {
			return
		}
	}
	if bytes.Contains(body, includeUsageTrue) && !send(f.usage, false) {
		return
	}
	send(doneEvent, false)
}

// embeddings reads the request and answers the prepared vectors.
func (f *fastBackend) embeddings(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	buf, _ := f.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		buf.Reset()
		f.bufs.Put(buf)
	}()
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, 10<<20)); err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Content-Length"] = f.embedLen
	_, _ = w.Write(f.embed)
}

// startNexustest starts the project's own fake backend instead, for
// comparison (-backend nexustest).
func startNexustest(model string, chunks int, chunkDelay time.Duration) (*nexustest.Backend, error) {
	return nexustest.Start(
		nexustest.NoRecord(),
		nexustest.Models(model),
		nexustest.Stream(replyChunks(chunks)...),
		nexustest.ChunkDelay(chunkDelay),
		nexustest.Name("nexus-bench"),
	)
}
