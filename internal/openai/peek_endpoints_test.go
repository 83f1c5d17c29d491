package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type peekFunc func([]byte) (Request, error)

// peeks are the peeks of every endpoint, by name.
var peeks = map[string]peekFunc{
	"chat": PeekChat, "completions": PeekCompletions, "embeddings": PeekEmbeddings, "rerank": PeekRerank,
	"responses": PeekResponses, "messages": PeekMessages, "count_tokens": PeekCountTokens,
}

func TestPeekEndpoints(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 400)
	tests := []struct {
		peek, name, body string
		want             Request
	}{
		{"chat", "session keys", `{"model":"m","messages":[],"user":"u1","prompt_cache_key":"k1"}`, Request{Model: "m", User: "u1", PromptCacheKey: "k1"}},
		{"chat", "session keys of other types", `{"model":"m","messages":[],"user":5,"prompt_cache_key":null}`, Request{Model: "m"}},

		{"completions", "string prompt", `{"model":"m","prompt":"` + long + `","stream":true}`, Request{Model: "m", Stream: true, EstimatedTokens: 100}},
		{"completions", "empty prompt", `{"model":"m","prompt":""}`, Request{Model: "m"}},
		{"completions", "prompt strings", `{"model":"m","prompt":["abcd","efgh"]}`, Request{Model: "m", EstimatedTokens: 2}},
		{"completions", "prompt tokens", `{"model":"m","prompt":[1,2,3]}`, Request{Model: "m", EstimatedTokens: 3}},
		{"completions", "prompt token arrays", `{"model":"m","prompt":[[1,2],[3]]}`, Request{Model: "m", EstimatedTokens: 3}},
		{"completions", "fim", `{"model":"m","prompt":"def f(","suffix":"\n  return x","stream":true,"stream_options":{"include_usage":true}}`,
			Request{Model: "m", Stream: true, Suffix: true, HasStreamOptions: true, IncludeUsage: true, EstimatedTokens: 1}},
		{"completions", "empty suffix", `{"model":"m","prompt":"x","suffix":""}`, Request{Model: "m"}},
		{"completions", "null suffix", `{"model":"m","prompt":"x","suffix":null,"user":"u"}`, Request{Model: "m", User: "u"}},

		{"embeddings", "string", `{"model":"e","input":"hello world!","encoding_format":"base64","dimensions":256}`, Request{Model: "e", EstimatedTokens: 3}},
		{"embeddings", "strings", `{"model":"e","input":["a","b"]}`, Request{Model: "e"}},
		{"embeddings", "tokens", `{"model":"e","input":[[1,2],[3,4,5]]}`, Request{Model: "e", EstimatedTokens: 5}},

		{"rerank", "strings", `{"model":"r","query":"what","documents":["doc one","doc two"],"top_n":1}`, Request{Model: "r", EstimatedTokens: 4}},
		{"rerank", "objects", `{"model":"r","query":"q","documents":[{"text":"a"},"b"]}`, Request{Model: "r", EstimatedTokens: 3}},

		{"responses", "string input", `{"model":"gpt","input":"` + long + `","stream":true,"prompt_cache_key":"pck","user":"u"}`,
			Request{Model: "gpt", Stream: true, EstimatedTokens: 100, PromptCacheKey: "pck", User: "u"}},
		{"responses", "continuation", `{"model":"gpt","previous_response_id":"resp_1"}`, Request{Model: "gpt", PreviousResponseID: "resp_1"}},
		{"responses", "stored prompt", `{"model":"gpt","prompt":{"id":"pmpt_1"}}`, Request{Model: "gpt"}},
		{"responses", "codex", `{"model":"gpt-5-codex","instructions":"be brief","input":[` +
			`{"type":"message","role":"developer","id":"d1","content":[{"type":"input_text","text":"abcd"}]},` +
			`{"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"data:x"}]},` +
			`{"type":"function_call","name":"shell","arguments":"{\"cmd\":1}","call_id":"c"},{"type":"function_call_output","call_id":"c","output":"ok"},"odd",` +
			`{"type":"reasoning","summary":[],"encrypted_content":"zzz"}],` +
			`"tools":[{"type":"function","name":"shell"},{"type":"namespace:custom"}],"reasoning":{"effort":"high"},"include":["reasoning.encrypted_content"],` +
			`"client_metadata":{"x":1},"text":{"format":{"type":"json_schema","schema":{}}},"store":false,"stream":true}`,
			Request{Model: "gpt-5-codex", Stream: true, Tools: true, Vision: true, Thinking: true, JSONMode: true, EstimatedTokens: 7}},
		{"responses", "null input with continuation", `{"model":"gpt","input":null,"previous_response_id":"r"}`, Request{Model: "gpt", PreviousResponseID: "r"}},

		{"messages", "claude code", `{"model":"claude-sonnet-4","max_tokens":32000,"stream":true,` +
			`"system":[{"type":"text","text":"abcdefgh","cache_control":{"type":"ephemeral"}}],` +
			`"messages":[{"role":"user","content":"hello world!"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},` +
			`{"type":"tool_use","id":"t","name":"Read","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t",` +
			`"content":[{"type":"text","text":"abcd"},{"type":"image","source":{"type":"base64","data":"x"}}]}]}],` +
			`"tools":[{"name":"Read","input_schema":{}}],"metadata":{"user_id":"user_abc_session_1"},"thinking":{"type":"enabled","budget_tokens":1024},"x_unknown":1}`,
			Request{Model: "claude-sonnet-4", Stream: true, Tools: true, Vision: true, Thinking: true, User: "user_abc_session_1", EstimatedTokens: 7}},
		{"messages", "thinking disabled", `{"model":"c","messages":[{"role":"user","content":"x"}],"thinking":{"type":"disabled"}}`, Request{Model: "c"}},
		{"messages", "no max_tokens, unknown block", `{"model":"c","messages":[{"role":"user","content":[{"type":"future_block","x":1}]}]}`, Request{Model: "c"}},
		{"count_tokens", "stream ignored", `{"model":"c","messages":[{"role":"user","content":"abcd"}],"stream":true}`, Request{Model: "c", EstimatedTokens: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.peek+" "+tt.name, func(t *testing.T) {
			got, err := peeks[tt.peek]([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPeekEndpointErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		peek, name, body, param, msg string
	}{
		{"completions", "not an object", `[1]`, "", "JSON object"},
		{"completions", "invalid utf8", "{\"model\":\"m\xff\",\"prompt\":\"x\"}", "", "UTF-8"},
		{"completions", "deep nesting", `{"model":"m","prompt":"x","z":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, "", "could not parse"},
		{"completions", "missing model", `{"prompt":"x"}`, "model", "model parameter"},
		{"completions", "missing prompt", `{"model":"m"}`, "prompt", "required"},
		{"completions", "prompt number", `{"model":"m","prompt":5}`, "prompt", "must be a string"},
		{"completions", "prompt empty array", `{"model":"m","prompt":[]}`, "prompt", "empty array"},
		{"completions", "prompt mixed", `{"model":"m","prompt":["a",1]}`, "prompt", "must be a string"},
		{"completions", "prompt float tokens", `{"model":"m","prompt":[1.5]}`, "prompt", "must be a string"},
		{"completions", "prompt empty token array", `{"model":"m","prompt":[[]]}`, "prompt", "must be a string"},
		{"completions", "prompt objects", `{"model":"m","prompt":[{}]}`, "prompt", "must be a string"},
		{"completions", "suffix number", `{"model":"m","prompt":"x","suffix":1}`, "suffix", "must be a string"},
		{"completions", "stream string", `{"model":"m","prompt":"x","stream":"yes"}`, "stream", "boolean"},
		{"embeddings", "missing input", `{"model":"m"}`, "input", "required"},
		{"embeddings", "empty input", `{"model":"m","input":""}`, "input", "must not be empty"},
		{"embeddings", "empty array", `{"model":"m","input":[ ]}`, "input", "empty array"},
		{"embeddings", "input object", `{"model":"m","input":{"text":"x"}}`, "input", "must be a string"},
		{"embeddings", "model number", `{"model":1,"input":"x"}`, "model", "must be a string"},
		{"rerank", "missing query", `{"model":"m","documents":["a"]}`, "query", "required"},
		{"rerank", "query number", `{"model":"m","query":1,"documents":["a"]}`, "query", "must be a string"},
		{"rerank", "missing documents", `{"model":"m","query":"q"}`, "documents", "required"},
		{"rerank", "empty documents", `{"model":"m","query":"q","documents":[]}`, "documents", "non-empty"},
		{"rerank", "document numbers", `{"model":"m","query":"q","documents":[1]}`, "documents", "non-empty"},
		{"responses", "missing input", `{"model":"m","stream":true}`, "input", "required"},
		{"responses", "input number", `{"model":"m","input":1}`, "input", "must be a string or an array"},
		{"responses", "previous id number", `{"model":"m","previous_response_id":1}`, "previous_response_id", "must be a string"},
		{"responses", "empty previous id", `{"model":"m","previous_response_id":""}`, "input", "required"},
		{"responses", "missing model", `{"input":"x"}`, "model", "model parameter"},
		{"messages", "missing messages", `{"model":"c","max_tokens":10}`, "messages", "required"},
		{"messages", "empty messages", `{"model":"c","messages":[]}`, "messages", "at least one"},
		{"messages", "messages object", `{"model":"c","messages":{}}`, "messages", "must be an array"},
		{"messages", "message string", `{"model":"c","messages":["hi"]}`, "messages", "message objects"},
		{"messages", "missing model", `{"messages":[{"role":"user","content":"x"}]}`, "model", "model parameter"},
		{"messages", "model too long", `{"model":"` + strings.Repeat("m", MaxModelBytes+1) + `","messages":[{}]}`, "model", "longer than"},
		{"messages", "stream number", `{"model":"c","messages":[{}],"stream":1}`, "stream", "boolean"},
		{"count_tokens", "missing messages", `{"model":"c"}`, "messages", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.peek+" "+tt.name, func(t *testing.T) {
			_, err := peeks[tt.peek]([]byte(tt.body))
			var re *RequestError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.param, re.Param)
			assert.Contains(t, re.Message, tt.msg)
		})
	}
}

func TestRewritesOnEveryBody(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"model":"a","prompt":"x","suffix":"y","stream":true}`,
		`{"model":"a","input":["x"]}`,
		`{"model":"a","query":"q","documents":["d"]}`,
		`{"model":"a","input":"x","stream":true}`,
		`{"model":"a","messages":[{"role":"user","content":"x"}],"max_tokens":5}`,
	} {
		out := WithModel([]byte(body), "b")
		var v map[string]any
		require.NoError(t, json.Unmarshal(out, &v), body)
		assert.Equal(t, "b", v["model"], body)
		assert.Equal(t, strings.Replace(body, `"a"`, `"b"`, 1), string(out))
	}
	got := WithIncludeUsage([]byte(`{"model":"m","prompt":"x","stream":true}`))
	req, err := PeekCompletions(got)
	require.NoError(t, err)
	assert.True(t, req.IncludeUsage)
	assert.True(t, req.HasStreamOptions)
}

// checkPeek is the property every peek has on any input: no panic; an
// error is a *RequestError; a body that peeks fine is one valid JSON
// object with a model, and rewriting its model keeps it peeking fine with
// the same facts but the model.
func checkPeek(t *testing.T, peek peekFunc, body []byte) {
	req, err := peek(body)
	if err != nil {
		if _, ok := err.(*RequestError); !ok {
			t.Fatalf("error is not a *RequestError: %v", err)
		}
		return
	}
	var v map[string]json.RawMessage
	if json.Unmarshal(body, &v) != nil {
		t.Fatalf("accepted a body that is not a JSON object: %q", body)
	}
	if req.Model == "" || len(req.Model) > MaxModelBytes {
		t.Fatalf("accepted model %q", req.Model)
	}
	out := WithModel(body, "rewritten")
	again, err := peek(out)
	if err != nil {
		t.Fatalf("after WithModel: %v\n%s", err, out)
	}
	req.Model = "rewritten"
	if again != req {
		t.Fatalf("after WithModel %+v, want %+v", again, req)
	}
	if !json.Valid(WithIncludeUsage(body)) {
		t.Fatalf("WithIncludeUsage broke the JSON")
	}
}

func fuzzPeek(f *testing.F, peek peekFunc, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkPeek(t, peek, body) })
}

func FuzzPeekCompletions(f *testing.F) {
	fuzzPeek(f, PeekCompletions, `{"model":"m","prompt":"x","suffix":"y"}`, `{"model":"m","prompt":[[1,2],[3]]}`,
		`{"model":"m","prompt":["a",1]}`, `{"model":"m","prompt":[],"stream":true}`, `{"model":"m"}`)
}

func FuzzPeekEmbeddings(f *testing.F) {
	fuzzPeek(f, PeekEmbeddings, `{"model":"m","input":"x"}`, `{"model":"m","input":[1,2]}`, `{"model":"m","input":""}`, `{"input":["a"]}`)
}

func FuzzPeekRerank(f *testing.F) {
	fuzzPeek(f, PeekRerank, `{"model":"m","query":"q","documents":["a",{"text":"b"}],"top_n":1}`, `{"model":"m","query":"q","documents":[]}`)
}

func FuzzPeekResponses(f *testing.F) {
	fuzzPeek(f, PeekResponses, `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"u"}]}],"tools":[{}]}`,
		`{"model":"m","previous_response_id":"r","text":{"format":{"type":"json_object"}}}`, `{"model":"m","input":"x","reasoning":null}`)
}

func FuzzPeekMessages(f *testing.F) {
	fuzzPeek(f, PeekMessages, `{"model":"c","messages":[{"role":"user","content":[{"type":"image"}]}],"metadata":{"user_id":"u"},"thinking":{"type":"enabled"}}`,
		`{"model":"c","messages":[{"content":[{"type":"tool_result","content":[{"type":"text","text":"x"}]}]}],"system":"s"}`, `{"model":"c","messages":[]}`)
}

func FuzzPeekCountTokens(f *testing.F) {
	fuzzPeek(f, PeekCountTokens, `{"model":"c","messages":[{"role":"user","content":"x"}],"stream":true}`)
}
