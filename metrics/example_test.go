package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// An embedder serves Nexus's metrics from its own Prometheus registry, next
// to its own collectors, and mounts the handlers on its own mux.
func Example() {
	ctx := context.Background()
	backends := registry.New()
	_, _ = backends.Add(registry.Config{
		Name:   "ollama-local",
		URL:    "http://127.0.0.1:11434",
		Models: []registry.Model{{ID: "llama3:8b"}},
	})

	promReg := prometheus.NewRegistry() // the embedder's own registry
	jobs := prometheus.NewCounter(prometheus.CounterOpts{Name: "app_jobs_total", Help: "Jobs run by the app."})
	promReg.MustRegister(jobs)
	jobs.Inc()

	m, err := metrics.New(backends, metrics.WithPrometheusRegistry(promReg))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close(ctx)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /v1/stats", m.StatsHandler())

	m.RecordRequest(ctx, metrics.Request{
		Model: "llama3:8b", Backend: "ollama-local", Status: http.StatusOK,
		Duration: 1500 * time.Millisecond, HasUsage: true, PromptTokens: 12, CompletionTokens: 30,
	})

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "nexus_requests_total{") || strings.HasPrefix(line, "app_jobs_total") {
			fmt.Print(line)
		}
	}
	s, _ := m.Stats(ctx)
	fmt.Println("stats:", s.Requests.Total, "request,", s.Tokens.Total, "tokens, model", s.Models[0].Name)
	// Output:
	// app_jobs_total 1
	// nexus_requests_total{backend="ollama_local",model="llama3_8b",status="200"} 1
	// stats: 1 request, 42 tokens, model llama3:8b
}
