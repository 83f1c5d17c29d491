package nexustest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// The JSON bodies an Engine reads and writes on /v1/chat/completions.

// engineChatRequest is the part of a chat completions request the engine
// reads; everything else is accepted and ignored.
type engineChatRequest struct {
	Model         *string         `json:"model"`
	Messages      []engineMessage `json:"messages"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int `json:"max_tokens"`
	MaxCompletionTokens *int `json:"max_completion_tokens"`
}

type engineMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"` // string, null or content parts
}

// errEngineNoModel is returned by parseEngineChat for a request without a
// model.
var errEngineNoModel = errors.New("you must provide a model parameter")

// parseEngineChat decodes a chat request and builds its prompt text (see
// Engine). It fails only on malformed JSON and a missing model.
func parseEngineChat(body []byte) (req engineChatRequest, prompt []byte, err error) {
	if err := json.Unmarshal(body, &req); err != nil {
		return req, nil, fmt.Errorf("invalid JSON body: %w", err)
	}
	if req.Model == nil || *req.Model == "" {
		return req, nil, errEngineNoModel
	}
	for _, m := range req.Messages {
		prompt = append(prompt, m.Role...)
		prompt = append(prompt, '\n')
		prompt = appendEngineText(prompt, m.Content)
		prompt = append(prompt, '\n')
	}
	return req, prompt, nil
}

// maxTokens returns the request's cap on output tokens; 0 means none.
func (r *engineChatRequest) maxTokens() int {
	for _, p := range []*int{r.MaxCompletionTokens, r.MaxTokens} {
		if p != nil && *p > 0 {
			return *p
		}
	}
	return 0
}

// appendEngineText appends a message's text: the string content, or the
// text parts of a content-part array; nothing for anything else.
func appendEngineText(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return dst
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return append(dst, s...)
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return dst
	}
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			dst = append(dst, p.Text...)
		}
	}
	return dst
}

type engineUsage struct {
	PromptTokens        int                `json:"prompt_tokens"`
	CompletionTokens    int                `json:"completion_tokens"`
	TotalTokens         int                `json:"total_tokens"`
	PromptTokensDetails engineTokenDetails `json:"prompt_tokens_details"`
}

type engineTokenDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// engineTimings is llama.cpp's per-reply "timings" object, computed from
// simulated time.
type engineTimings struct {
	CacheN              int     `json:"cache_n"`
	PromptN             int     `json:"prompt_n"`
	PromptMS            float64 `json:"prompt_ms"`
	PromptPerTokenMS    float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     float64 `json:"prompt_per_second"`
	PredictedN          int     `json:"predicted_n"`
	PredictedMS         float64 `json:"predicted_ms"`
	PredictedPerTokenMS float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  float64 `json:"predicted_per_second"`
}

// engineReplyInfo is a field no OpenAI client knows
// ("nexustest_engine"), telling tests how the request was served.
type engineReplyInfo struct {
	Engine   string `json:"engine"`
	Slot     int    `json:"slot"`
	Task     int64  `json:"id_task"` // grows in the order slots were granted
	ColdLoad bool   `json:"cold_load"`
}

type engineCompletion struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	Created           int64               `json:"created"`
	Model             string              `json:"model"`
	SystemFingerprint string              `json:"system_fingerprint"`
	Choices           []engineReplyChoice `json:"choices"`
	Usage             engineUsage         `json:"usage"`
	Timings           *engineTimings      `json:"timings,omitempty"`
	Info              engineReplyInfo     `json:"nexustest_engine"`
}

type engineReplyChoice struct {
	Index        int                `json:"index"`
	Message      engineReplyMessage `json:"message"`
	Logprobs     *struct{}          `json:"logprobs"` // always null
	FinishReason string             `json:"finish_reason"`
}

type engineReplyMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// engineChunk is a chat.completion.chunk event other than a content token
// (those are written by engineStream without encoding/json).
type engineChunk struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	Created           int64               `json:"created"`
	Model             string              `json:"model"`
	SystemFingerprint string              `json:"system_fingerprint"`
	Choices           []engineChunkChoice `json:"choices"`
	Usage             *engineUsage        `json:"usage,omitempty"`
	Timings           *engineTimings      `json:"timings,omitempty"`
}

type engineChunkChoice struct {
	Index        int         `json:"index"`
	Delta        engineDelta `json:"delta"`
	Logprobs     *struct{}   `json:"logprobs"` // always null
	FinishReason *string     `json:"finish_reason"`
}

type engineDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// engineErrorEnvelope is OpenAI's error shape.
type engineErrorEnvelope struct {
	Error engineErrorDetail `json:"error"`
}

type engineErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// engineWriteJSON answers status with v as a JSON body.
func engineWriteJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"message":"nexustest engine: encoding reply failed","type":"server_error","param":null,"code":null}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// engineWriteError answers status with an OpenAI error envelope.
func engineWriteError(w http.ResponseWriter, status int, typ string, code *string, msg string) {
	engineWriteJSON(w, status, engineErrorEnvelope{Error: engineErrorDetail{Message: msg, Type: typ, Code: code}})
}

// engineVocab is the text of output tokens, one word per token in turn.
var engineVocab = [...]string{"The ", "engine ", "decodes ", "one ", "token ", "per ", "step, ", "and ", "this ", "is ", "it. "}

// engineVocabJSON holds the words of engineVocab as JSON strings.
var engineVocabJSON = func() (out [len(engineVocab)][]byte) {
	for i, w := range engineVocab {
		out[i], _ = json.Marshal(w)
	}
	return out
}()

// engineReplyText is the full text of a reply of n tokens.
func engineReplyText(n int) string {
	b := make([]byte, 0, n*6)
	for i := range n {
		b = append(b, engineVocab[i%len(engineVocab)]...)
	}
	return string(b)
}
