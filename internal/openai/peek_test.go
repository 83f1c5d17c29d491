package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeekChat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want Request
	}{
		{"minimal", `{"model":"m","messages":[]}`, Request{Model: "m"}},
		{"longest model", `{"model":"` + strings.Repeat("m", MaxModelBytes) + `","messages":[]}`, Request{Model: strings.Repeat("m", MaxModelBytes)}},
		{"stream", `{"model":"m","messages":[],"stream":true}`, Request{Model: "m", Stream: true}},
		{"stream null", `{"model":"m","messages":[],"stream":null}`, Request{Model: "m"}},
		{"include usage", `{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}`,
			Request{Model: "m", Stream: true, IncludeUsage: true, HasStreamOptions: true}},
		{"tools", `{"model":"m","messages":[],"tools":[{"type":"function","function":{"name":"f"}}]}`, Request{Model: "m", Tools: true}},
		{"empty tools", `{"model":"m","messages":[],"tools":[ ]}`, Request{Model: "m"}},
		{"json object", `{"model":"m","messages":[],"response_format":{"type":"json_object"}}`, Request{Model: "m", JSONMode: true}},
		{"json schema", `{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{}}}`, Request{Model: "m", JSONMode: true}},
		{"text format", `{"model":"m","messages":[],"response_format":{"type":"text"}}`, Request{Model: "m"}},
		{"vision", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"abcdefgh"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
			Request{Model: "m", Vision: true, EstimatedTokens: 2}},
		{"tokens", `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("a", 400) + `"}]}`, Request{Model: "m", EstimatedTokens: 100}},
		{"null content and tool calls", `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},{"role":"tool","content":"ok","tool_call_id":"1"}]}`, Request{Model: "m"}},
		{"stop as string and unknown fields", `{"model":"m","messages":[],"stop":"\n","seed":1,"x_custom":{"a":[1,2]}}`, Request{Model: "m"}},
		{"escaped key", `{"mod\u0065l":"m","messages":[]}`, Request{Model: "m"}},
		{"nested model is not top level", `{"messages":[{"model":"no"}],"model":"yes"}`, Request{Model: "yes"}},
		{"whitespace", " \n{ \"model\" : \"m\" , \"messages\" : [ ] }\n", Request{Model: "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PeekChat([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// peekCases are bodies for the paths of the member readers: names in
// other cases and with escapes, repeated members, nulls, wrong types.
var peekCases = []string{
	`{"model":"m","messages":[{"Content":"abcdefgh"},{"CONTENT":[{"TYPE":"text","TEXT":"abcd"}]}]}`,
	`{"model":"m","messages":[{"content":"abcd","content":null},{"cont\u0065nt":"abcdefgh"}]}`,
	`{"model":"m","messages":[null,{"content":[null,{"type":"text","text":"a\u00e9\ud83d\ude00\ud800x\n"}]}]}`,
	`{"model":"m","messages":[{"content":[{"type":"image\u005furl"},{"type":"input_image","text":"ignored"}]}]}`,
	`{"model":"m","messages":[{"content":[{"type":"image_url","type":null,"text":"abcd"}]}]}`,
	`{"model":"m","messages":[{"content":[{"type":"text","text":"abcdefgh"},{"type":1}]}]}`,
	`{"model":"m","messages":[{"content":[{"type":"image_url"},{"text":["x"]}]}]}`,
	`{"model":"m","messages":[{"content":[{"type":"image_url"},"text"]}]}`,
	`{"model":"m","messages":[{"content":[{"type":"text","text":"ſKk"}]},{"ſontent":"x"},{"conten\u212a":"y"}]}`,
	`{"model":"m","messages":[{"content":{"text":"object"}},{"content":12}]}`,
	`{"model":"m","messages":[{"role":"user"},true]}`,
	`{"model":"m","messages":[[]]}`,
	`{"model":"m","messages":[{"content":"abcd"}],"messages":[{"content":[{"type":"image_url"}]}]}`,
	`{"model":"m\u00e9\"x","messages":[]}`,
	`{"model":"m","messages":[],"stream_options":{"INCLUDE_USAGE":true}}`,
	`{"model":"m","messages":[],"stream_options":{"include_usage":true,"include_usage":null}}`,
	`{"model":"m","messages":[],"stream_options":{"include_usage":true,"include_usage":false}}`,
	`{"model":"m","messages":[],"stream_options":{"include_usage":"yes"}}`,
	`{"model":"m","messages":[],"stream_options":{"include_usage":true},"stream_options":[]}`,
	`{"model":"m","messages":[],"stream_options":null}`,
	`{"model":"m","messages":[],"response_format":{"Type":"json_object"}}`,
	`{"model":"m","messages":[],"response_format":{"type":"json_\u006fbject"}}`,
	`{"model":"m","messages":[],"response_format":{"type":"json_object","type":null}}`,
	`{"model":"m","messages":[],"response_format":{"type":"json_object"},"response_format":{"type":5}}`,
	`{"model":"m","messages":[],"response_format":{"type":"json_object"},"response_format":{"type":"text"}}`,
	`{"model":"m","messages":[],"response_format":"json_object"}`,
	`{"model":"m","messages":[],"model":"` + strings.Repeat(`\u00e9`, MaxModelBytes/2+1) + `"}`,
	`{"model":"` + strings.Repeat("m", 7*MaxModelBytes) + `","messages":[]}`,
}

func TestPeekChatMatchesReference(t *testing.T) {
	t.Parallel()
	for _, body := range peekCases {
		got, err := PeekChat([]byte(body))
		want, wantErr := refPeekChat([]byte(body))
		assert.Equal(t, want, got, body)
		assert.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(err), body)
	}
	// A few of them spelled out.
	tests := []struct {
		body string
		want Request
	}{
		{peekCases[0], Request{Model: "m", EstimatedTokens: 3}},
		{peekCases[1], Request{Model: "m", EstimatedTokens: 2}},
		// a + é (2) + 😀 (4) + U+FFFD (3) + x + \n = 12 bytes decoded.
		{peekCases[2], Request{Model: "m", EstimatedTokens: 3}},
		{peekCases[3], Request{Model: "m", Vision: true}},
		{peekCases[4], Request{Model: "m", Vision: true}},
		{peekCases[5], Request{Model: "m"}},
		{peekCases[13], Request{Model: "mé\"x"}},
		{peekCases[14], Request{Model: "m", IncludeUsage: true, HasStreamOptions: true}},
		{peekCases[15], Request{Model: "m", IncludeUsage: true, HasStreamOptions: true}},
		{peekCases[17], Request{Model: "m", HasStreamOptions: true}},
		{peekCases[18], Request{Model: "m", IncludeUsage: true, HasStreamOptions: true}},
		{peekCases[20], Request{Model: "m", JSONMode: true}},
		{peekCases[21], Request{Model: "m", JSONMode: true}},
		{peekCases[22], Request{Model: "m", JSONMode: true}},
		{peekCases[23], Request{Model: "m", JSONMode: true}},
		{peekCases[24], Request{Model: "m"}},
	}
	for _, tt := range tests {
		got, err := PeekChat([]byte(tt.body))
		require.NoError(t, err, tt.body)
		assert.Equal(t, tt.want, got, tt.body)
	}
	for _, body := range []string{peekCases[10], peekCases[11]} {
		_, err := PeekChat([]byte(body))
		var re *RequestError
		require.ErrorAs(t, err, &re, body)
		assert.Equal(t, "messages", re.Param)
	}
}

func TestPeekChatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, param, msg string
	}{
		{"empty", ``, "", "body is empty"},
		{"malformed", `{"model":`, "", "could not parse the JSON"},
		{"trailing garbage", `{"model":"m","messages":[]} x`, "", "could not parse the JSON"},
		{"array", `[1,2]`, "", "must be a JSON object"},
		{"invalid utf8", "{\"model\":\"m\xff\",\"messages\":[]}", "", "UTF-8"},
		{"missing model", `{"messages":[]}`, "model", "model parameter"},
		{"empty model", `{"model":"","messages":[]}`, "model", "model parameter"},
		{"model not string", `{"model":5,"messages":[]}`, "model", "must be a string"},
		{"model too long", `{"model":"` + strings.Repeat("m", MaxModelBytes+1) + `","messages":[]}`, "model", "longer than 256 bytes"},
		{"model too long escaped", `{"model":"` + strings.Repeat(`A`, MaxModelBytes+1) + `","messages":[]}`, "model", "longer than 256 bytes"},
		{"missing messages", `{"model":"m"}`, "messages", "required"},
		{"messages not array", `{"model":"m","messages":"hi"}`, "messages", "must be an array"},
		{"messages of strings", `{"model":"m","messages":["hi"]}`, "messages", "array of message objects"},
		{"stream not bool", `{"model":"m","messages":[],"stream":"yes"}`, "stream", "boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PeekChat([]byte(tt.body))
			var re *RequestError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.param, re.Param)
			assert.Contains(t, re.Message, tt.msg)
		})
	}
}

func TestWithModel(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, model, want string }{
		{"rewrite", `{"model":"alias","messages":[],"x":1}`, "target", `{"model":"target","messages":[],"x":1}`},
		{"keeps spacing and order", `{ "messages" : [ ] , "model" : "a" , "z" : {"model":"inner"} }`, "b:7b",
			`{ "messages" : [ ] , "model" : "b:7b" , "z" : {"model":"inner"} }`},
		{"escapes", `{"model":"a","messages":[]}`, `we"ird`, `{"model":"we\"ird","messages":[]}`},
		{"same model untouched", `{"model":"a","messages":[]}`, "a", `{"model":"a","messages":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(WithModel([]byte(tt.body), tt.model)))
		})
	}
}

func TestWithIncludeUsage(t *testing.T) {
	t.Parallel()
	got := WithIncludeUsage([]byte(`{"model":"m","stream":true,"messages":[]}`))
	var v map[string]any
	require.NoError(t, json.Unmarshal(got, &v))
	assert.Equal(t, map[string]any{"include_usage": true}, v["stream_options"])
	assert.Equal(t, "m", v["model"])

	assert.JSONEq(t, `{"stream_options":{"include_usage":true}}`, string(WithIncludeUsage([]byte(`{ }`))))
	kept := `{"model":"m","stream_options":{"include_usage":false}}`
	assert.Equal(t, kept, string(WithIncludeUsage([]byte(kept))))
}

func TestErrorEnvelope(t *testing.T) {
	t.Parallel()
	b := NewEnvelope("nope", TypeInvalidRequest, "model", CodeModelNotFound).Marshal()
	assert.JSONEq(t, `{"error":{"message":"nope","type":"invalid_request_error","param":"model","code":"model_not_found"}}`, string(b))
	b = NewEnvelope("x", TypeServer, "", "").Marshal()
	assert.JSONEq(t, `{"error":{"message":"x","type":"server_error","param":null,"code":null}}`, string(b))
	assert.True(t, IsEnvelope(b))
	assert.False(t, IsEnvelope([]byte(`{"error":null}`)))
	assert.False(t, IsEnvelope([]byte(`not json`)))
}

func FuzzPeekChat(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}],"tools":[{}]}`,
		`{"mod\u0065l":"m","messages":[],"response_format":{"type":"json_object"}}`,
		`{"model":"m","messages":[],"stream_options":{"include_usage":true}}`,
		`[]`, `{`, `{"a":"\\"}`, ``,
	} {
		f.Add([]byte(s))
	}
	for _, s := range peekCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := PeekChat(body)
		wantReq, wantErr := refPeekChat(body)
		if req != wantReq || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("PeekChat(%q)\n got %+v, %v\nwant %+v, %v", body, req, err, wantReq, wantErr)
		}
		if err != nil {
			var re, want *RequestError
			if !assertAs(err, &re) || !assertAs(wantErr, &want) {
				t.Fatalf("error is not a *RequestError: %v (reference %v)", err, wantErr)
			}
			if re.Param != want.Param {
				t.Fatalf("param %q, want %q", re.Param, want.Param)
			}
			return
		}
		for _, m := range []string{"rewritten", req.Model, `a"<b>&\u2028` + "\u2028\xff"} {
			if got, want := WithModel(body, m), refWithModel(body, m); !bytes.Equal(got, want) {
				t.Fatalf("WithModel(%q, %q) = %q, want %q", body, m, got, want)
			}
		}
		// A body that peeks fine is valid JSON, and rewriting its model
		// must keep it valid and carry the new model.
		out := WithModel(body, "rewritten")
		var v map[string]json.RawMessage
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("WithModel broke the JSON: %v\n%s", err, out)
		}
		again, err := PeekChat(out)
		if err != nil || again.Model != "rewritten" || again.Stream != req.Stream {
			t.Fatalf("after WithModel: %+v, %v", again, err)
		}
		if !json.Valid(WithIncludeUsage(body)) {
			t.Fatalf("WithIncludeUsage broke the JSON")
		}
	})
}

func assertAs(err error, target **RequestError) bool {
	re, ok := err.(*RequestError)
	*target = re
	return ok
}

func TestPromptPreview(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{`{"messages":[{"role":"user","content":"first"},{"role":"assistant","content":"x"},{"role":"user","content":"héllo world"}]}`, "héllo…"},
		{`{"messages":[{"role":"user","content":[{"type":"text","text":"ab"},{"type":"image_url"},{"type":"text","text":"c"}]}]}`, "abc"},
		{`{"messages":[{"role":"system","content":"only system"}]}`, ""},
		{`{"model":"m"}`, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, PromptPreview([]byte(tt.body), 5), tt.body)
	}
}
