package nexustest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// baseRequest holds the fields every inference request shares.
type baseRequest struct {
	Model  *string `json:"model"`
	Stream bool    `json:"stream"`
}

func (r *baseRequest) base() *baseRequest { return r }

// inferenceRequest is a request body that embeds baseRequest.
type inferenceRequest interface{ base() *baseRequest }

// infer runs one request of an inference endpoint: it counts it in flight,
// waits Delay, applies Fail, decodes body into req (nil: no body expected)
// and checks its model, then calls serve with the model. A request whose
// context ends before serve is done counts in Canceled, unless Stop or Close
// ended it.
func (b *Backend) infer(w http.ResponseWriter, r *http.Request, body []byte, d dialect,
	req inferenceRequest, serve func(model string) (clientGone bool),
) {
	b.rec.inFlight.Add(1)
	defer b.rec.inFlight.Add(-1)
	if gone := b.inferOnce(w, r, body, d, req, serve); gone && !stopped(r.Context()) {
		b.rec.addCanceled()
	}
}

func (b *Backend) inferOnce(w http.ResponseWriter, r *http.Request, body []byte, d dialect,
	req inferenceRequest, serve func(model string) bool,
) (clientGone bool) {
	if !wait(r.Context(), time.Duration(b.delay.Load())) {
		return true
	}
	if s := b.reqFail.Load(); failing(s) {
		b.injectFailure(w, d, int(s))
		return false
	}
	if req == nil {
		return serve("")
	}
	model, ok := b.decode(w, d, body, req)
	if !ok {
		return false
	}
	return serve(model)
}

// decode parses body into req and checks its model. It answers the error
// itself and reports false on failure.
func (b *Backend) decode(w http.ResponseWriter, d dialect, body []byte, req inferenceRequest) (string, bool) {
	if err := json.Unmarshal(body, req); err != nil {
		b.badRequest(w, d, "", fmt.Sprintf("invalid JSON body: %v", err))
		return "", false
	}
	m := req.base().Model
	if m == nil || *m == "" {
		msg := "you must provide a model parameter"
		if d == anthropicDialect {
			msg = "model: Field required"
		}
		b.badRequest(w, d, "model", msg)
		return "", false
	}
	if !b.models.Load().has[*m] {
		msg := fmt.Sprintf("nexustest %s: the model '%s' does not exist", b.cfg.name, *m)
		if d == anthropicDialect {
			msg = "model: " + *m
		}
		b.notFound(w, d, "model_not_found", msg)
		return "", false
	}
	return *m, true
}

// nextID returns prefix followed by the next number of the backend's id
// sequence.
func (b *Backend) nextID(prefix string) string {
	return prefix + strconv.FormatInt(b.ids.Add(1), 10)
}

// answer is the reply to one generation request, before it is shaped for an
// endpoint.
type answer struct {
	reasoning string
	thoughts  []string // reasoning in pieces
	text      string
	pieces    []string // text in pieces (the content chunks)
	calls     []callOut
}

// callOut is one tool call of an answer.
type callOut struct {
	id, name, args string
	pieces         []string // args in pieces
}

// answerFor builds the reply: the configured content (or the echo of
// prompt, with EchoPrompt), reasoning if configured, and the tool calls if
// tools is true and ToolCalls was given. idPrefix starts the tool call ids.
func (b *Backend) answerFor(prompt string, tools bool, idPrefix string) answer {
	c := b.content.Load()
	if b.cfg.echo {
		text := "You said: " + prompt
		c = &content{reply: text, chunks: splitWords(text)}
	}
	a := answer{reasoning: b.cfg.reasoning, thoughts: splitWords(b.cfg.reasoning), text: c.reply, pieces: c.chunks}
	if !tools || len(b.cfg.toolCalls) == 0 {
		return a
	}
	a.text, a.pieces = b.cfg.toolPreamble, splitWords(b.cfg.toolPreamble)
	seq := strconv.FormatInt(b.ids.Add(1), 10)
	for i, tc := range b.cfg.toolCalls {
		args := tc.Arguments
		if args == "" {
			args = "{}"
		}
		a.calls = append(a.calls, callOut{
			id:     idPrefix + seq + "_" + strconv.Itoa(i),
			name:   tc.Name,
			args:   args,
			pieces: splitBytes(args, argPiece),
		})
	}
	return a
}

// outputTokens is the completion token count reported for a: one per piece
// of reasoning, text and tool-call arguments.
func (a *answer) outputTokens() int {
	n := len(a.thoughts) + len(a.pieces)
	for _, c := range a.calls {
		n += len(c.pieces)
	}
	return n
}

// argPiece is the largest piece of streamed tool-call arguments, in bytes.
const argPiece = 8

// splitBytes cuts s into pieces of at most n bytes without splitting a UTF-8
// sequence (a longer rune gets a piece of its own).
func splitBytes(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end < len(s) && end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
		if end == 0 {
			_, end = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// promptTokens is the prompt token estimate for text of n bytes: about a
// quarter of the characters, at least 1; or the Usage option's.
func (b *Backend) promptTokens(n int) int {
	if o := b.cfg.usage; o != nil {
		return o.prompt
	}
	return max(n/4, 1)
}

// completionTokens is the completion token count of a, or the Usage
// option's.
func (b *Backend) completionTokens(a *answer) int {
	if o := b.cfg.usage; o != nil {
		return o.completion
	}
	return a.outputTokens()
}

// nonEmptyArray reports whether raw is a JSON array with at least one
// element.
func nonEmptyArray(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' {
		return false
	}
	return len(bytes.TrimSpace(raw[1:len(raw)-1])) > 0
}
