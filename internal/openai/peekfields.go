package openai

import (
	"bytes"
	"unicode/utf8"
)

// The readers below walk parts of a request that PeekChat has validated,
// without decoding them. Each gives exactly the answer of the
// json.Unmarshal call it replaced: member names match case-insensitively,
// the last of repeated members wins, null leaves a string or bool field as
// it was, and a value of the wrong JSON type fails the whole decode.

// peekMessages sets Vision and EstimatedTokens from the messages array
// val: the raw length of string contents plus the decoded length of "text"
// content parts, and whether a part is an image. Every element must be an
// object or null.
func peekMessages(val []byte, req *Request) error {
	w := walker{buf: val}
	w.open('[')
	text, vision := 0, false
	for w.more(']') {
		var content []byte
		switch w.peek() {
		case '{':
			w.pos++
			for w.more('}') {
				k, ok := w.key()
				if !ok {
					break
				}
				v := w.value()
				if k.is("content") {
					content = v
				}
			}
		case 'n':
			w.value()
		default:
			return badRequest("messages", "'messages' must be an array of message objects")
		}
		if len(content) == 0 {
			continue
		}
		switch content[0] {
		case '"':
			text += len(content) - 2
		case '[':
			if n, image, ok := peekParts(content); ok {
				text += n
				vision = vision || image
			}
		}
	}
	req.EstimatedTokens = text / 4
	if vision {
		req.Vision = true
	}
	return nil
}

// peekParts reads a content-part array as []struct{Type, Text string}: the
// decoded text length of the parts that are not images, and whether one
// is an image. ok is false when that decode would fail.
func peekParts(arr []byte) (text int, image, ok bool) {
	w := walker{buf: arr}
	w.open('[')
	for w.more(']') {
		switch w.peek() {
		case '{':
			w.pos++
			var typ, txt []byte
			for w.more('}') {
				k, ok := w.key()
				if !ok {
					return 0, false, false
				}
				v := w.value()
				isType := k.is("type")
				if !isType && !k.is("text") {
					continue
				}
				switch {
				case len(v) == 0:
					return 0, false, false
				case isNull(v):
				case v[0] != '"':
					return 0, false, false
				case isType:
					typ = v
				default:
					txt = v
				}
			}
			switch {
			case strEquals(typ, "image_url") || strEquals(typ, "input_image"):
				image = true
			case len(txt) >= 2:
				text += max(decodedLen(txt[1:len(txt)-1]), 0)
			}
		case 'n':
			w.value()
		default:
			return 0, false, false
		}
	}
	return text, image, !w.bad
}

// includeUsage reads stream_options.include_usage; ok is false when val is
// not an object or include_usage is not a boolean or null.
func includeUsage(val []byte) (v, ok bool) {
	w := walker{buf: val}
	if !w.open('{') {
		return false, false
	}
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return false, false
		}
		x := w.value()
		if !k.is("include_usage") {
			continue
		}
		switch string(x) {
		case "true":
			v = true
		case "false":
			v = false
		case "null":
		default:
			return false, false
		}
	}
	return v, !w.bad
}

// formatType returns the span of response_format.type (nil when absent or
// null); ok is false when val is not an object or type is not a string or
// null.
func formatType(val []byte) (typ []byte, ok bool) {
	w := walker{buf: val}
	if !w.open('{') {
		return nil, false
	}
	for w.more('}') {
		k, ok := w.key()
		if !ok {
			return nil, false
		}
		x := w.value()
		if !k.is("type") || isNull(x) {
			continue
		}
		if len(x) == 0 || x[0] != '"' {
			return nil, false
		}
		typ = x
	}
	return typ, !w.bad
}

// decodeString decodes the JSON string span v (quotes included).
func decodeString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw), true
	}
	d, ok := appendUnquoted(make([]byte, 0, len(raw)), raw)
	return string(d), ok
}
