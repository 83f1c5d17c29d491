package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/proxy"
)

const okJSON = `{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5},"extra_field":{"kept":true}}`

func chunk(content string) string {
	return fmt.Sprintf(`{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`, content)
}

const usageChunk = `{"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`
const finishChunk = `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`

// sse writes events with a flush after each.
func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
	}
}

func forwarder() *proxy.Forwarder {
	return &proxy.Forwarder{
		Client:           &http.Client{Transport: &http.Transport{}},
		FirstByteTimeout: 2 * time.Second,
		RequestTimeout:   2 * time.Second,
		IdleTimeout:      2 * time.Second,
	}
}

type outcome struct {
	res  proxy.Result
	err  *proxy.Error
	rec  *httptest.ResponseRecorder
	body string
}

func forward(t *testing.T, f *proxy.Forwarder, h http.HandlerFunc, stream bool) outcome {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = io.NopCloser(strings.NewReader(mustRead(r.Body)))
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	rec := httptest.NewRecorder()
	res, err := f.Forward(context.Background(), rec, &proxy.Request{
		URL: srv.URL + "/v1/chat/completions", Body: []byte(`{"model":"m","messages":[]}`),
		APIKey: "sk-backend", Stream: stream, DropUsageChunk: stream,
	})
	o := outcome{res: res, rec: rec, body: rec.Body.String()}
	if err != nil {
		pe, ok := proxy.AsError(err)
		require.True(t, ok, "error %v is not a *proxy.Error", err)
		o.err = pe
	}
	return o
}

func TestForwardPlain(t *testing.T) {
	t.Parallel()
	var gotAuth, gotBody atomic.Value
	o := forward(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		gotBody.Store(string(b))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, okJSON)
	}, false)
	require.Nil(t, o.err)
	assert.Equal(t, 200, o.rec.Code)
	assert.JSONEq(t, okJSON, o.body, "body relayed without field loss")
	assert.True(t, o.res.HasUsage)
	assert.EqualValues(t, 3, o.res.Usage.PromptTokens)
	assert.EqualValues(t, 2, o.res.Usage.CompletionTokens)
	assert.Equal(t, "Bearer sk-backend", gotAuth.Load())
	assert.Equal(t, `{"model":"m","messages":[]}`, gotBody.Load(), "body forwarded byte for byte")
}

func TestForwardFailuresBeforeCommit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		stream    bool
		handler   http.HandlerFunc
		kind      proxy.Kind
		status    int
		retryable bool
	}{
		{"500", false, func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"error":{"message":"boom"}}`, 500) }, proxy.KindStatus, 500, true},
		{"429", false, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, proxy.KindStatus, 429, true},
		{"400 is the client's", false, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) }, proxy.KindStatus, 400, false},
		{"garbage 200", false, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>oops") }, proxy.KindBadResponse, 0, true},
		{"truncated 200", false, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okJSON[:40]) }, proxy.KindBadResponse, 0, true},
		{"error object with 200", false, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"error":{"message":"x"}}`) }, proxy.KindBadResponse, 0, true},
		{"stream answered with JSON", true, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okJSON) }, proxy.KindBadResponse, 0, true},
		{"stream closed before first event", true, func(w http.ResponseWriter, r *http.Request) { sse(w) }, proxy.KindBadResponse, 0, true},
		{"stream starts with DONE", true, func(w http.ResponseWriter, r *http.Request) { sse(w, "[DONE]") }, proxy.KindBadResponse, 0, true},
		{"stream first event not JSON", true, func(w http.ResponseWriter, r *http.Request) { sse(w, "hello") }, proxy.KindBadResponse, 0, true},
		{"stream first event is an error", true, func(w http.ResponseWriter, r *http.Request) { sse(w, `{"error":{"message":"overloaded"}}`) }, proxy.KindBadResponse, 0, true},
		{"stream 503", true, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, proxy.KindStatus, 503, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forward(t, forwarder(), tt.handler, tt.stream)
			require.NotNil(t, o.err)
			assert.Equal(t, tt.kind, o.err.Kind, o.err.Error())
			assert.Equal(t, tt.status, o.err.StatusCode)
			assert.False(t, o.err.Committed)
			assert.Equal(t, tt.retryable, o.err.Retryable())
			assert.Empty(t, o.body, "nothing may reach the client before the backend proved itself")
			assert.False(t, o.rec.Flushed)
		})
	}
}

func TestForwardConnectRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	rec := httptest.NewRecorder()
	_, err = forwarder().Forward(context.Background(), rec, &proxy.Request{URL: "http://" + addr + "/v1/chat/completions", Body: []byte(`{}`)})
	pe, ok := proxy.AsError(err)
	require.True(t, ok)
	assert.Equal(t, proxy.KindConnect, pe.Kind)
	assert.True(t, pe.Retryable())
	assert.True(t, pe.BackendFault())
}

func TestForwardTimeouts(t *testing.T) {
	t.Parallel()
	f := forwarder()
	f.FirstByteTimeout = 200 * time.Millisecond
	f.RequestTimeout = 200 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // lets the server notice the client leaving
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	for _, stream := range []bool{false, true} {
		o := forward(t, f, hang, stream)
		require.NotNil(t, o.err)
		assert.Equal(t, proxy.KindTimeout, o.err.Kind)
		assert.True(t, o.err.Retryable())
	}
	// Headers, then a stall before the first event.
	o := forward(t, f, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}, true)
	require.NotNil(t, o.err)
	assert.Equal(t, proxy.KindTimeout, o.err.Kind)
	assert.False(t, o.err.Committed)
}

func TestForwardStream(t *testing.T) {
	t.Parallel()
	o := forward(t, forwarder(), func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "text/event-stream", r.Header.Get("Accept"))
		sse(w, `{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`, chunk("Hel"), chunk("lo"), finishChunk, usageChunk, "[DONE]")
	}, true)
	require.Nil(t, o.err)
	assert.Equal(t, "text/event-stream", o.rec.Header().Get("Content-Type"))
	assert.True(t, o.res.HasUsage)
	assert.EqualValues(t, 7, o.res.Usage.PromptTokens)
	assert.EqualValues(t, 3, o.res.Usage.CompletionTokens)
	assert.Positive(t, o.res.FirstToken)
	assert.NotContains(t, o.body, `"usage"`, "usage chunk the client did not ask for is dropped")
	assert.Contains(t, o.body, "data: "+chunk("Hel")+"\n\n")
	assert.True(t, strings.HasSuffix(o.body, "data: [DONE]\n\n"))
}

func TestForwardStreamFailsAfterCommit(t *testing.T) {
	t.Parallel()
	f := forwarder()
	f.IdleTimeout = 150 * time.Millisecond
	tests := []struct {
		name    string
		handler http.HandlerFunc
		code    string
		kind    proxy.Kind
	}{
		{"dies mid-stream", func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("a"))
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}, "backend_stream_error", proxy.KindStreamBroken},
		{"ends without DONE or finish", func(w http.ResponseWriter, r *http.Request) { sse(w, chunk("a")) }, "backend_stream_error", proxy.KindStreamBroken},
		{"stalls mid-stream", func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("a"))
			<-r.Context().Done()
		}, "stream_idle_timeout", proxy.KindTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := forward(t, f, tt.handler, true)
			require.NotNil(t, o.err)
			assert.True(t, o.err.Committed)
			assert.False(t, o.err.Retryable())
			assert.Equal(t, tt.kind, o.err.Kind)
			assert.Contains(t, o.body, "data: "+chunk("a")+"\n\n")
			assert.Contains(t, o.body, `data: {"error":{"message":`)
			assert.Contains(t, o.body, `"code":"`+tt.code+`"`)
			assert.True(t, strings.HasSuffix(o.body, "data: [DONE]\n\n"), o.body)
		})
	}
}

func TestForwardStreamFinishedWithoutDone(t *testing.T) {
	t.Parallel()
	o := forward(t, forwarder(), func(w http.ResponseWriter, r *http.Request) { sse(w, chunk("a"), finishChunk) }, true)
	require.Nil(t, o.err)
	assert.NotContains(t, o.body, "error")
	assert.True(t, strings.HasSuffix(o.body, "data: [DONE]\n\n"))
}

func TestForwardClientCancelStopsUpstream(t *testing.T) {
	t.Parallel()
	upstreamDone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(upstreamDone)
		_, _ = io.ReadAll(r.Body)
		sse(w, chunk("a"))
		<-r.Context().Done() // ends only when the gateway cancels
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	rec := &notifyRecorder{ResponseRecorder: httptest.NewRecorder(), wrote: make(chan struct{}, 16)}
	errc := make(chan error, 1)
	go func() {
		_, err := forwarder().Forward(ctx, rec, &proxy.Request{URL: srv.URL, Body: []byte(`{}`), Stream: true})
		errc <- err
	}()
	<-rec.wrote
	cancel()
	select {
	case <-upstreamDone:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request was not cancelled")
	}
	pe, ok := proxy.AsError(<-errc)
	require.True(t, ok)
	assert.Equal(t, proxy.KindClientGone, pe.Kind)
	assert.False(t, pe.BackendFault())
}

type notifyRecorder struct {
	*httptest.ResponseRecorder
	wrote chan struct{}
}

func (n *notifyRecorder) Write(b []byte) (int, error) {
	n.wrote <- struct{}{}
	return n.ResponseRecorder.Write(b)
}

// mustRead drains a request body so the server notices when the client
// leaves (it only watches the connection once the body is consumed).
func mustRead(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}
