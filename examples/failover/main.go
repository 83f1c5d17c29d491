// Command failover shows a request surviving a failing backend: the
// preferred backend (priority 1) answers every chat request with HTTP 500,
// and the gateway retries on the next backend before anything reaches the
// client, which sees a normal 200.
//
//	go run ./examples/failover
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	// Fail(500) breaks chat completions only; health probes still succeed,
	// so the broken backend stays in rotation and is tried first.
	broken, err := nexustest.Start(nexustest.Models("llama3"), nexustest.Fail(500))
	if err != nil {
		return err
	}
	defer broken.Close()
	spare, err := nexustest.Start(nexustest.Models("llama3"), nexustest.Reply("Served by the spare."))
	if err != nil {
		return err
	}
	defer spare.Close()

	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled, cfg.HealthCheck.Enabled = false, false
	cfg.Routing.Strategy = "priority_only" // lowest priority number first
	models := []nexus.ModelConfig{{ID: "llama3"}}
	cfg.Backends = []nexus.BackendConfig{
		{Name: "primary", URL: broken.URL(), Priority: 1, Models: models},
		{Name: "secondary", URL: spare.URL(), Priority: 2, Models: models},
	}
	gw, err := nexus.New(cfg)
	if err != nil {
		return err
	}
	defer gw.Close()
	if err := gw.Start(context.Background()); err != nil {
		return err
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()

	resp, err := srv.Client().Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"llama3","messages":[{"role":"user","content":"Hi"}]}`))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil || len(reply.Choices) == 0 {
		return fmt.Errorf("unexpected answer %s: %v", resp.Status, err)
	}
	fmt.Fprintln(w, "status:", resp.StatusCode)
	fmt.Fprintln(w, "reply:", reply.Choices[0].Message.Content)
	fmt.Fprintln(w, "X-Nexus-Backend:", resp.Header.Get(nexus.HeaderBackend))
	fmt.Fprintln(w, "X-Nexus-Route-Reason:", resp.Header.Get(nexus.HeaderRouteReason))
	fmt.Fprintln(w, "chat requests seen: primary", broken.ChatHits(), "secondary", spare.ChatHits())
	return nil
}
