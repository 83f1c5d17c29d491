// Package openai holds the parts of the OpenAI wire format that Nexus needs:
// peeking at a chat request without decoding it whole, rewriting its model,
// the error envelope, usage extraction and server-sent-event parsing. The
// hot paths walk the JSON once without decoding it (walk.go) and validate
// it with a fast equivalent of json.Valid (valid.go); each walk answers
// exactly as the json.Unmarshal call it replaced, which the fuzz tests
// check against reference implementations.
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Request is what the gateway needs to know about a request to route it,
// whatever the endpoint (chat, completions, embeddings, rerank, Responses,
// Anthropic Messages); a fact an endpoint does not have stays zero. The
// body itself is forwarded as the client sent it.
type Request struct {
	Model  string
	Stream bool
	// IncludeUsage is true when the client asked for a usage chunk
	// (stream_options.include_usage).
	IncludeUsage bool
	// HasStreamOptions is true when the body has a stream_options member.
	HasStreamOptions bool
	// Vision is true when a message has an image_url content part.
	Vision bool
	// Tools is true when tools is a non-empty array.
	Tools bool
	// JSONMode is true for response_format json_object or json_schema.
	JSONMode bool
	// EstimatedTokens approximates the prompt size: text bytes / 4 (token
	// arrays count one per token).
	EstimatedTokens int
	// Suffix is true for a completions request with a non-empty "suffix"
	// (fill in the middle).
	Suffix bool
	// Thinking is true when the client asked for extended reasoning
	// (Anthropic "thinking" not disabled, Responses "reasoning").
	Thinking bool
	// PreviousResponseID is the Responses previous_response_id, "" when
	// none: the backend that holds that response should serve this one.
	PreviousResponseID string
	// PromptCacheKey is the client's prompt_cache_key, "" when none.
	PromptCacheKey string
	// User is the client's end-user id ("user"; Anthropic
	// metadata.user_id), "" when none. With PromptCacheKey it keys
	// session affinity.
	User string
}

// MaxModelBytes is the longest model name a request may carry. Names are
// echoed in errors, logs and the request history, so they are bounded.
const MaxModelBytes = 256

// RequestError is a client error found while peeking: the gateway answers it
// with 400 invalid_request_error.
type RequestError struct {
	Param   string // the offending member, "" for the body as a whole
	Message string
}

func (e *RequestError) Error() string { return e.Message }

func badRequest(param, format string, args ...any) *RequestError {
	return &RequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// PeekChat validates body as a chat completion request and extracts the
// routing facts. It decodes only the members it needs.
func PeekChat(body []byte) (Request, error) {
	var req Request
	if err := validObject(body); err != nil {
		return req, err
	}
	var haveModel, haveMessages bool
	err := members(body, func(key, val []byte) error {
		switch string(key) {
		case "model":
			haveModel = true
			return peekModel(val, &req)
		case "stream":
			return peekStream(val, &req)
		case "user":
			setString(&req.User, val)
		case "prompt_cache_key":
			setString(&req.PromptCacheKey, val)
		case "stream_options":
			req.HasStreamOptions = true
			if v, ok := includeUsage(val); ok {
				req.IncludeUsage = v
			}
		case "messages":
			haveMessages = true
			if val[0] != '[' {
				return badRequest("messages", "'messages' must be an array")
			}
			return peekMessages(val, &req)
		case "tools":
			req.Tools = val[0] == '[' && !isEmptyArray(val)
		case "response_format":
			if typ, ok := formatType(val); ok {
				req.JSONMode = strEquals(typ, "json_object") || strEquals(typ, "json_schema")
			}
		}
		return nil
	})
	if err != nil {
		return req, err
	}
	switch {
	case !haveModel || req.Model == "":
		return req, badRequest("model", "you must provide a model parameter")
	case !haveMessages:
		return req, badRequest("messages", "'messages' is a required property")
	}
	return req, nil
}

// peekModel reads the "model" member: a string of at most MaxModelBytes.
func peekModel(val []byte, req *Request) error {
	if val[0] != '"' {
		return badRequest("model", "'model' must be a string")
	}
	if len(val) > 6*MaxModelBytes+2 { // too long even if every byte were a \u escape
		return badRequest("model", "'model' is longer than %d bytes", MaxModelBytes)
	}
	m, ok := decodeString(val)
	if !ok {
		return badRequest("model", "'model' must be a string")
	}
	if len(m) > MaxModelBytes {
		return badRequest("model", "'model' is longer than %d bytes", MaxModelBytes)
	}
	req.Model = m
	return nil
}

// peekStream reads the "stream" member: a boolean or null.
func peekStream(val []byte, req *Request) error {
	switch string(val) {
	case "true":
		req.Stream = true
	case "false", "null":
	default:
		return badRequest("stream", "'stream' must be a boolean")
	}
	return nil
}

// setString sets *dst to the string val; a value of another type leaves
// it as it was (these members are hints, not checked).
func setString(dst *string, val []byte) {
	if len(val) > 0 && val[0] == '"' {
		if s, ok := decodeString(val); ok {
			*dst = s
		}
	}
}

func validObject(body []byte) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return badRequest("", "We could not parse the JSON body of your request: the body is empty. (HINT: send a JSON object with model and messages.)")
	}
	if !Valid(body) {
		var raw json.RawMessage
		err := json.Unmarshal(body, &raw)
		msg := "invalid JSON"
		if err != nil {
			msg = err.Error()
		}
		return badRequest("", "We could not parse the JSON body of your request: %s", msg)
	}
	if !utf8.Valid(body) {
		return badRequest("", "We could not parse the JSON body of your request: it is not valid UTF-8")
	}
	if body[0] != '{' {
		return badRequest("", "The request body must be a JSON object")
	}
	return nil
}

func isEmptyArray(val []byte) bool {
	return len(bytes.TrimSpace(val[1:len(val)-1])) == 0
}

// errStop ends a members walk early without an error.
var errStop = errors.New("stop")

// members calls fn for every member of the top-level object in body, which
// must already be valid JSON. key is the raw key (unescaped when it has
// escapes); val is the raw value, trimmed.
func members(body []byte, fn func(key, val []byte) error) error {
	w := walker{buf: body}
	if !w.open('{') {
		return badRequest("", "The request body must be a JSON object")
	}
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return nil
		}
		key := k.raw
		if bytes.IndexByte(key, '\\') >= 0 {
			if d, ok := appendUnquoted(nil, key); ok {
				key = d
			}
		}
		val := w.value()
		if w.bad {
			return nil
		}
		if err := fn(key, val); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// memberSpan returns the byte range of the value of the top-level member
// key, or ok=false.
func memberSpan(body []byte, key string) (start, end int, ok bool) {
	_ = members(body, func(k, v []byte) error {
		if string(k) == key {
			start = cap(body) - cap(v)
			end = start + len(v)
			ok = true
			return errStop
		}
		return nil
	})
	return start, end, ok
}

// PromptPreview returns the first n characters of the last user message's
// text, for logs that were explicitly allowed to contain prompts. body must
// have passed PeekChat.
func PromptPreview(body []byte, n int) string {
	start, end, ok := memberSpan(body, "messages")
	if !ok {
		return ""
	}
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(body[start:end], &msgs) != nil {
		return ""
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != "user" {
			continue
		}
		var text string
		if json.Unmarshal(msgs[i].Content, &text) != nil {
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			_ = json.Unmarshal(msgs[i].Content, &parts)
			for _, p := range parts {
				if p.Type == "text" {
					text += p.Text
				}
			}
		}
		if r := []rune(text); len(r) > n {
			return string(r[:n]) + "…"
		}
		return text
	}
	return ""
}
