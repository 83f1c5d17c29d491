package openai

import "encoding/binary"

// maxDepth is encoding/json's nesting limit: deeper documents are invalid.
const maxDepth = 10000

// Valid reports whether data is one valid JSON value, with exactly the
// answer of json.Valid (the same grammar, bytes of any value inside
// strings, the same nesting limit), several times faster: strings, which
// are most of a chat request, are checked eight bytes at a time.
func Valid(data []byte) bool {
	var inline [64]byte
	stack := inline[:0] // '{' or '[' for each open container
	const (
		wantValue = iota
		wantKey
		afterValue
	)
	state := wantValue
	i, n := 0, len(data)
	for {
		i = skipWhite(data, i)
		switch state {
		case wantKey:
			if i >= n || data[i] != '"' {
				return false
			}
			var ok bool
			if i, ok = validString(data, i); !ok {
				return false
			}
			i = skipWhite(data, i)
			if i >= n || data[i] != ':' {
				return false
			}
			i++
			state = wantValue
		case wantValue:
			if i >= n {
				return false
			}
			switch c := data[i]; c {
			case '{', '[':
				if len(stack) >= maxDepth {
					return false
				}
				stack = append(stack, c)
				i = skipWhite(data, i+1)
				switch {
				case i < n && c == '{' && data[i] == '}', i < n && c == '[' && data[i] == ']':
					stack = stack[:len(stack)-1]
					i++
					state = afterValue
				case c == '{':
					state = wantKey
				}
			case '"':
				var ok bool
				if i, ok = validString(data, i); !ok {
					return false
				}
				state = afterValue
			case 't':
				if !hasPrefix(data[i:], "true") {
					return false
				}
				i += 4
				state = afterValue
			case 'f':
				if !hasPrefix(data[i:], "false") {
					return false
				}
				i += 5
				state = afterValue
			case 'n':
				if !hasPrefix(data[i:], "null") {
					return false
				}
				i += 4
				state = afterValue
			default:
				var ok bool
				if i, ok = validNumber(data, i); !ok {
					return false
				}
				state = afterValue
			}
		case afterValue:
			if len(stack) == 0 {
				return i == n
			}
			if i >= n {
				return false
			}
			top := stack[len(stack)-1]
			switch c := data[i]; {
			case c == ',':
				i++
				state = wantValue
				if top == '{' {
					state = wantKey
				}
			case c == '}' && top == '{', c == ']' && top == '[':
				i++
				stack = stack[:len(stack)-1]
			default:
				return false
			}
		}
	}
}

func skipWhite(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// Masks for testing the eight bytes of a word at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainWord reports whether none of the eight bytes of x ends or escapes
// a string or is a control character: no '"', '\\' or byte below 0x20.
func plainWord(x uint64) bool {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((x-ones*0x20)&^x|(q-ones)&^q|(b-ones)&^b)&highs == 0
}

// validString checks the string that starts at data[i] (a '"') and
// returns the index after it.
func validString(data []byte, i int) (int, bool) {
	i++
	n := len(data)
	for {
		for i+8 <= n && plainWord(binary.LittleEndian.Uint64(data[i:])) {
			i += 8
		}
		if i >= n {
			return i, false
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= n {
				return i, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > n {
					return i, false
				}
				for _, h := range data[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return i, false
					}
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
}

// validNumber checks the number that starts at data[i] and returns the
// index after it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(data []byte, i int) (int, bool) {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	switch {
	case i < n && data[i] == '0':
		i++
	case i < n && '1' <= data[i] && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return i, false
	}
	if i < n && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}
