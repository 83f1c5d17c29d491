// Command custom-strategy plugs an embedder's own routing strategy into the
// gateway: every request goes to the backend that has completed the fewest
// requests so far, the first such backend on a tie.
//
//	go run ./examples/custom-strategy
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// fewestRequests picks the candidate with the fewest completed requests.
// Candidates are healthy and able to serve the request; the slice is
// read-only.
func fewestRequests(_ string, candidates []*registry.Backend) (*registry.Backend, string) {
	pick := candidates[0]
	for _, b := range candidates[1:] {
		if b.Requests() < pick.Requests() {
			pick = b
		}
	}
	return pick, "fewest_requests"
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-strategy:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled, cfg.HealthCheck.Enabled = false, false
	for _, name := range []string{"alpha", "beta", "gamma"} {
		b, err := nexustest.Start(nexustest.Models("llama3"))
		if err != nil {
			return err
		}
		defer b.Close()
		cfg.Backends = append(cfg.Backends, nexus.BackendConfig{Name: name, URL: b.URL(), Models: []nexus.ModelConfig{{ID: "llama3"}}})
	}
	gw, err := nexus.New(cfg, nexus.WithStrategy(routing.StrategyFunc(fewestRequests)))
	if err != nil {
		return err
	}
	defer gw.Close()
	if err := gw.Start(context.Background()); err != nil {
		return err
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()

	// One connection, so each request is handled only after the previous
	// one has finished and been counted in Requests.
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for i := 1; i <= 4; i++ {
		resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"llama3","messages":[{"role":"user","content":"Hi"}]}`))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Fprintf(w, "request %d: %d from %s (%s)\n", i, resp.StatusCode,
			resp.Header.Get(nexus.HeaderBackend), resp.Header.Get(nexus.HeaderRouteReason))
	}
	return nil
}
