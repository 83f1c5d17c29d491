package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/nexusllm/nexus/proxy"
)

// benchWriter is a ResponseWriter that discards the body and can flush, so
// that a benchmark sees the Forwarder's own allocations, not a recorder's.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }
func (w *benchWriter) Flush()                      {}
func (w *benchWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// benchBackend serves a prepared plain reply, or a stream of n content
// events plus finish, usage and [DONE], each flushed.
func benchBackend(b *testing.B, events int) *httptest.Server {
	b.Helper()
	plain := []byte(okJSON)
	plainLen := []string{strconv.Itoa(len(plain))}
	var stream [][]byte
	for i := range events {
		stream = append(stream, []byte("data: "+chunk(fmt.Sprintf(" w%d", i))+"\n\n"))
	}
	stream = append(stream, []byte("data: "+finishChunk+"\n\n"), []byte("data: "+usageChunk+"\n\n"), []byte("data: [DONE]\n\n"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("Accept") != "text/event-stream" {
			w.Header()["Content-Type"] = []string{"application/json"}
			w.Header()["Content-Length"] = plainLen
			_, _ = w.Write(plain)
			return
		}
		w.Header()["Content-Type"] = []string{"text/event-stream"}
		w.WriteHeader(http.StatusOK)
		for _, ev := range stream {
			_, _ = w.Write(ev)
			w.(http.Flusher).Flush()
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkForward is one upstream exchange through Forward over loopback.
// The figures include the test server's handler and both ends of net/http
// (they share the process); compare with the "net/http only" baselines.
func BenchmarkForward(b *testing.B) {
	srv := benchBackend(b, 20)
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	f := &proxy.Forwarder{Client: client, FirstByteTimeout: 10 * time.Second, RequestTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`)
	url := srv.URL + "/v1/chat/completions"
	hdr := http.Header{"X-Request-Id": {"bench"}}
	ctx := context.Background()

	for _, tc := range []struct {
		name   string
		stream bool
		drop   bool
	}{
		{"plain", false, false},
		{"stream 20 events", true, false},
		{"stream 20 events drop usage", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := &benchWriter{h: http.Header{}}
			req := &proxy.Request{URL: url, Body: body, APIKey: "sk", Header: hdr, Stream: tc.stream, DropUsageChunk: tc.drop}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				if _, err := f.Forward(ctx, w, req); err != nil {
					b.Fatal(err)
				}
				if w.status != http.StatusOK || w.n == 0 {
					b.Fatalf("status %d, %d bytes", w.status, w.n)
				}
			}
		})
	}

	// The same exchanges with net/http alone: what Forward adds is the
	// difference.
	for _, tc := range []struct {
		name   string
		accept string
	}{
		{"net/http only plain", "application/json"},
		{"net/http only stream 20 events", "text/event-stream"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				r.Header.Set("Accept", tc.accept)
				resp, err := client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// typedBackend serves a typed stream: the events of one reply, each
// flushed, n of them content deltas.
func typedBackend(b *testing.B, events [][]byte) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header()["Content-Type"] = []string{"text/event-stream"}
		w.WriteHeader(http.StatusOK)
		for _, ev := range events {
			_, _ = w.Write(ev)
			w.(http.Flusher).Flush()
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkForwardTyped relays a Responses and an Anthropic stream of 20
// content deltas, as BenchmarkForward does a chat stream.
func BenchmarkForwardTyped(b *testing.B) {
	typed := func(name, data string) []byte { return []byte("event: " + name + "\ndata: " + data + "\n\n") }
	responses := [][]byte{typed("response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","error":null}}`)}
	anthropic := [][]byte{
		typed("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":18,"output_tokens":1}}}`),
		typed("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
	}
	for i := range 20 {
		responses = append(responses, typed("response.output_text.delta",
			fmt.Sprintf(`{"type":"response.output_text.delta","sequence_number":%d,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" w%d"}`, i+1, i)))
		anthropic = append(anthropic, typed("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" w%d"}}`, i)))
	}
	responses = append(responses, typed("response.completed", `{"type":"response.completed","sequence_number":21,"response":{"id":"resp_1","object":"response","status":"completed","error":null,`+
		`"output":[],"usage":{"input_tokens":18,"output_tokens":20,"total_tokens":38}}}`))
	anthropic = append(anthropic, typed("content_block_stop", `{"type":"content_block_stop","index":0}`),
		typed("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":20}}`),
		typed("message_stop", `{"type":"message_stop"}`))

	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	f := &proxy.Forwarder{Client: &http.Client{Transport: tr}, FirstByteTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second}
	body := []byte(`{"model":"m","input":"hello","stream":true}`)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		dialect proxy.Dialect
		events  [][]byte
	}{
		{"responses 20 deltas", proxy.DialectResponses, responses},
		{"anthropic 20 deltas", proxy.DialectAnthropic, anthropic},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := typedBackend(b, tc.events)
			w := &benchWriter{h: http.Header{}}
			req := &proxy.Request{URL: srv.URL + "/v1/x", Body: body, APIKey: "sk", Stream: true, Dialect: tc.dialect}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				res, err := f.Forward(ctx, w, req)
				if err != nil {
					b.Fatal(err)
				}
				if !res.HasUsage || w.n == 0 {
					b.Fatalf("usage %v, %d bytes", res.HasUsage, w.n)
				}
			}
		})
	}
}
