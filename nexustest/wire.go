package nexustest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// errorEnvelope is OpenAI's error shape:
// {"error":{"message":…,"type":…,"param":null,"code":…}}.
type errorEnvelope struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// injectedFailure is the message of every Fail/SetFail answer.
const injectedFailure = "nexustest: injected failure"

// writeJSON answers status with v as a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Every value written here is built from plain types; this cannot
		// happen, but answer something well-formed if it ever does.
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"message":"nexustest: encoding reply failed","type":"server_error","param":null,"code":null}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// failing reports whether status asks for an injected failure. 0 (and any
// value WriteHeader would reject) means healthy.
func failing(status int64) bool { return status >= 100 && status <= 999 }

// chatRequest is the part of a chat completions request the fake reads.
// Everything else is accepted and ignored.
type chatRequest struct {
	baseRequest
	Messages      []chatMessage   `json:"messages"`
	Tools         json.RawMessage `json:"tools"`
	StreamOptions *streamOptions  `json:"stream_options"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"` // string, null or content parts
}

// text returns the message's text: the string content, or the text parts of
// a content-part array joined; "" for anything else.
func (m chatMessage) text() string {
	if len(m.Content) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	out := ""
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			out += p.Text
		}
	}
	return out
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// completion is a non-streamed chat completion reply.
type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []completionChoice `json:"choices"`
	Usage             usage              `json:"usage"`
	Extra             extra              `json:"nexustest_extra"`
}

// extra is a field no OpenAI client knows, to prove that a gateway keeps
// unknown response fields.
type extra struct {
	Backend string `json:"backend"`
}

type completionChoice struct {
	Index        int            `json:"index"`
	Message      assistantReply `json:"message"`
	Logprobs     *struct{}      `json:"logprobs"` // always null
	FinishReason string         `json:"finish_reason"`
}

type assistantReply struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"` // null with tool calls and no preamble
	ReasoningContent string         `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCallWire `json:"tool_calls,omitempty"`
}

type toolCallWire struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // always "function"
	Function functionWire `json:"function"`
}

type functionWire struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"` // JSON text
}

// chunk is one chat.completion.chunk event of a streamed reply.
type chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	Usage             *usage        `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"` // always null
	FinishReason *string   `json:"finish_reason"`
}

type delta struct {
	Role             string          `json:"role,omitempty"`
	Content          *string         `json:"content,omitempty"`
	ReasoningContent *string         `json:"reasoning_content,omitempty"`
	ToolCalls        []deltaToolCall `json:"tool_calls,omitempty"`
}

// deltaToolCall is a piece of a streamed tool call: the first one of a call
// has its id, type and name, the next ones pieces of its arguments.
type deltaToolCall struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function deltaFunction `json:"function"`
}

type deltaFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}
