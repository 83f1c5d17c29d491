package proxy

import (
	"encoding/json"
	"strconv"

	"github.com/nexusllm/nexus/internal/openai"
)

// Dialect is the wire format of an API's replies.
type Dialect uint8

const (
	// DialectChat is OpenAI chat and completions (and the plain replies of
	// embeddings and rerank): data-only chunks, ending with data: [DONE].
	DialectChat Dialect = iota
	// DialectResponses is the OpenAI Responses API: "event: <type>" and
	// JSON data with "type"; it ends after response.completed,
	// response.failed or response.incomplete.
	DialectResponses
	// DialectAnthropic is Anthropic Messages: typed events message_start …
	// message_stop, and ping; it ends after message_stop.
	DialectAnthropic
)

func (d Dialect) String() string {
	switch d {
	case DialectChat:
		return "chat"
	case DialectResponses:
		return "responses"
	case DialectAnthropic:
		return "anthropic"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// Translator rewrites a backend's reply into the client's API (for example
// OpenAI chat chunks into Anthropic events). A Translator serves one
// request and is not reused.
type Translator interface {
	// Reply converts a whole plain reply body. An error makes the reply a
	// bad response (KindBadResponse, retryable, nothing written).
	Reply(body []byte) ([]byte, error)
	// Event converts one upstream stream event (name is its "event:"
	// field, "" when none; data is its data, valid only during the call)
	// into zero or more client events written with emit. An error ends
	// the stream as a bad response (before commit) or a broken stream
	// (after).
	Event(name string, data []byte, emit func(name string, data []byte) error) error
	// Finish is called once when the upstream stream ended cleanly; it
	// may emit last events.
	Finish(emit func(name string, data []byte) error) error
}

// inspectReply reads a plain reply of dialect d: whether it is an error
// object and its usage. A chat-dialect usage with only a total (rerank)
// counts that total as prompt tokens.
func inspectReply(d Dialect, body []byte) openai.ReplyInfo {
	switch d {
	case DialectResponses:
		return openai.InspectResponsesReply(body)
	case DialectAnthropic:
		return openai.InspectAnthropicReply(body)
	}
	info := openai.InspectReply(body)
	if u := &info.Usage; info.HasUsage && u.PromptTokens == 0 && u.CompletionTokens == 0 {
		u.PromptTokens = u.TotalTokens
	}
	return info
}

// Error events written after commit, when the backend failed.
const (
	codeStreamError = "backend_stream_error"
	codeIdle        = "stream_idle_timeout"
	msgIdle         = "The backend stopped sending events within the idle timeout"
)

// responsesError is the Responses API's streaming "error" event.
type responsesError struct {
	Type     string  `json:"type"`
	Code     string  `json:"code"`
	Message  string  `json:"message"`
	Param    *string `json:"param"`
	Sequence int64   `json:"sequence_number"`
}

// failEvent returns the event that tells a client of dialect d that the
// stream failed with e after seq events.
func failEvent(d Dialect, e *Error, seq int64) (name string, data []byte) {
	code, msg := codeStreamError, "The backend stream failed: "+e.Error()
	if e.Kind == KindTimeout {
		code, msg = codeIdle, msgIdle
	}
	switch d {
	case DialectResponses:
		data, _ = json.Marshal(responsesError{Type: "error", Code: code, Message: msg, Sequence: seq})
		return "error", data
	case DialectAnthropic:
		typ := openai.AnthropicAPI
		if e.Kind == KindTimeout {
			typ = openai.AnthropicTimeout
		}
		return "error", openai.NewAnthropicError(typ, msg, "").Marshal()
	}
	return "", openai.NewEnvelope(msg, openai.TypeServer, "", code).Marshal()
}
