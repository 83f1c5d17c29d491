package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// validCases are documents at the edges of the JSON grammar; Valid must
// agree with json.Valid on every one.
var validCases = []string{
	``, ` `, `{}`, `[]`, ` { } `, `{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`,
	`[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[[]`, `[]]`, `{]`, `[}`, `"`, `"abc`, `"abc"`, `"a\"b"`, `"a\\"`, `"\/"`,
	`"\u00e9\uD83D\ude00"`, `"\u00g0"`, `"\u12"`, `"\x"`, `"\'"`, "\"\t\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"",
	`"0123456789abcdef\"0123456789abcdef"`, `"0123456789abcde\\"`, `"0123456789abcdefg\n"`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.25e-10`, `1.e5`, `+1`, `0x1`,
	`true`, `false`, `null`, `tru`, `truex`, `nul`, `NULL`, `True`, `true false`, `{} {}`, `{}x`, "\ufeff{}",
	"{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}\n", "\f{}", "{}\f", "\v1", `[1,[2,[3,[4]]]]`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 9999) + "[]" + strings.Repeat("}", 9999),
	strings.Repeat(`{"a":`, 10000) + "[]" + strings.Repeat("}", 10000),
	strings.Repeat(`[{"a":[`, 3000) + strings.Repeat(`]}]`, 3000),
}

func TestValid(t *testing.T) {
	t.Parallel()
	for _, c := range validCases {
		name := c
		if len(name) > 40 {
			name = name[:40]
		}
		assert.Equal(t, json.Valid([]byte(c)), Valid([]byte(c)), "%q", name)
	}
	assert.True(t, Valid([]byte(benchSmallChat)))
	assert.True(t, Valid(benchLargeChat(100<<10)))
}

func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Add([]byte(benchSmallChat))
	f.Add([]byte(benchChunk(3)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}
