// Command prometheus shows an embedder that owns the Prometheus registry:
// Nexus's metrics are registered on it next to the Go runtime collector, and
// the application serves /metrics from it with promhttp.
//
//	go run ./examples/prometheus
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "prometheus:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	backend, err := nexustest.Start(nexustest.Models("llama3"))
	if err != nil {
		return err
	}
	defer backend.Close()

	promReg := prometheus.NewRegistry() // the application's own registry
	promReg.MustRegister(collectors.NewGoCollector())
	reg := registry.New() // shared by the metrics and the gateway
	m, err := metrics.New(reg, metrics.WithPrometheusRegistry(promReg))
	if err != nil {
		return err
	}
	defer m.Close(context.Background()) // the embedder owns m; Gateway.Close leaves it open

	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled, cfg.HealthCheck.Enabled = false, false
	cfg.Backends = []nexus.BackendConfig{{Name: "gpu-1", URL: backend.URL(), Models: []nexus.ModelConfig{{ID: "llama3"}}}}
	gw, err := nexus.New(cfg, nexus.WithRegistry(reg), nexus.WithMetrics(m))
	if err != nil {
		return err
	}
	defer gw.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(promReg, promhttp.HandlerOpts{}))
	mux.Handle("GET /v1/stats", gw.Metrics().StatsHandler())
	mux.Handle("/", gw)            // the inference API
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	defer srv.Close()

	for range 2 {
		resp, err := srv.Client().Post(srv.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"llama3","messages":[{"role":"user","content":"Hi"}]}`))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	scrape, err := get(srv.Client(), srv.URL+"/metrics")
	if err != nil {
		return err
	}
	for line := range strings.Lines(scrape) {
		if strings.HasPrefix(line, "nexus_requests_total") {
			fmt.Fprint(w, line)
		}
	}
	fmt.Fprintln(w, "same scrape has go_goroutines:", strings.Contains(scrape, "\ngo_goroutines "))

	raw, err := get(srv.Client(), srv.URL+"/v1/stats")
	if err != nil {
		return err
	}
	var stats metrics.Stats
	if err := json.Unmarshal([]byte(raw), &stats); err != nil {
		return err
	}
	r := stats.Requests
	fmt.Fprintf(w, "/v1/stats: requests total=%d success=%d errors=%d\n", r.Total, r.Success, r.Errors)
	return nil
}

// get returns the body of a GET request that must answer 200.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}
