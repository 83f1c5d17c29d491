package nexustest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nexusllm/nexus/nexustest"
)

// BenchmarkChat measures one round trip to the fake over loopback, the
// baseline ("direct") figure of the gateway load benchmarks.
func BenchmarkChat(b *testing.B) {
	for _, stream := range []bool{false, true} {
		name := "plain"
		if stream {
			name = "stream"
		}
		b.Run(name, func(b *testing.B) {
			be := nexustest.NewBackend(b, nexustest.NoRecord())
			c := newClient(b)
			body := chatBody("test-model", stream, stream, "hello there")
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Post(be.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatal(resp.Status)
				}
			}
		})
	}
}

// BenchmarkEndpoints measures one round trip per inference endpoint, plain
// and streamed, the baseline of the gateway's per-endpoint benchmarks.
func BenchmarkEndpoints(b *testing.B) {
	for _, ec := range endpointCases() {
		for _, body := range []string{ec.body, ec.stream} {
			if body == "" {
				continue
			}
			name := ec.name + "/plain"
			if body == ec.stream {
				name = ec.name + "/stream"
			}
			b.Run(name, func(b *testing.B) {
				be := nexustest.NewBackend(b, nexustest.NoRecord())
				c := newClient(b)
				b.ReportAllocs()
				for b.Loop() {
					resp, err := c.Post(be.URL()+ec.path, "application/json", strings.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatal(resp.Status)
					}
				}
			})
		}
	}
}
