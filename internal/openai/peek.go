// Package openai holds the parts of the OpenAI wire format that Nexus needs:
// peeking at a chat request without decoding it whole, rewriting its model,
// the error envelope, usage extraction and server-sent-event parsing.
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Request is what the gateway needs to know about a chat completion request
// to route it. The body itself is forwarded as the client sent it.
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
	// EstimatedTokens approximates the prompt size: text bytes / 4.
	EstimatedTokens int
}

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
			if val[0] != '"' {
				return badRequest("model", "'model' must be a string")
			}
			if err := json.Unmarshal(val, &req.Model); err != nil {
				return badRequest("model", "'model' must be a string")
			}
		case "stream":
			switch string(val) {
			case "true":
				req.Stream = true
			case "false", "null":
			default:
				return badRequest("stream", "'stream' must be a boolean")
			}
		case "stream_options":
			req.HasStreamOptions = true
			var so struct {
				IncludeUsage bool `json:"include_usage"`
			}
			if val[0] == '{' && json.Unmarshal(val, &so) == nil {
				req.IncludeUsage = so.IncludeUsage
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
			var rf struct {
				Type string `json:"type"`
			}
			if val[0] == '{' && json.Unmarshal(val, &rf) == nil {
				req.JSONMode = rf.Type == "json_object" || rf.Type == "json_schema"
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

// peekMessages sets Vision and EstimatedTokens from the messages array.
func peekMessages(val []byte, req *Request) error {
	var msgs []struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(val, &msgs); err != nil {
		return badRequest("messages", "'messages' must be an array of message objects")
	}
	textBytes := 0
	for _, m := range msgs {
		c := bytes.TrimSpace(m.Content)
		if len(c) == 0 {
			continue
		}
		switch c[0] {
		case '"':
			textBytes += len(c) - 2
		case '[':
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			if json.Unmarshal(c, &parts) != nil {
				continue
			}
			for _, p := range parts {
				switch p.Type {
				case "image_url", "input_image":
					req.Vision = true
				default:
					textBytes += len(p.Text)
				}
			}
		}
	}
	req.EstimatedTokens = textBytes / 4
	return nil
}

func validObject(body []byte) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return badRequest("", "We could not parse the JSON body of your request: the body is empty. (HINT: send a JSON object with model and messages.)")
	}
	if !json.Valid(body) {
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
	s := scanner{buf: body}
	s.skipSpace()
	if !s.eat('{') {
		return badRequest("", "The request body must be a JSON object")
	}
	for {
		s.skipSpace()
		if s.eat('}') {
			return nil
		}
		if s.eat(',') {
			continue
		}
		ks := s.pos
		ke := s.skipString()
		key := body[ks+1 : ke-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if json.Unmarshal(body[ks:ke], &k) == nil {
				key = []byte(k)
			}
		}
		s.skipSpace()
		s.eat(':')
		s.skipSpace()
		vs := s.pos
		s.skipValue()
		if err := fn(key, body[vs:s.pos]); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
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

// scanner walks JSON that is known to be valid.
type scanner struct {
	buf []byte
	pos int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.pos < len(s.buf) && s.buf[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// skipString moves past the string starting at pos and returns the new pos.
func (s *scanner) skipString() int {
	s.pos++ // opening quote
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case '\\':
			s.pos += 2
			continue
		case '"':
			s.pos++
			return s.pos
		}
		s.pos++
	}
	return s.pos
}

func (s *scanner) skipValue() {
	if s.pos >= len(s.buf) {
		return
	}
	switch s.buf[s.pos] {
	case '"':
		s.skipString()
	case '{', '[':
		depth := 0
		for s.pos < len(s.buf) {
			switch s.buf[s.pos] {
			case '"':
				s.skipString()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.pos++
					return
				}
			}
			s.pos++
		}
	default: // number, true, false, null
		for s.pos < len(s.buf) {
			switch s.buf[s.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.pos++
		}
	}
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
