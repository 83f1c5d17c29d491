package openai

import (
	"encoding/json"
)

// WithModel returns body with the top-level "model" value replaced by model
// (every occurrence, should the client have sent the key twice). Every other
// byte is kept as the client sent it. body must have passed PeekChat. When
// nothing changes, body itself is returned.
func WithModel(body []byte, model string) []byte {
	var quoted []byte
	plain := plainString(model)
	if !plain {
		quoted, _ = json.Marshal(model)
	}
	// same reports whether a model value is already the JSON encoding of
	// model, byte for byte.
	same := func(v []byte) bool {
		if plain {
			return len(v) == len(model)+2 && v[0] == '"' && v[len(v)-1] == '"' && string(v[1:len(v)-1]) == model
		}
		return string(v) == string(quoted)
	}
	var first [2][2]int
	spans := first[:0]
	_ = members(body, func(k, v []byte) error {
		if string(k) == "model" && !same(v) {
			start := cap(body) - cap(v)
			spans = append(spans, [2]int{start, start + len(v)})
		}
		return nil
	})
	if len(spans) == 0 {
		return body
	}
	n := len(model) + 2
	if !plain {
		n = len(quoted)
	}
	out := make([]byte, 0, len(body)+n*len(spans))
	prev := 0
	for _, sp := range spans {
		out = append(out, body[prev:sp[0]]...)
		if plain {
			out = append(append(append(out, '"'), model...), '"')
		} else {
			out = append(out, quoted...)
		}
		prev = sp[1]
	}
	return append(out, body[prev:]...)
}

// plainString reports whether json.Marshal encodes s as s between quotes:
// printable ASCII without quotes, backslashes or the characters it escapes
// for HTML (<, > and &).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// WithIncludeUsage returns body with "stream_options":{"include_usage":true}
// added as its first member, so that a streaming backend reports token usage.
// It returns body unchanged when the body already has stream_options.
func WithIncludeUsage(body []byte) []byte {
	if _, _, ok := memberSpan(body, "stream_options"); ok {
		return body
	}
	w := walker{buf: body}
	if !w.open('{') {
		return body
	}
	const member = `"stream_options":{"include_usage":true}`
	open := w.pos
	empty := w.peek() == '}'
	out := make([]byte, 0, len(body)+len(member)+1)
	out = append(out, body[:open]...)
	out = append(out, member...)
	if !empty {
		out = append(out, ',')
	}
	return append(out, body[open:]...)
}
