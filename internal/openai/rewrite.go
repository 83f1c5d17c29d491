package openai

import (
	"encoding/json"
)

// WithModel returns body with the top-level "model" value replaced by model
// (every occurrence, should the client have sent the key twice). Every other
// byte is kept as the client sent it. body must have passed PeekChat. When
// nothing changes, body itself is returned.
func WithModel(body []byte, model string) []byte {
	quoted, _ := json.Marshal(model)
	var spans [][2]int
	_ = members(body, func(k, v []byte) error {
		if string(k) == "model" && string(v) != string(quoted) {
			start := cap(body) - cap(v)
			spans = append(spans, [2]int{start, start + len(v)})
		}
		return nil
	})
	if len(spans) == 0 {
		return body
	}
	out := make([]byte, 0, len(body)+len(quoted)*len(spans))
	prev := 0
	for _, sp := range spans {
		out = append(out, body[prev:sp[0]]...)
		out = append(out, quoted...)
		prev = sp[1]
	}
	return append(out, body[prev:]...)
}

// WithIncludeUsage returns body with "stream_options":{"include_usage":true}
// added as its first member, so that a streaming backend reports token usage.
// It returns body unchanged when the body already has stream_options.
func WithIncludeUsage(body []byte) []byte {
	if _, _, ok := memberSpan(body, "stream_options"); ok {
		return body
	}
	s := scanner{buf: body}
	s.skipSpace()
	if !s.eat('{') {
		return body
	}
	const member = `"stream_options":{"include_usage":true}`
	open := s.pos
	s.skipSpace()
	empty := s.pos < len(body) && body[s.pos] == '}'
	out := make([]byte, 0, len(body)+len(member)+1)
	out = append(out, body[:open]...)
	out = append(out, member...)
	if !empty {
		out = append(out, ',')
	}
	return append(out, body[open:]...)
}
