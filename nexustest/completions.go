package nexustest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// completionsRequest is the part of a legacy completions request the fake
// reads.
type completionsRequest struct {
	baseRequest
	Prompt        json.RawMessage `json:"prompt"` // string, strings, tokens or token arrays
	Suffix        *string         `json:"suffix"`
	StreamOptions *streamOptions  `json:"stream_options"`
}

// textCompletion is a legacy completion reply or stream chunk.
type textCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"` // always "text_completion"
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []textChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
}

type textChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"` // always null
	FinishReason *string   `json:"finish_reason"`
}

// completions runs POST /v1/completions.
func (b *Backend) completions(w http.ResponseWriter, r *http.Request, body []byte) {
	var req completionsRequest
	b.infer(w, r, body, openAIDialect, &req, func(model string) bool {
		return b.serveCompletions(w, r, &req, model)
	})
}

// fimMarker is appended to the reply of a request with a non-empty suffix
// (fill in the middle), so that a test can tell it was served as such.
func fimMarker(suffix string) string { return " [suffix: " + suffix + "]" }

func (b *Backend) serveCompletions(w http.ResponseWriter, r *http.Request, req *completionsRequest, model string) bool {
	prompt, n := promptText(req.Prompt)
	a := b.answerFor(prompt, false, "")
	a.reasoning, a.thoughts = "", nil
	if req.Suffix != nil && *req.Suffix != "" {
		m := fimMarker(*req.Suffix)
		a.text += m
		a.pieces = append(append([]string(nil), a.pieces...), m)
	}
	p, c := b.promptTokens(n), b.completionTokens(&a)
	u := usage{PromptTokens: p, CompletionTokens: c, TotalTokens: p + c}
	base := textCompletion{
		ID: b.nextID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(),
		Model: model, SystemFingerprint: b.cfg.name,
	}
	stop := "stop"
	if !req.Stream {
		base.Choices = []textChoice{{Text: a.text, FinishReason: &stop}}
		base.Usage = &u
		writeJSON(w, http.StatusOK, base)
		return false
	}
	var plan ssePlan
	with := func(text string, finish *string) textCompletion {
		c := base
		c.Choices = []textChoice{{Text: text, FinishReason: finish}}
		return c
	}
	for _, t := range a.pieces {
		plan.data(with(t, nil), true)
	}
	plan.data(with("", &stop), false)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		c := base
		c.Choices = []textChoice{}
		c.Usage = &u
		plan.data(c, false)
	}
	plan.done()
	return b.stream(w, r, &plan)
}

// promptText returns the text of a completions prompt (a string or an array
// of strings, joined) and its size for the token estimate; a token array
// counts 4 bytes per token.
func promptText(raw json.RawMessage) (string, int) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, len(s)
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		s = strings.Join(ss, "")
		return s, len(s)
	}
	var toks []int
	if json.Unmarshal(raw, &toks) == nil {
		return "", 4 * len(toks)
	}
	var batches [][]int
	if json.Unmarshal(raw, &batches) == nil {
		n := 0
		for _, t := range batches {
			n += 4 * len(t)
		}
		return "", n
	}
	return "", 0
}
