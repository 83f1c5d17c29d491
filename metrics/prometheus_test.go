package metrics_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nexusllm/nexus/internal/promtest"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
)

// TestRealPrometheusScrapes runs a Prometheus server on loopback against
// Handler and checks that it stores exactly the requests recorded.
func TestRealPrometheusScrapes(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	addBackend(t, reg, "ollama-local:11434", registry.StatusHealthy, "llama3:70b")
	m := newMetrics(t, reg)
	target := httptest.NewServer(m.Handler())
	t.Cleanup(target.Close)
	prom := promtest.Start(t, target.Listener.Addr().String())
	waitFor := func(what, q string, want float64) { t.Helper(); prom.WaitFor(t, what, q, want) }

	waitFor("first scrape", `up{job="nexus"}`, 1)
	const n = 17
	for i := range n {
		status := 200
		if i%5 == 0 {
			status = 503
		}
		m.RecordRequest(context.Background(), metrics.Request{Model: "llama3:70b", Backend: "ollama-local:11434",
			Status: status, Duration: time.Duration(i) * 100 * time.Millisecond, HasUsage: true, PromptTokens: 10, CompletionTokens: 5})
	}
	waitFor("requests", "sum(nexus_requests_total)", n)
	waitFor("errors", `sum(nexus_requests_total{status="503"})`, 4)
	waitFor("labels", `sum(nexus_requests_total{model="llama3_70b",backend="ollama_local_11434"})`, n)
	waitFor("tokens", "sum(nexus_tokens_total_sum)", n*15)
	waitFor("gauge", "nexus_backends_healthy", 1)
}
