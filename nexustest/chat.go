package nexustest

import (
	"net/http"
	"time"
)

// chat runs POST /v1/chat/completions: the custom Handler if one was given,
// else the built-in fake.
func (b *Backend) chat(w http.ResponseWriter, r *http.Request, body []byte) {
	if h := b.cfg.handler; h != nil {
		b.rec.inFlight.Add(1)
		defer b.rec.inFlight.Add(-1)
		h(w, r)
		if ctx := r.Context(); ctx.Err() != nil && !stopped(ctx) {
			b.rec.addCanceled()
		}
		return
	}
	var req chatRequest
	b.infer(w, r, body, openAIDialect, &req, func(model string) bool {
		return b.serveChat(w, r, &req, model)
	})
}

// serveChat answers one valid chat completion. It reports whether it gave
// up because the client went away.
func (b *Backend) serveChat(w http.ResponseWriter, r *http.Request, req *chatRequest, model string) (clientGone bool) {
	n := 0
	for _, m := range req.Messages {
		n += len(m.text())
	}
	a := b.answerFor(lastUserText(req.Messages), nonEmptyArray(req.Tools), "call_")
	p := b.promptTokens(n)
	c := b.completionTokens(&a)
	u := usage{PromptTokens: p, CompletionTokens: c, TotalTokens: p + c}
	id := b.nextID("chatcmpl-")
	created := time.Now().Unix()
	finish := "stop"
	if len(a.calls) > 0 {
		finish = "tool_calls"
	}

	if !req.Stream {
		msg := assistantReply{Role: "assistant", ReasoningContent: a.reasoning}
		if len(a.calls) == 0 || a.text != "" {
			msg.Content = &a.text
		}
		for _, call := range a.calls {
			msg.ToolCalls = append(msg.ToolCalls, toolCallWire{
				ID: call.id, Type: "function", Function: functionWire{Name: call.name, Arguments: call.args},
			})
		}
		writeJSON(w, http.StatusOK, completion{
			ID:                id,
			Object:            "chat.completion",
			Created:           created,
			Model:             model,
			SystemFingerprint: b.cfg.name,
			Choices:           []completionChoice{{Message: msg, FinishReason: finish}},
			Usage:             u,
			Extra:             extra{Backend: b.cfg.name},
		})
		return false
	}

	base := chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, SystemFingerprint: b.cfg.name}
	with := func(d delta, finish *string) chunk {
		c := base
		c.Choices = []chunkChoice{{Delta: d, FinishReason: finish}}
		return c
	}
	var plan ssePlan
	plan.data(with(delta{Role: "assistant", Content: new("")}, nil), false)
	plan.openHead()
	for _, t := range a.thoughts {
		plan.data(with(delta{ReasoningContent: &t}, nil), true)
	}
	for _, t := range a.pieces {
		plan.data(with(delta{Content: &t}, nil), true)
	}
	for i, call := range a.calls {
		plan.data(with(delta{ToolCalls: []deltaToolCall{{
			Index: i, ID: call.id, Type: "function", Function: deltaFunction{Name: call.name},
		}}}, nil), true)
		for _, piece := range call.pieces {
			plan.data(with(delta{ToolCalls: []deltaToolCall{{Index: i, Function: deltaFunction{Arguments: piece}}}}, nil), true)
		}
	}
	plan.data(with(delta{}, &finish), false)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		c := base
		c.Choices = []chunkChoice{}
		c.Usage = &u
		plan.data(c, false)
	}
	plan.done()
	return b.stream(w, r, &plan)
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
