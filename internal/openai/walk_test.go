package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// stringCases are JSON string contents (without quotes) for the decoding
// helpers: escapes, surrogates, invalid UTF-8.
var stringCases = []string{
	``, `abc`, `a\"b`, `\\`, `\/\b\f\n\r\t`, `\u00e9`, `\u00E9x`, `\ud83d\ude00`, `\ud800`, `\ud800\u0041`,
	`\udc00\ud800`, `\ud83d\ude00\ud83d`, `é`, "\xff", "a\xc3", `\u0000`, `\u2028`, `\'`, `\x`, `\u12`, `\`,
	`choice\u017f`, `USAGE`, `usage`, `us\u0061ge`, "conten\u212a", `total_tokens`, `\u0074otal_tokens`,
}

func TestDecodedLen(t *testing.T) {
	t.Parallel()
	for _, raw := range stringCases {
		var s string
		err := json.Unmarshal([]byte(`"`+raw+`"`), &s)
		got := decodedLen([]byte(raw))
		if err != nil {
			continue // not valid JSON: any answer, but no panic
		}
		assert.Equal(t, len(s), got, raw)
		d, ok := appendUnquoted(nil, []byte(raw))
		assert.True(t, ok, raw)
		assert.Equal(t, s, string(d), raw)
		assert.Equal(t, s, mustDecode(t, raw), raw)
	}
}

func mustDecode(t *testing.T, raw string) string {
	t.Helper()
	s, ok := decodeString([]byte(`"` + raw + `"`))
	assert.True(t, ok, raw)
	return s
}

func TestKeyIs(t *testing.T) {
	t.Parallel()
	fields := []string{"choices", "usage", "content", "total_tokens", "a"}
	for _, raw := range append(stringCases, `Choices`, `CHOICES`, `choices`, `choice`, `choicesx`, `Content`, `A`, `b`) {
		for _, f := range fields {
			var s string
			want := json.Unmarshal([]byte(`"`+raw+`"`), &s) == nil && bytes.EqualFold([]byte(s), []byte(f))
			assert.Equal(t, want, keyIs([]byte(raw), f), "%s vs %s", raw, f)
			wantExact := json.Unmarshal([]byte(`"`+raw+`"`), &s) == nil && s == f
			assert.Equal(t, wantExact, keyExact([]byte(raw), f), "%s vs %s", raw, f)
		}
	}
}

func TestParseInt(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-0", "7", "-7", "123456789", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "99999999999999999999", "1.0", "1e3", "", "-", "+1", "0x1", "1_000"} {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseInt([]byte(s))
		if s == "+1" || s == "1_000" {
			// Not JSON numbers: refused, where ParseInt is lenient.
			assert.False(t, ok, s)
			continue
		}
		assert.Equal(t, err == nil, ok, s)
		if ok {
			assert.Equal(t, want, got, s)
		}
	}
}

func TestWalkerSkipsValues(t *testing.T) {
	t.Parallel()
	for _, v := range []string{`"a\"b\\"`, `{"a":[1,{"b":"}"}],"c":null}`, `[[],{},"]"]`, `-1.5e3`, `true`, `null`} {
		w := walker{buf: []byte(" " + v + " ,")}
		assert.Equal(t, v, string(w.value()))
		assert.False(t, w.bad)
		assert.Equal(t, byte(','), w.peek())
	}
	for _, v := range []string{`"abc`, `{"a":1`, `[`, ``, `,`} {
		w := walker{buf: []byte(v)}
		w.value()
		assert.True(t, w.bad, v)
	}
}

func FuzzStringHelpers(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s, "usage")
	}
	f.Fuzz(func(t *testing.T, raw, field string) {
		var s string
		err := json.Unmarshal([]byte(`"`+raw+`"`), &s)
		n := decodedLen([]byte(raw))
		if err == nil && n != len(s) {
			t.Fatalf("decodedLen(%q) = %d, want %d", raw, n, len(s))
		}
		if err == nil {
			if d, ok := appendUnquoted(nil, []byte(raw)); !ok || string(d) != s {
				t.Fatalf("appendUnquoted(%q) = %q %v, want %q", raw, d, ok, s)
			}
		}
		lower := true
		for i := 0; i < len(field); i++ {
			if c := field[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
				lower = false
			}
		}
		if err == nil && lower {
			want := bytes.EqualFold([]byte(s), []byte(field))
			if got := keyIs([]byte(raw), field); got != want {
				t.Fatalf("keyIs(%q, %q) = %v, want %v", raw, field, got, want)
			}
		}
		if v, err := strconv.ParseInt(raw, 10, 64); err == nil && json.Valid([]byte(raw)) {
			if got, ok := parseInt([]byte(raw)); !ok || got != v {
				t.Fatalf("parseInt(%q) = %d %v, want %d", raw, got, ok, v)
			}
		}
		// The walker survives anything.
		w := walker{buf: []byte(raw)}
		for w.more('}') && !w.bad {
			w.key()
			w.value()
		}
	})
}
