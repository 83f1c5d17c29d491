package limits

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		kind    globKind
		yes     []string
		no      []string
	}{
		{"qwen2.5:7b", globExact, []string{"qwen2.5:7b"}, []string{"qwen2.5:7", "qwen2.5:7b-q4", "Qwen2.5:7b", ""}},
		{"*", globAny, []string{"", "x", "meta-llama/Llama-3-8B"}, nil},
		{"llama3*", globPrefix, []string{"llama3", "llama3:8b", "llama3.1/instruct"}, []string{"llama2", "llama", "xllama3"}},
		{"*:7b", globSuffix, []string{":7b", "qwen2.5:7b"}, []string{"qwen2.5:7b-q4", "7b"}},
		{"meta-llama/*", globPrefix, []string{"meta-llama/Llama-3-8B"}, []string{"meta-llama"}},
		{"llama3?", globGeneral, []string{"llama31", "llama3é"}, []string{"llama3", "llama312"}},
		{"*llama*", globGeneral, []string{"llama", "meta-llama/x", "codellama"}, []string{"lama", "LLAMA"}},
		{"qwen*:*b", globGeneral, []string{"qwen2.5:7b", "qwen:b", "qwen3:30b"}, []string{"qwen2.5:7", "qwen7b"}},
		{"a*b*c", globGeneral, []string{"abc", "aXbYc", "abbbc", "acbc"}, []string{"ab", "acb", "abcd"}},
		{"**", globGeneral, []string{"", "anything"}, nil},
		{"?", globGeneral, []string{"a", "é", "日"}, []string{"", "ab"}},
	}
	for _, tc := range tests {
		g, err := compileGlob(tc.pattern)
		require.NoError(t, err, tc.pattern)
		assert.Equal(t, tc.kind, g.kind, tc.pattern)
		for _, s := range tc.yes {
			assert.True(t, g.match(s), "%q should match %q", tc.pattern, s)
			assert.True(t, matchGlob(tc.pattern, s), "general: %q should match %q", tc.pattern, s)
		}
		for _, s := range tc.no {
			assert.False(t, g.match(s), "%q should not match %q", tc.pattern, s)
			assert.False(t, matchGlob(tc.pattern, s), "general: %q should not match %q", tc.pattern, s)
		}
	}
	_, err := compileGlob("")
	assert.ErrorIs(t, err, errEmptyPattern)
}

// globRegexp is the reference semantics of a pattern: '*' is (?s).*, '?' is
// one rune, everything else literal.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// FuzzGlob checks the compiled matcher against the regular expression of the
// same pattern. The corpus in testdata/fuzz/FuzzGlob runs as a normal test.
func FuzzGlob(f *testing.F) {
	f.Add("llama3*", "llama3:8b")
	f.Add("a*b?c", "axxbyc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if pattern == "" || !utf8.ValidString(pattern) || !utf8.ValidString(s) || len(pattern) > 64 || len(s) > 256 {
			t.Skip()
		}
		g, err := compileGlob(pattern)
		require.NoError(t, err)
		want := globRegexp(pattern).MatchString(s)
		assert.Equal(t, want, g.match(s), "pattern %q, model %q", pattern, s)
		assert.Equal(t, want, matchGlob(pattern, s), "general matcher: pattern %q, model %q", pattern, s)
	})
}
