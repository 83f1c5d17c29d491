package openai

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkCases are stream chunks for the paths of the chunk walk, with what
// InspectChunk must say about them.
var chunkCases = []struct {
	name string
	data string
	want ChunkInfo
	ok   bool
}{
	{"content", `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`,
		ChunkInfo{Content: true}, true},
	{"role only", `{"choices":[{"delta":{"role":"assistant","content":""}}]}`, ChunkInfo{}, true},
	{"null content", `{"choices":[{"delta":{"content":null}}]}`, ChunkInfo{}, true},
	{"refusal", `{"choices":[{"delta":{"refusal":"no"}}]}`, ChunkInfo{Content: true}, true},
	{"tool calls", `{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}`, ChunkInfo{Content: true}, true},
	{"empty tool calls count", `{"choices":[{"delta":{"tool_calls":[]}}]}`, ChunkInfo{Content: true}, true},
	{"null tool calls", `{"choices":[{"delta":{"tool_calls":null}}]}`, ChunkInfo{}, true},
	{"reasoning content", `{"choices":[{"delta":{"reasoning_content":"hmm"}}]}`, ChunkInfo{Content: true}, true},
	{"reasoning", `{"choices":[{"delta":{"reasoning":"hmm","content":null,"reasoning_content":null}}]}`, ChunkInfo{Content: true}, true},
	{"empty reasoning", `{"choices":[{"delta":{"reasoning_content":""}}]}`, ChunkInfo{}, true},
	{"reasoning object is not content", `{"choices":[{"delta":{"reasoning":{"text":"x"}}}]}`, ChunkInfo{}, true},
	{"completions text", `{"choices":[{"text":"x","finish_reason":null}]}`, ChunkInfo{Content: true}, true},
	{"finish", `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, ChunkInfo{Finished: true}, true},
	{"empty finish", `{"choices":[{"delta":{},"finish_reason":""}]}`, ChunkInfo{}, true},
	{"second choice", `{"choices":[{"delta":{}},{"delta":{"content":"b"},"finish_reason":"length"}]}`, ChunkInfo{Content: true, Finished: true}, true},
	{"null choice", `{"choices":[null]}`, ChunkInfo{}, true},
	{"usage only", `{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`,
		ChunkInfo{UsageOnly: true, Usage: Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}, HasUsage: true}, true},
	{"usage without choices", `{"usage":{"prompt_tokens":1}}`, ChunkInfo{UsageOnly: true, Usage: Usage{PromptTokens: 1}, HasUsage: true}, true},
	{"usage with content", `{"choices":[{"delta":{"content":"x"}}],"usage":{"total_tokens":-4}}`,
		ChunkInfo{Content: true, Usage: Usage{TotalTokens: -4}, HasUsage: true}, true},
	{"null usage", `{"choices":[],"usage":null}`, ChunkInfo{}, true},
	{"usage not an object", `{"choices":[],"usage":"lots"}`, ChunkInfo{UsageOnly: true}, true},
	{"fractional usage", `{"choices":[],"usage":{"prompt_tokens":1.5}}`, ChunkInfo{UsageOnly: true}, true},
	{"exponent usage", `{"choices":[],"usage":{"prompt_tokens":1e2}}`, ChunkInfo{UsageOnly: true}, true},
	{"quoted usage", `{"choices":[],"usage":{"prompt_tokens":"1"}}`, ChunkInfo{UsageOnly: true}, true},
	{"overflowing usage", `{"choices":[],"usage":{"prompt_tokens":9223372036854775808}}`, ChunkInfo{UsageOnly: true}, true},
	{"largest usage", `{"choices":[],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":-9223372036854775808}}`,
		ChunkInfo{UsageOnly: true, Usage: Usage{PromptTokens: 9223372036854775807, CompletionTokens: -9223372036854775808}, HasUsage: true}, true},
	{"usage null counts and others", `{"choices":[],"usage":{"prompt_tokens":null,"total_tokens":5,"details":{"x":[1]},"total_tokens":6}}`,
		ChunkInfo{UsageOnly: true, Usage: Usage{TotalTokens: 6}, HasUsage: true}, true},
	{"usage names in other case", `{"choices":[],"usage":{"Prompt_Tokens":2,"TOTAL_TOKENS":3}}`,
		ChunkInfo{UsageOnly: true, Usage: Usage{PromptTokens: 2, TotalTokens: 3}, HasUsage: true}, true},
	// ParseUsage matched "usage" exactly; the chunk decode in any case.
	{"usage in upper case", `{"choices":[],"USAGE":{"prompt_tokens":2}}`, ChunkInfo{UsageOnly: true}, true},
	{"escaped usage name", `{"choices":[],"us\u0061ge":{"prompt_tokens":2}}`, ChunkInfo{UsageOnly: true}, true},
	{"escaped usage name and the word", `{"choices":[],"us\u0061ge":{"prompt_tokens":2},"x":"usage"}`,
		ChunkInfo{UsageOnly: true, Usage: Usage{PromptTokens: 2}, HasUsage: true}, true},
	{"first usage wins for counts", `{"usage":{"prompt_tokens":2},"usage":null}`, ChunkInfo{Usage: Usage{PromptTokens: 2}, HasUsage: true}, true},
	{"error", `{"error":{"message":"overloaded"}}`, ChunkInfo{Error: true}, true},
	{"null error", `{"error":null,"choices":[{"delta":{"content":"a"}}]}`, ChunkInfo{Content: true}, true},
	{"names in other case", `{"Choices":[{"DELTA":{"Content":"a"},"Finish_Reason":"stop"}],"ERROR":{}}`,
		ChunkInfo{Content: true, Finished: true, Error: true}, true},
	{"escaped names", `{"ch\u006fices":[{"delta":{"c\u006fntent":"a"}}]}`, ChunkInfo{Content: true}, true},
	{"folded names", `{"choiceſ":[{"delta":{"content":"a"}}]}`, ChunkInfo{Content: true}, true},
	{"deltas merge", `{"choices":[{"delta":{"content":"a"},"delta":{"role":"x"}}]}`, ChunkInfo{Content: true}, true},
	{"null delta keeps", `{"choices":[{"delta":{"content":"a"},"delta":null}]}`, ChunkInfo{Content: true}, true},
	{"last content wins", `{"choices":[{"delta":{"content":"a","content":null}}]}`, ChunkInfo{}, true},
	{"escaped content", `{"choices":[{"delta":{"content":"\n"}}]}`, ChunkInfo{Content: true}, true},
	{"nested decoys", `{"x":{"choices":[{"delta":{"content":"a"}}],"usage":{}},"error_detail":"usage"}`, ChunkInfo{}, true},
	{"null choices", `{"choices":null,"usage":{}}`, ChunkInfo{UsageOnly: true, HasUsage: true}, true},
	// The decoder refused chunks with fields of the wrong type.
	{"choices object", `{"choices":{"delta":{}}}`, ChunkInfo{}, false},
	{"choices string", `{"choices":"x"}`, ChunkInfo{}, false},
	{"choice number", `{"choices":[1]}`, ChunkInfo{}, false},
	{"delta array", `{"choices":[{"delta":[]}]}`, ChunkInfo{}, false},
	{"content number", `{"choices":[{"delta":{"content":5}}]}`, ChunkInfo{}, false},
	{"finish number", `{"choices":[{"finish_reason":1}]}`, ChunkInfo{}, false},
	{"text bool", `{"choices":[{"text":true}]}`, ChunkInfo{}, false},
	{"wrong type keeps usage", `{"choices":5,"usage":{"prompt_tokens":3}}`, ChunkInfo{Usage: Usage{PromptTokens: 3}, HasUsage: true}, false},
	{"not an object", `[1]`, ChunkInfo{}, false},
	{"leading space", ` {}`, ChunkInfo{}, false},
	{"empty", ``, ChunkInfo{}, false},
	{"not JSON", `hello`, ChunkInfo{}, false},
}

func TestInspectChunk(t *testing.T) {
	t.Parallel()
	for _, tt := range chunkCases {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			got, ok := InspectChunk(data)
			if json.Valid(data) {
				require.Equal(t, tt.ok, ok)
				assert.Equal(t, tt.want, got)
				sgot, sok := ScanChunk(data)
				assert.Equal(t, tt.ok, sok, "ScanChunk")
				assert.Equal(t, tt.want, sgot, "ScanChunk")
			} else {
				assert.False(t, ok)
			}
			// The flags agree with the reflective decoder, the usage with
			// what ParseUsage always returned.
			want, wantOK := refInspectChunk(data)
			assert.Equal(t, wantOK, ok)
			assert.Equal(t, want, ChunkInfo{Content: got.Content, Finished: got.Finished, UsageOnly: got.UsageOnly, Error: got.Error})
			if json.Valid(data) {
				u, hasUsage := refParseUsage(data)
				assert.Equal(t, hasUsage, got.HasUsage)
				assert.Equal(t, u, got.Usage)
				pu, pok := ParseUsage(data)
				assert.Equal(t, hasUsage, pok)
				assert.Equal(t, u, pu)
			}
		})
	}
}

func TestScanChunkMalformed(t *testing.T) {
	t.Parallel()
	// Later events are not validated: the walk must survive anything.
	for _, data := range []string{
		`{"usage"`, `{"usage":`, `{"usage":{`, `{"usage":{"prompt_tokens":1`, `{"usage":{"prompt_tokens":12x}}`,
		`{"choices":[{"delta":{"content":"a"`, `{"choices":[{"delta":{"content":"a\"}}]}`, `{"choices":[`,
		`{"a":"\`, `{"a"x}`, `{,,,}`, `{"a":1 "b":2}`, `{]`, `{"a":}`, `{"a":tru"e"}`, `{"choices":[1 2 3]}`,
		`{"choices":[{"delta":{"content":"x"}}]} trailing`, "{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}",
	} {
		assert.NotPanics(t, func() {
			info, _ := ScanChunk([]byte(data))
			_ = info
			ParseUsage([]byte(data))
			InspectReply([]byte(data))
		}, data)
	}
	info, ok := ScanChunk([]byte(`{"choices":[{"delta":{"content":"x"}}]} trailing`))
	assert.True(t, ok)
	assert.True(t, info.Content)
	_, ok = ScanChunk([]byte(`{"choices":[{"delta":{"content":"a`))
	assert.False(t, ok)
}

func TestInspectReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want ReplyInfo
	}{
		{`{"id":"c","choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`,
			ReplyInfo{Usage: Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}, HasUsage: true}},
		{`{"choices":[]}`, ReplyInfo{}},
		{`{"error":{"message":"x"}}`, ReplyInfo{Error: true}},
		{`{"error":null,"usage":{"total_tokens":1}}`, ReplyInfo{Usage: Usage{TotalTokens: 1}, HasUsage: true}},
		// As HasMember: the first "error", matched exactly.
		{`{"error":null,"error":{}}`, ReplyInfo{}},
		{`{"Error":{}}`, ReplyInfo{}},
		{`{"err\u006fr":{}}`, ReplyInfo{Error: true}},
		{` {"choices":5, "usage" : {"prompt_tokens":4}} `, ReplyInfo{Usage: Usage{PromptTokens: 4}, HasUsage: true}},
	}
	for _, tt := range tests {
		got := InspectReply([]byte(tt.body))
		assert.Equal(t, tt.want, got, tt.body)
		assert.Equal(t, refHasMember([]byte(tt.body), "error"), got.Error, tt.body)
		assert.Equal(t, HasMember([]byte(tt.body), "error"), got.Error, tt.body)
	}
}

func FuzzInspectChunk(f *testing.F) {
	for _, tt := range chunkCases {
		f.Add([]byte(tt.data))
	}
	f.Add([]byte(benchChunk(1)))
	f.Add([]byte(benchUsageChunk))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, ok := ScanChunk(data) // must not panic, whatever data is
		reply := InspectReply(data)
		if !json.Valid(data) {
			return
		}
		got, gotOK := InspectChunk(data)
		if got != info || gotOK != ok {
			t.Fatalf("InspectChunk %+v %v, ScanChunk %+v %v", got, gotOK, info, ok)
		}
		u, hasUsage := refParseUsage(data)
		// The reference does not know CachedTokens (a best-effort read,
		// covered by TestCachedTokens).
		got.Usage.CachedTokens, reply.Usage.CachedTokens = 0, 0
		if got.HasUsage != hasUsage || got.Usage != u {
			t.Fatalf("usage %+v %v, want %+v %v", got.Usage, got.HasUsage, u, hasUsage)
		}
		if reply.HasUsage != hasUsage || reply.Usage != u || reply.Error != refHasMember(data, "error") {
			t.Fatalf("InspectReply %+v, want usage %+v %v", reply, u, hasUsage)
		}
		if len(data) > 0 && data[0] == '{' && repeatsFold(data, "choices") {
			// json.Unmarshal merges the elements of a repeated array into
			// the same slice; the walk takes the last "choices" as it is.
			return
		}
		want, wantOK := refInspectChunk(data)
		got.Usage, got.HasUsage = Usage{}, false
		if got != want || gotOK != wantOK {
			t.Fatalf("InspectChunk(%q) = %+v %v, want %+v %v", data, got, gotOK, want, wantOK)
		}
	})
}
