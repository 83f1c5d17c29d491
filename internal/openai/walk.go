package openai

import (
	"bytes"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// walker reads JSON one value at a time without decoding it. It does not
// validate: on malformed input it sets bad and stops moving, but it never
// panics, never reads outside buf and every successful step consumes at
// least one byte, so it is safe on any input. Callers that need validity
// check it first (json.Valid) or accept a best-effort answer.
type walker struct {
	buf  []byte
	pos  int
	bad  bool
	next int // 1 + pos where more last reported a next value
}

// peek skips white space and returns the next byte, 0 at the end.
func (w *walker) peek() byte {
	for w.pos < len(w.buf) {
		switch c := w.buf[w.pos]; c {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return c
		}
	}
	return 0
}

// str moves past the string that starts at pos (a '"') and returns its
// span, quotes included.
func (w *walker) str() (start, end int) {
	start = w.pos
	// Most strings are short: a plain loop, then a fast search.
	buf := w.buf[:min(start+32, len(w.buf))]
	i := start + 1
	for ; i < len(buf); i++ {
		if c := buf[i]; c == '"' {
			w.pos = i + 1
			return start, w.pos
		} else if c == '\\' {
			i++
		}
	}
	for i <= len(w.buf) {
		j := bytes.IndexByte(w.buf[i:], '"')
		if j < 0 {
			break
		}
		q := i + j
		// The quote ends the string unless an odd number of backslashes
		// precede it. The opening quote bounds the walk back.
		n := 0
		for k := q - 1; w.buf[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			w.pos = q + 1
			return start, w.pos
		}
		i = q + 1
	}
	w.pos, w.bad = len(w.buf), true
	return start, w.pos
}

// value moves past the value at pos and returns its span.
func (w *walker) value() []byte {
	if w.bad {
		return nil
	}
	c := w.peek()
	start := w.pos
	switch c {
	case 0:
		w.bad = true
	case '"':
		w.str()
	case '{', '[':
		w.container()
	default: // number, true, false, null
		for w.pos < len(w.buf) {
			switch w.buf[w.pos] {
			case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
				if w.pos == start {
					w.bad = true
				}
				return w.buf[start:w.pos]
			}
			w.pos++
		}
	}
	return w.buf[start:w.pos]
}

// container moves past the object or array at pos.
func (w *walker) container() {
	depth := 0
	for w.pos < len(w.buf) {
		switch w.buf[w.pos] {
		case '"':
			w.str()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				w.pos++
				return
			}
		}
		w.pos++
	}
	w.bad = true
}

// open consumes c ('{' or '[') when it is the next byte.
func (w *walker) open(c byte) bool {
	if w.bad || w.peek() != c {
		return false
	}
	w.pos++
	return true
}

// more reports whether the object or array being read (closed by end) has
// another member or element, consuming the comma before it or the closing
// byte.
func (w *walker) more(end byte) bool {
	if w.bad {
		return false
	}
	switch w.peek() {
	case end:
		w.pos++
		return false
	case 0:
		w.bad = true
		return false
	case ',':
		w.pos++
	default:
		if w.next == w.pos+1 {
			// The value more announced was not consumed: a bug in a
			// caller, which must not turn into an endless loop.
			w.bad = true
			return false
		}
	}
	w.next = w.pos + 1
	return true
}

// name is a member name as written, without its quotes.
type name struct {
	raw   []byte
	plain bool // ASCII without escapes: raw is the name
}

// key reads a member name and the colon after it.
func (w *walker) key() (name, bool) {
	if w.peek() != '"' {
		w.bad = true
		return name{}, false
	}
	s, e := w.str()
	if w.bad || w.peek() != ':' {
		w.bad = true
		return name{}, false
	}
	w.pos++
	raw := w.buf[s+1 : e-1]
	return name{raw: raw, plain: !needsDecode(raw)}, true
}

// is reports whether the name matches field the way encoding/json matches
// a struct field: after unescaping, equal under Unicode case folding.
// field must be lower-case ASCII letters, digits and underscores.
func (n name) is(field string) bool {
	k := n.raw
	if n.plain {
		if len(k) != len(field) {
			return false
		}
		for i := 0; i < len(k); i++ {
			if c, f := k[i], field[i]; c != f && !('a' <= f && f <= 'z' && c|0x20 == f) {
				return false
			}
		}
		return true
	}
	return keyIs(k, field)
}

// exact reports whether the name is field after unescaping (a
// case-sensitive match).
func (n name) exact(field string) bool {
	if n.plain {
		return string(n.raw) == field
	}
	var tmp [64]byte
	d, ok := appendUnquoted(tmp[:0], n.raw)
	return ok && string(d) == field
}

// keyIs is name.is for a name as written, plain or not.
func keyIs(k []byte, field string) bool {
	if !needsDecode(k) {
		return name{raw: k, plain: true}.is(field)
	}
	var tmp [64]byte
	d, ok := appendUnquoted(tmp[:0], k)
	return ok && bytes.EqualFold(d, []byte(field))
}

// keyExact is name.exact for a name as written.
func keyExact(k []byte, field string) bool {
	return name{raw: k, plain: !needsDecode(k)}.exact(field)
}

// needsDecode reports whether s has escapes or non-ASCII bytes.
func needsDecode(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// isNull reports whether the value span v is the literal null.
func isNull(v []byte) bool { return string(v) == "null" }

// strEquals reports whether the JSON string span v (quotes included)
// decodes to s.
func strEquals(v []byte, s string) bool {
	if len(v) < 2 || v[0] != '"' {
		return false
	}
	raw := v[1 : len(v)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw) == s
	}
	var tmp [64]byte
	d, ok := appendUnquoted(tmp[:0], raw)
	return ok && string(d) == s
}

// decodedLen returns the length in bytes of the JSON string content raw
// (without quotes) once decoded as encoding/json decodes it, or -1 when it
// is malformed.
func decodedLen(raw []byte) int {
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return len(raw)
	}
	_, n, ok := unquote(nil, raw, false)
	if !ok {
		return -1
	}
	return n
}

// appendUnquoted appends the decoded JSON string content raw (without
// quotes) to dst.
func appendUnquoted(dst, raw []byte) ([]byte, bool) {
	out, _, ok := unquote(dst, raw, true)
	return out, ok
}

// unquote decodes the JSON string content raw exactly as encoding/json
// does: standard escapes, \u escapes with surrogate pairs, and U+FFFD for
// lone surrogates and invalid UTF-8. It appends to dst when build is set
// and always returns the decoded length.
func unquote(dst, raw []byte, build bool) ([]byte, int, bool) {
	n := 0
	emit := func(r rune) {
		if build {
			dst = utf8.AppendRune(dst, r)
		}
		n += utf8.RuneLen(r)
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			if i+1 >= len(raw) {
				return dst, n, false
			}
			switch e := raw[i+1]; e {
			case '"', '\\', '/', '\'':
				emit(rune(e))
			case 'b':
				emit('\b')
			case 'f':
				emit('\f')
			case 'n':
				emit('\n')
			case 'r':
				emit('\r')
			case 't':
				emit('\t')
			case 'u':
				r := hex4(raw[i:])
				if r < 0 {
					return dst, n, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if d := utf16.DecodeRune(r, hex4(raw[i:])); d != unicode.ReplacementChar {
						emit(d)
						i += 6
						continue
					}
					r = unicode.ReplacementChar
				}
				emit(r)
				continue
			default:
				return dst, n, false
			}
			i += 2
		case c == '"' || c < ' ':
			return dst, n, false
		case c < utf8.RuneSelf:
			if build {
				dst = append(dst, c)
			}
			n++
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			emit(r)
			i += size
		}
	}
	return dst, n, true
}

// hex4 decodes the escape \uXXXX at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
