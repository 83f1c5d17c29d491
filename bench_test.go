package nexus_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// benchGateway returns a started gateway in front of one nexustest backend
// that streams chunks content events.
func benchGateway(b *testing.B, chunks int) *nexus.Gateway {
	b.Helper()
	words := make([]string, chunks)
	for i := range words {
		words[i] = " word"
	}
	be := nexustest.NewBackend(b, nexustest.NoRecord(), nexustest.Stream(words...))
	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled = false
	cfg.HealthCheck.Enabled = false
	cfg.Backends = []nexus.BackendConfig{{
		Name: "bench", URL: be.URL(), Type: "generic",
		Models: []nexus.ModelConfig{{ID: nexustest.DefaultModel}},
	}}
	gw, err := nexus.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = gw.Close() })
	if err := gw.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return gw
}

// benchChatBody is a short chat request.
func benchChatBody(stream bool) []byte {
	s := `{"model":"` + nexustest.DefaultModel + `","messages":[{"role":"system","content":"You are a concise assistant."},` +
		`{"role":"user","content":"In one sentence, what does an LLM gateway do?"}],"max_tokens":64,"temperature":0.2`
	if stream {
		s += `,"stream":true`
	}
	return []byte(s + "}")
}

// BenchmarkGatewayChat is one chat completion through Gateway.ServeHTTP
// (read, peek, route, forward over loopback to a nexustest backend, relay,
// record metrics) into an httptest.ResponseRecorder. The figures include
// the nexustest backend and both ends of net/http, which share the process;
// nexustest's own BenchmarkChat is the baseline without the gateway.
func BenchmarkGatewayChat(b *testing.B) {
	for _, tc := range []struct {
		name   string
		stream bool
	}{
		{"plain", false},
		{"stream 20 chunks", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			gw := benchGateway(b, 20)
			body := benchChatBody(tc.stream)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
				rec := httptest.NewRecorder()
				gw.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if tc.stream && !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") {
					b.Fatalf("stream without [DONE]: %s", rec.Body)
				}
			}
		})
	}
}

// BenchmarkGatewayChatParallel is BenchmarkGatewayChat/plain from every
// proc at once, to show contention in the gateway's shared state.
func BenchmarkGatewayChatParallel(b *testing.B) {
	gw := benchGateway(b, 20)
	body := benchChatBody(false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
		}
	})
}
