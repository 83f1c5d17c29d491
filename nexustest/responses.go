package nexustest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// responsesRequest is the part of a Responses API request the fake reads.
type responsesRequest struct {
	baseRequest
	Input              json.RawMessage `json:"input"` // string or input items
	Instructions       *string         `json:"instructions"`
	PreviousResponseID *string         `json:"previous_response_id"`
	Store              *bool           `json:"store"` // nil: true
	MaxOutputTokens    *int            `json:"max_output_tokens"`
}

// responseObject is OpenAI's Response object.
type responseObject struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"` // always "response"
	CreatedAt          int64             `json:"created_at"`
	Status             string            `json:"status"`
	Background         bool              `json:"background"`
	Error              *struct{}         `json:"error"`              // always null
	IncompleteDetails  *struct{}         `json:"incomplete_details"` // always null
	Instructions       *string           `json:"instructions"`
	MaxOutputTokens    *int              `json:"max_output_tokens"`
	Model              string            `json:"model"`
	Output             []responseItem    `json:"output"`
	ParallelToolCalls  bool              `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Reasoning          responseReasoning `json:"reasoning"`
	Store              bool              `json:"store"`
	Temperature        float64           `json:"temperature"`
	Text               responseText      `json:"text"`
	ToolChoice         string            `json:"tool_choice"`
	Tools              []struct{}        `json:"tools"`
	TopP               float64           `json:"top_p"`
	Truncation         string            `json:"truncation"`
	Usage              *responseUsage    `json:"usage"`
	User               *string           `json:"user"`
	Metadata           map[string]string `json:"metadata"`
	Extra              extra             `json:"nexustest_extra"`
}

type responseReasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type responseText struct {
	Format struct {
		Type string `json:"type"`
	} `json:"format"`
}

// responseItem is an output item of type "message".
type responseItem struct {
	Type    string       `json:"type"` // always "message"
	ID      string       `json:"id"`
	Status  string       `json:"status"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
}

// outputText is a content part of type "output_text".
type outputText struct {
	Type        string     `json:"type"` // always "output_text"
	Text        string     `json:"text"`
	Annotations []struct{} `json:"annotations"`
	Logprobs    []struct{} `json:"logprobs"`
}

type responseUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

// responseEvent is one typed event of a streamed response; each type uses
// some of the fields.
type responseEvent struct {
	Type           string          `json:"type"`
	SequenceNumber int             `json:"sequence_number"`
	Response       *responseObject `json:"response,omitempty"`
	OutputIndex    *int            `json:"output_index,omitempty"`
	Item           *responseItem   `json:"item,omitempty"`
	ItemID         string          `json:"item_id,omitempty"`
	ContentIndex   *int            `json:"content_index,omitempty"`
	Part           *outputText     `json:"part,omitempty"`
	Delta          *string         `json:"delta,omitempty"`
	Text           *string         `json:"text,omitempty"`
	Logprobs       *[]struct{}     `json:"logprobs,omitempty"`
}

type deletedResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // always "response"
	Deleted bool   `json:"deleted"`
}

// responses runs POST /v1/responses.
func (b *Backend) responses(w http.ResponseWriter, r *http.Request, body []byte) {
	var req responsesRequest
	b.infer(w, r, body, openAIDialect, &req, func(model string) bool {
		return b.serveResponses(w, r, &req, model)
	})
}

func (b *Backend) serveResponses(w http.ResponseWriter, r *http.Request, req *responsesRequest, model string) bool {
	if id := req.PreviousResponseID; id != nil && *id != "" {
		if _, ok := b.stored.get(*id); !ok {
			code := "previous_response_not_found"
			param := "previous_response_id"
			b.fail(w, openAIDialect, http.StatusBadRequest, "invalid_request_error", &code, &param,
				fmt.Sprintf("Previous response with id '%s' not found.", *id))
			return false
		}
	}
	prompt, n := inputText(req.Input)
	if req.Instructions != nil {
		n += len(*req.Instructions)
	}
	a := b.answerFor(prompt, false, "")
	a.reasoning, a.thoughts = "", nil
	p, c := b.promptTokens(n), b.completionTokens(&a)
	u := &responseUsage{InputTokens: p, OutputTokens: c, TotalTokens: p + c}
	store := req.Store == nil || *req.Store
	final := responseObject{
		ID: b.nextID("resp_" + b.tag + "_"), Object: "response", CreatedAt: time.Now().Unix(), Status: "completed",
		Instructions: req.Instructions, MaxOutputTokens: req.MaxOutputTokens, Model: model,
		ParallelToolCalls: true, PreviousResponseID: req.PreviousResponseID, Store: store,
		Temperature: 1, ToolChoice: "auto", Tools: []struct{}{}, TopP: 1, Truncation: "disabled",
		Usage: u, Metadata: map[string]string{}, Extra: extra{Backend: b.cfg.name},
	}
	final.Text.Format.Type = "text"
	part := outputText{Type: "output_text", Text: a.text, Annotations: []struct{}{}, Logprobs: []struct{}{}}
	item := responseItem{Type: "message", ID: b.nextID("msg_"), Status: "completed", Role: "assistant", Content: []outputText{part}}
	final.Output = []responseItem{item}
	if store {
		b.stored.put(final)
	}
	if !req.Stream {
		writeJSON(w, http.StatusOK, final)
		return false
	}

	var plan ssePlan
	seq := 0
	emit := func(ev responseEvent, content bool) {
		ev.SequenceNumber = seq
		seq++
		plan.add(ev.Type, ev, content)
	}
	zero := 0
	opening := final
	opening.Status, opening.Output, opening.Usage = "in_progress", []responseItem{}, nil
	emit(responseEvent{Type: "response.created", Response: &opening}, false)
	emit(responseEvent{Type: "response.in_progress", Response: &opening}, false)
	openItem := item
	openItem.Status, openItem.Content = "in_progress", []outputText{}
	emit(responseEvent{Type: "response.output_item.added", OutputIndex: &zero, Item: &openItem}, false)
	openPart := part
	openPart.Text = ""
	emit(responseEvent{Type: "response.content_part.added", ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero, Part: &openPart}, false)
	plan.openHead()
	noLogprobs := []struct{}{}
	for _, t := range a.pieces {
		emit(responseEvent{Type: "response.output_text.delta", ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero,
			Delta: &t, Logprobs: &noLogprobs}, true)
	}
	emit(responseEvent{Type: "response.output_text.done", ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero,
		Text: &a.text, Logprobs: &noLogprobs}, false)
	emit(responseEvent{Type: "response.content_part.done", ItemID: item.ID, OutputIndex: &zero, ContentIndex: &zero, Part: &part}, false)
	emit(responseEvent{Type: "response.output_item.done", OutputIndex: &zero, Item: &item}, false)
	emit(responseEvent{Type: "response.completed", Response: &final}, false)
	return b.stream(w, r, &plan)
}

// responseByID runs GET and DELETE /v1/responses/{id}.
func (b *Backend) responseByID(w http.ResponseWriter, r *http.Request, _ []byte) {
	b.infer(w, r, nil, openAIDialect, nil, func(string) bool {
		id := strings.TrimPrefix(r.URL.Path, "/v1/responses/")
		resp, ok := b.stored.get(id)
		switch {
		case !ok:
			b.notFound(w, openAIDialect, "", fmt.Sprintf("Response with id '%s' not found.", id))
		case r.Method == http.MethodDelete:
			b.stored.delete(id)
			writeJSON(w, http.StatusOK, deletedResponse{ID: id, Object: "response", Deleted: true})
		default:
			writeJSON(w, http.StatusOK, resp)
		}
		return false
	})
}

// inputText returns the text of the last user input of a Responses request
// (the input itself when it is a string) and the size of all input text.
func inputText(raw json.RawMessage) (string, int) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, len(s)
	}
	var items []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &items) != nil {
		return "", 0
	}
	last, n := "", 0
	for _, it := range items {
		text := partsText(it.Content, "input_text", "output_text", "text")
		n += len(text)
		if it.Role == "user" {
			last = text
		}
	}
	return last, n
}

// partsText returns content when it is a string, else the text of the parts
// whose type is one of types (or empty), joined.
func partsText(content json.RawMessage, types ...string) string {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(content, &parts) != nil {
		return ""
	}
	var out strings.Builder
	for _, p := range parts {
		if p.Type == "" || slices.Contains(types, p.Type) {
			out.WriteString(p.Text)
		}
	}
	return out.String()
}
