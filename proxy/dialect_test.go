package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/proxy"
)

// ev is one typed event: its name and data.
type ev struct{ name, data string }

// typedSSE writes typed events ("event:" line when name is set, data
// line), each flushed.
func typedSSE(w http.ResponseWriter, events ...ev) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, e := range events {
		if e.name != "" {
			fmt.Fprintf(w, "event: %s\n", e.name)
		}
		fmt.Fprintf(w, "data: %s\n\n", e.data)
		w.(http.Flusher).Flush()
	}
}

// wire is the bytes of events as the relay writes them.
func wire(events ...ev) string {
	var b strings.Builder
	for _, e := range events {
		if e.name != "" {
			b.WriteString("event: " + e.name + "\n")
		}
		b.WriteString("data: " + e.data + "\n\n")
	}
	return b.String()
}

// forwardReq forwards req (its URL a path on the test server) to h.
func forwardReq(t *testing.T, f *proxy.Forwarder, h http.HandlerFunc, req *proxy.Request) outcome {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	r := *req
	r.URL = srv.URL + req.URL
	if r.Body == nil && r.Method == "" {
		r.Body = []byte(`{"model":"m"}`)
	}
	rec := httptest.NewRecorder()
	res, err := f.Forward(context.Background(), rec, &r)
	o := outcome{res: res, rec: rec, body: rec.Body.String()}
	if err != nil {
		pe, ok := proxy.AsError(err)
		require.True(t, ok, "error %v is not a *proxy.Error", err)
		o.err = pe
	}
	return o
}

func jsonReply(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}
}

// Responses events, as OpenAI sends them.
var (
	respCreated   = ev{"response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","error":null,"usage":null}}`}
	respDelta     = ev{"response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}`}
	respCompleted = ev{"response.completed", `{"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","object":"response","status":"completed","error":null,` +
		`"usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":16}}}`}
	respFailed = ev{"response.failed", `{"type":"response.failed","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"failed","error":{"code":"server_error","message":"boom"}}}`}
	respError  = ev{"error", `{"type":"error","code":"server_error","message":"overloaded","param":null,"sequence_number":0}`}
)

// Anthropic events, as the Messages API sends them.
var (
	msgStart = ev{"message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,` +
		`"usage":{"input_tokens":20,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":1}}}`}
	msgPing       = ev{"ping", `{"type": "ping"}`}
	msgBlockStart = ev{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`}
	msgDelta      = ev{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`}
	msgBlockStop  = ev{"content_block_stop", `{"type":"content_block_stop","index":0}`}
	msgMsgDelta   = ev{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`}
	msgStop       = ev{"message_stop", `{"type":"message_stop"}`}
	msgError      = ev{"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}
)

func TestForwardPlainDialects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dialect proxy.Dialect
		body    string
		prompt  int64
		compl   int64
		cached  int64
		total   int64
	}{
		{"chat cached", proxy.DialectChat, `{"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":2,"total_tokens":32,"prompt_tokens_details":{"cached_tokens":24}}}`, 30, 2, 24, 32},
		{"completions", proxy.DialectChat, `{"object":"text_completion","choices":[{"text":"x","index":0}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`, 5, 1, 0, 6},
		{"embeddings", proxy.DialectChat, `{"object":"list","data":[{"embedding":[0.1]}],"usage":{"prompt_tokens":8,"total_tokens":8}}`, 8, 0, 0, 8},
		{"rerank total only", proxy.DialectChat, `{"results":[{"index":0,"relevance_score":0.9}],"usage":{"total_tokens":12}}`, 12, 0, 0, 12},
		{"responses", proxy.DialectResponses, `{"id":"resp_1","object":"response","status":"completed","error":null,"output":[],` +
			`"usage":{"input_tokens":11,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"total_tokens":16}}`, 11, 5, 4, 16},
		{"responses incomplete", proxy.DialectResponses, `{"object":"response","status":"incomplete","error":null,"usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3}}`, 1, 2, 0, 3},
		{"anthropic", proxy.DialectAnthropic, `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"hi"}],` +
			`"usage":{"input_tokens":20,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":9}}`, 30, 9, 7, 39},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forwardReq(t, forwarder(), jsonReply(tt.body), &proxy.Request{URL: "/v1/x", Dialect: tt.dialect})
			require.Nil(t, o.err)
			assert.Equal(t, tt.body, o.body)
			assert.Equal(t, "application/json", o.rec.Header().Get("Content-Type"))
			require.True(t, o.res.HasUsage)
			u := o.res.Usage
			assert.Equal(t, []int64{tt.prompt, tt.compl, tt.cached, tt.total}, []int64{u.PromptTokens, u.CompletionTokens, u.CachedTokens, u.TotalTokens})
		})
	}
}

func TestForwardPlainDialectErrorObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dialect proxy.Dialect
		body    string
	}{
		{"responses failed", proxy.DialectResponses, `{"object":"response","status":"failed","error":{"code":"server_error","message":"x"}}`},
		{"responses error member", proxy.DialectResponses, `{"error":{"message":"x","type":"server_error"}}`},
		{"anthropic error", proxy.DialectAnthropic, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forwardReq(t, forwarder(), jsonReply(tt.body), &proxy.Request{URL: "/v1/x", Dialect: tt.dialect})
			require.NotNil(t, o.err)
			assert.Equal(t, proxy.KindBadResponse, o.err.Kind)
			assert.True(t, o.err.Retryable())
			assert.Empty(t, o.body)
		})
	}
	// A backend's 400 stays a KindStatus error carrying the body as is.
	body := `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}}`
	o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_9")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, body)
	}, &proxy.Request{URL: "/v1/messages", Dialect: proxy.DialectAnthropic})
	require.NotNil(t, o.err)
	assert.Equal(t, proxy.KindStatus, o.err.Kind)
	assert.Equal(t, 400, o.err.StatusCode)
	assert.Equal(t, body, string(o.err.Body))
	assert.Equal(t, "req_9", o.err.Header.Get("Request-Id"))
	assert.False(t, o.err.Retryable())
}

func TestForwardResponsesStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []ev
		want   string
	}{
		{"ends after completed", []ev{respCreated, respDelta, respCompleted}, wire(respCreated, respDelta, respCompleted)},
		{"DONE after completed relayed", []ev{respCreated, respDelta, respCompleted, {"", "[DONE]"}}, wire(respCreated, respDelta, respCompleted) + "data: [DONE]\n\n"},
		{"DONE without terminal relayed", []ev{respCreated, respDelta, {"", "[DONE]"}}, wire(respCreated, respDelta) + "data: [DONE]\n\n"},
		{"data-only events", []ev{{"", respCreated.data}, {"", respDelta.data}, {"", respCompleted.data}}, wire(ev{"", respCreated.data}, ev{"", respDelta.data}, ev{"", respCompleted.data})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) { typedSSE(w, tt.events...) },
				&proxy.Request{URL: "/v1/responses", Stream: true, Dialect: proxy.DialectResponses})
			require.Nil(t, o.err)
			assert.Equal(t, tt.want, o.body)
			assert.Positive(t, o.res.FirstToken)
			if tt.events[len(tt.events)-1] == respCompleted || tt.events[len(tt.events)-2] == respCompleted {
				require.True(t, o.res.HasUsage)
				assert.EqualValues(t, 11, o.res.Usage.PromptTokens)
				assert.EqualValues(t, 5, o.res.Usage.CompletionTokens)
				assert.EqualValues(t, 4, o.res.Usage.CachedTokens)
				assert.EqualValues(t, 16, o.res.Usage.TotalTokens)
			}
		})
	}
	// Data-only events carry their type in the data.
	o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
		typedSSE(w, ev{"", respCreated.data}, ev{"", respDelta.data}, ev{"", respCompleted.data})
	}, &proxy.Request{URL: "/v1/responses", Stream: true, Dialect: proxy.DialectResponses})
	require.Nil(t, o.err)
	assert.True(t, o.res.HasUsage)
}

func TestForwardAnthropicStream(t *testing.T) {
	t.Parallel()
	o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
		typedSSE(w, msgPing, msgStart, msgBlockStart, msgPing, msgDelta, msgBlockStop, msgMsgDelta, msgStop)
	}, &proxy.Request{URL: "/v1/messages", Stream: true, Dialect: proxy.DialectAnthropic})
	require.Nil(t, o.err)
	assert.Equal(t, wire(msgStart, msgBlockStart, msgPing, msgDelta, msgBlockStop, msgMsgDelta, msgStop), o.body,
		"a ping before the first event is dropped, later ones relayed; no [DONE]")
	require.True(t, o.res.HasUsage)
	assert.EqualValues(t, 30, o.res.Usage.PromptTokens, "input + cache writes + cache reads")
	assert.EqualValues(t, 7, o.res.Usage.CachedTokens)
	assert.EqualValues(t, 15, o.res.Usage.CompletionTokens, "the last message_delta's count")
	assert.EqualValues(t, 45, o.res.Usage.TotalTokens)
	assert.Positive(t, o.res.FirstToken)
}

func TestForwardTypedErrorsBeforeCommit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dialect proxy.Dialect
		events  []ev
	}{
		{"responses error event", proxy.DialectResponses, []ev{respError}},
		{"responses failed first", proxy.DialectResponses, []ev{respFailed}},
		{"responses data-only error", proxy.DialectResponses, []ev{{"", `{"error":{"message":"x"}}`}}},
		{"responses not JSON", proxy.DialectResponses, []ev{{"response.created", `nope`}}},
		{"responses DONE first", proxy.DialectResponses, []ev{{"", "[DONE]"}}},
		{"anthropic error event", proxy.DialectAnthropic, []ev{msgError}},
		{"anthropic ping then error", proxy.DialectAnthropic, []ev{msgPing, msgError}},
		{"anthropic pings then end", proxy.DialectAnthropic, []ev{msgPing, msgPing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) { typedSSE(w, tt.events...) },
				&proxy.Request{URL: "/v1/x", Stream: true, Dialect: tt.dialect})
			require.NotNil(t, o.err)
			assert.Equal(t, proxy.KindBadResponse, o.err.Kind, o.err.Error())
			assert.False(t, o.err.Committed)
			assert.True(t, o.err.Retryable())
			assert.Empty(t, o.body)
		})
	}
}

func TestForwardAnthropicPingsDoNotResetFirstByteTimeout(t *testing.T) {
	t.Parallel()
	f := forwarder()
	f.FirstByteTimeout = 200 * time.Millisecond
	f.IdleTimeout = time.Minute
	o := forwardReq(t, f, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for range 250 { // bounded so that a regression fails instead of hanging
			if _, err := io.WriteString(w, "event: ping\ndata: {\"type\":\"ping\"}\n\n"); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}, &proxy.Request{URL: "/v1/messages", Stream: true, Dialect: proxy.DialectAnthropic})
	require.NotNil(t, o.err)
	assert.Equal(t, proxy.KindTimeout, o.err.Kind, o.err.Error())
	assert.False(t, o.err.Committed)
	assert.Empty(t, o.body)
}

func TestForwardTypedFailsAfterCommit(t *testing.T) {
	t.Parallel()
	f := forwarder()
	f.IdleTimeout = 150 * time.Millisecond
	cut := func(events ...ev) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { typedSSE(w, events...) }
	}
	stall := func(events ...ev) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			typedSSE(w, events...)
			<-r.Context().Done()
		}
	}
	tests := []struct {
		name    string
		dialect proxy.Dialect
		h       http.HandlerFunc
		kind    proxy.Kind
		prefix  string
		want    map[string]any
	}{
		{"responses cut", proxy.DialectResponses, cut(respCreated, respDelta), proxy.KindStreamBroken, wire(respCreated, respDelta),
			map[string]any{"type": "error", "code": "backend_stream_error", "param": nil, "sequence_number": 2.0}},
		{"responses stalled", proxy.DialectResponses, stall(respCreated), proxy.KindTimeout, wire(respCreated),
			map[string]any{"type": "error", "code": "stream_idle_timeout", "param": nil, "sequence_number": 1.0}},
		{"anthropic cut", proxy.DialectAnthropic, cut(msgStart, msgDelta), proxy.KindStreamBroken, wire(msgStart, msgDelta),
			map[string]any{"type": "error", "error": map[string]any{"type": "api_error"}}},
		{"anthropic stalled", proxy.DialectAnthropic, stall(msgStart), proxy.KindTimeout, wire(msgStart),
			map[string]any{"type": "error", "error": map[string]any{"type": "timeout_error"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forwardReq(t, f, tt.h, &proxy.Request{URL: "/v1/x", Stream: true, Dialect: tt.dialect})
			require.NotNil(t, o.err)
			assert.Equal(t, tt.kind, o.err.Kind)
			assert.True(t, o.err.Committed)
			require.True(t, strings.HasPrefix(o.body, tt.prefix+"event: error\ndata: "), o.body)
			assert.NotContains(t, o.body, "[DONE]")
			data := strings.TrimSuffix(strings.TrimPrefix(o.body, tt.prefix+"event: error\ndata: "), "\n\n")
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(data), &got), data)
			if inner, ok := got["error"].(map[string]any); ok {
				assert.NotEmpty(t, inner["message"])
				delete(inner, "message")
			} else {
				assert.NotEmpty(t, got["message"])
				delete(got, "message")
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestForwardTypedBackendErrorAfterCommit(t *testing.T) {
	t.Parallel()
	// The backend's own error event tells the client; the gateway adds
	// none, but the exchange failed.
	o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) { typedSSE(w, msgStart, msgDelta, msgError) },
		&proxy.Request{URL: "/v1/messages", Stream: true, Dialect: proxy.DialectAnthropic})
	require.NotNil(t, o.err)
	assert.Equal(t, proxy.KindStreamBroken, o.err.Kind)
	assert.True(t, o.err.Committed)
	assert.Equal(t, wire(msgStart, msgDelta, msgError), o.body)

	// response.failed is a terminal event: a clean end.
	o = forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
		typedSSE(w, respCreated, ev{"response.failed", strings.Replace(respFailed.data, `"sequence_number":0`, `"sequence_number":1`, 1)})
	}, &proxy.Request{URL: "/v1/responses", Stream: true, Dialect: proxy.DialectResponses})
	require.Nil(t, o.err)
	assert.Contains(t, o.body, "event: response.failed\n")
}

func TestForwardMethodsHeadersAndQuery(t *testing.T) {
	t.Parallel()
	type seen struct {
		method, query, ctype, auth, apiKey, version, beta, body string
		contentLength                                           int64
	}
	got := make(chan seen, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"),
			r.Header.Get("Anthropic-Version"), r.Header.Get("Anthropic-Beta"), string(b), r.ContentLength}
		if r.Method == http.MethodDelete && r.URL.Query().Get("empty") == "1" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = io.WriteString(w, `{"id":"resp_1","object":"response","deleted":true}`)
	}))
	t.Cleanup(srv.Close)
	hdr := http.Header{}
	hdr.Set("anthropic-version", "2023-06-01")
	hdr.Set("anthropic-beta", "interleaved-thinking-2025-05-14")
	target, err := url.Parse(srv.URL + "/v1/messages?beta=true")
	require.NoError(t, err)
	f := forwarder()

	// POST with x-api-key, extra headers and a query string, by URL and by Target.
	for _, req := range []*proxy.Request{
		{URL: srv.URL + "/v1/messages?beta=true", Body: []byte(`{"a":1}`), APIKey: "sk-ant", APIKeyHeader: "x-api-key", Header: hdr},
		{Target: target, Body: []byte(`{"a":1}`), APIKey: "sk-ant", APIKeyHeader: "x-api-key", Header: hdr},
	} {
		_, err := f.Forward(context.Background(), httptest.NewRecorder(), req)
		require.NoError(t, err)
		assert.Equal(t, seen{"POST", "beta=true", "application/json", "", "sk-ant", "2023-06-01", "interleaved-thinking-2025-05-14", `{"a":1}`, 7}, <-got)
	}
	// GET and DELETE send no body and no Content-Type, even if given one.
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		rec := httptest.NewRecorder()
		_, err := f.Forward(context.Background(), rec, &proxy.Request{Method: m, URL: srv.URL + "/v1/responses/resp_1?include=x", Body: []byte(`{"ignored":1}`), APIKey: "k", Dialect: proxy.DialectResponses})
		require.NoError(t, err)
		assert.Equal(t, seen{m, "include=x", "", "Bearer k", "", "", "", "", 0}, <-got)
		assert.JSONEq(t, `{"id":"resp_1","object":"response","deleted":true}`, rec.Body.String())
	}
	rec := httptest.NewRecorder()
	res, err := f.Forward(context.Background(), rec, &proxy.Request{Method: http.MethodDelete, URL: srv.URL + "/v1/responses/resp_1?empty=1"})
	require.NoError(t, err)
	<-got
	assert.Equal(t, http.StatusNoContent, res.Status)
	assert.Equal(t, http.StatusNoContent, rec.Code)
}

// renamer is a fake Translator: it renames every event ("" becomes
// "chunk") with a prefix, or for a chat client (chat set) passes only the
// data of content events; it ends with one "finish" event. With hold set
// it keeps everything back until Finish.
type renamer struct {
	prefix   string
	chat     bool
	hold     bool
	failAt   int // fail on the n-th event (1-based); 0 never
	n        int
	held     []ev
	finished int
}

func (r *renamer) Reply(body []byte) ([]byte, error) {
	if r.failAt > 0 {
		return nil, errors.New("cannot translate")
	}
	return []byte(`{"translated":` + string(body) + `}`), nil
}

func (r *renamer) Event(name string, data []byte, emit func(string, []byte) error) error {
	r.n++
	if r.n == r.failAt {
		return errors.New("untranslatable event")
	}
	if name == "" {
		name = "chunk"
	}
	e := ev{r.prefix + name, string(data)}
	if r.chat {
		if name != "content_block_delta" {
			return nil
		}
		e.name = ""
	}
	if r.hold {
		r.held = append(r.held, e)
		return nil
	}
	return emit(e.name, []byte(e.data))
}

func (r *renamer) Finish(emit func(string, []byte) error) error {
	r.finished++
	for _, e := range r.held {
		if err := emit(e.name, []byte(e.data)); err != nil {
			return err
		}
	}
	name := r.prefix + "finish"
	if r.chat {
		name = ""
	}
	return emit(name, []byte(`{"finish":true}`))
}

func TestForwardTranslatorPlain(t *testing.T) {
	t.Parallel()
	tr := &renamer{}
	o := forwardReq(t, forwarder(), jsonReply(okJSON), &proxy.Request{URL: "/v1/chat/completions", Translate: tr, ClientDialect: proxy.DialectAnthropic})
	require.Nil(t, o.err)
	assert.Equal(t, `{"translated":`+okJSON+`}`, o.body)
	assert.Equal(t, "application/json", o.rec.Header().Get("Content-Type"))
	assert.True(t, o.res.HasUsage, "usage read from the backend's reply")

	o = forwardReq(t, forwarder(), jsonReply(okJSON), &proxy.Request{URL: "/v1/chat/completions", Translate: &renamer{failAt: 1}})
	require.NotNil(t, o.err)
	assert.Equal(t, proxy.KindBadResponse, o.err.Kind)
	assert.True(t, o.err.Retryable())
	assert.Empty(t, o.body)
}

func TestForwardTranslatorStream(t *testing.T) {
	t.Parallel()
	chatEvents := func(w http.ResponseWriter, r *http.Request) {
		sse(w, chunk("Hel"), chunk("lo"), finishChunk, usageChunk, "[DONE]")
	}
	t.Run("chat to typed client", func(t *testing.T) {
		t.Parallel()
		tr := &renamer{prefix: "x."}
		o := forwardReq(t, forwarder(), chatEvents, &proxy.Request{URL: "/v1/chat/completions", Stream: true, DropUsageChunk: true,
			Translate: tr, ClientDialect: proxy.DialectAnthropic})
		require.Nil(t, o.err)
		assert.Equal(t, wire(ev{"x.chunk", chunk("Hel")}, ev{"x.chunk", chunk("lo")}, ev{"x.chunk", finishChunk}, ev{"x.chunk", usageChunk},
			ev{"x.finish", `{"finish":true}`}), o.body, "the translator sees the usage chunk; no [DONE] for a typed client")
		assert.Equal(t, 1, tr.finished)
		assert.EqualValues(t, 7, o.res.Usage.PromptTokens)
		assert.Positive(t, o.res.FirstToken)
	})
	t.Run("chat ending at EOF after finish", func(t *testing.T) {
		t.Parallel()
		tr := &renamer{prefix: "x.", hold: true}
		o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) { sse(w, chunk("a"), finishChunk) },
			&proxy.Request{URL: "/v1/chat/completions", Stream: true, Translate: tr, ClientDialect: proxy.DialectResponses})
		require.Nil(t, o.err)
		assert.Equal(t, wire(ev{"x.chunk", chunk("a")}, ev{"x.chunk", finishChunk}, ev{"x.finish", `{"finish":true}`}), o.body,
			"committed on the first emitted write, at Finish")
	})
	t.Run("anthropic to chat client", func(t *testing.T) {
		t.Parallel()
		tr := &renamer{chat: true}
		o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
			typedSSE(w, msgStart, msgBlockStart, msgDelta, msgBlockStop, msgMsgDelta, msgStop)
		}, &proxy.Request{URL: "/v1/messages", Stream: true, Dialect: proxy.DialectAnthropic, Translate: tr, ClientDialect: proxy.DialectChat})
		require.Nil(t, o.err)
		assert.Equal(t, "data: "+msgDelta.data+"\n\ndata: {\"finish\":true}\n\ndata: [DONE]\n\n", o.body)
		assert.Equal(t, 1, tr.finished)
		assert.EqualValues(t, 15, o.res.Usage.CompletionTokens)
	})
	t.Run("error before the first emitted write", func(t *testing.T) {
		t.Parallel()
		tr := &renamer{chat: true}
		o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) { typedSSE(w, msgStart, msgError) },
			&proxy.Request{URL: "/v1/messages", Stream: true, Dialect: proxy.DialectAnthropic, Translate: tr})
		require.NotNil(t, o.err)
		assert.Equal(t, proxy.KindBadResponse, o.err.Kind)
		assert.True(t, o.err.Retryable())
		assert.Empty(t, o.body)
		assert.Zero(t, tr.finished)
	})
	t.Run("translator fails after commit", func(t *testing.T) {
		t.Parallel()
		tr := &renamer{prefix: "x.", failAt: 2}
		o := forwardReq(t, forwarder(), chatEvents, &proxy.Request{URL: "/v1/chat/completions", Stream: true, Translate: tr, ClientDialect: proxy.DialectAnthropic})
		require.NotNil(t, o.err)
		assert.Equal(t, proxy.KindStreamBroken, o.err.Kind)
		assert.True(t, o.err.Committed)
		assert.True(t, strings.HasPrefix(o.body, wire(ev{"x.chunk", chunk("Hel")})+"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""), o.body)
	})
	t.Run("cut after commit in the client's dialect", func(t *testing.T) {
		t.Parallel()
		tr := &renamer{prefix: "x."}
		o := forwardReq(t, forwarder(), func(w http.ResponseWriter, r *http.Request) { sse(w, chunk("a")) },
			&proxy.Request{URL: "/v1/chat/completions", Stream: true, Translate: tr, ClientDialect: proxy.DialectResponses})
		require.NotNil(t, o.err)
		assert.Equal(t, proxy.KindStreamBroken, o.err.Kind)
		assert.Contains(t, o.body, "event: error\ndata: {\"type\":\"error\",\"code\":\"backend_stream_error\"")
		assert.NotContains(t, o.body, "[DONE]")
		assert.Zero(t, tr.finished)
	})
}
