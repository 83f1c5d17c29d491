package nexus_test

import (
	"github.com/nexusllm/nexus/api"

	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// ExampleNew builds a gateway in front of one backend whose models are
// listed in the configuration, starts it and reports the fleet's health.
func ExampleNew() {
	backend, err := nexustest.Start(nexustest.Models("llama3", "qwen2.5"))
	if err != nil {
		panic(err)
	}
	defer backend.Close()

	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled = false
	cfg.HealthCheck.Enabled = false // probe once in Start, no background checks
	cfg.Backends = []nexus.BackendConfig{{
		Name:   "gpu-1",
		URL:    backend.URL() + "/v1", // a trailing /v1 is accepted and dropped
		Type:   "vllm",
		Models: []nexus.ModelConfig{{ID: "llama3"}, {ID: "qwen2.5"}},
	}}
	gw, err := nexus.New(cfg)
	if err != nil {
		panic(err)
	}
	defer gw.Close()
	if err := gw.Start(context.Background()); err != nil {
		panic(err)
	}

	h := gw.Health()
	fmt.Println(h.Status, h.Backends.Healthy, "of", h.Backends.Total, "backends,", h.Models, "models")
	for _, b := range gw.Registry().Backends() {
		fmt.Println(b.Name, b.Type, b.Status(), b.URL == backend.URL())
	}
	fmt.Println(gw.Registry().Models())
	// Output:
	// healthy 1 of 1 backends, 2 models
	// gpu-1 vllm healthy true
	// [llama3 qwen2.5]
}

// ExampleGateway_ServeHTTP serves the gateway over HTTP and sends it a chat
// completion the way any OpenAI client would.
func ExampleGateway_ServeHTTP() {
	backend, err := nexustest.Start(nexustest.Models("llama3"), nexustest.Reply("Hello!"), nexustest.Usage(5, 2))
	if err != nil {
		panic(err)
	}
	defer backend.Close()

	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled, cfg.HealthCheck.Enabled = false, false
	cfg.Routing.Aliases = map[string]string{"default": "llama3"}
	cfg.Backends = []nexus.BackendConfig{{Name: "local", URL: backend.URL(), Models: []nexus.ModelConfig{{ID: "llama3"}}}}
	gw, err := nexus.New(cfg)
	if err != nil {
		panic(err)
	}
	defer gw.Close()

	srv := httptest.NewServer(gw) // or mux.Handle("/", gw) in your own server
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"default","messages":[{"role":"user","content":"Hi"}]}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Choices []struct{ Message struct{ Content string } }
		Usage   struct {
			TotalTokens int `json:"total_tokens"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, reply.Choices[0].Message.Content, reply.Usage.TotalTokens, "tokens")
	fmt.Println("backend:", resp.Header.Get(nexus.HeaderBackend))
	fmt.Println("model:", resp.Header.Get(nexus.HeaderModel))
	var sent struct{ Model string }
	_ = json.Unmarshal(backend.Requests()[0].Body, &sent)
	fmt.Println("sent to backend:", sent.Model) // the alias resolved

	var health api.Health
	res, err := srv.Client().Get(srv.URL + "/health")
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	_ = json.NewDecoder(res.Body).Decode(&health)
	fmt.Println("health:", res.StatusCode, health.Status)
	// Output:
	// 200 Hello! 7 tokens
	// backend: local
	// model: llama3
	// sent to backend: llama3
	// health: 200 healthy
}
