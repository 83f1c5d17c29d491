package routing_test

import (
	"fmt"

	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// A custom strategy is a plain function: this one always prefers the backend
// with the fewest requests in flight, and routing still handles aliases,
// failover and fallbacks around it.
func ExampleStrategyFunc() {
	reg := registry.New()
	for _, name := range []string{"gpu-a", "gpu-b"} {
		_, _ = reg.Add(registry.Config{
			Name:   name,
			URL:    "http://127.0.0.1:11434/" + name,
			Status: registry.StatusHealthy,
			Models: []registry.Model{{ID: "llama3"}},
		})
	}
	busy, _ := reg.Get("gpu-a")
	busy.Begin() // one request in flight on gpu-a

	leastBusy := routing.StrategyFunc(func(_ string, cands []*registry.Backend) (*registry.Backend, string) {
		best := cands[0]
		for _, b := range cands[1:] {
			if b.Pending() < best.Pending() {
				best = b
			}
		}
		return best, "least_busy"
	})
	router, err := routing.New(reg, routing.Config{
		Strategy:   leastBusy,
		MaxRetries: 1,
		Aliases:    map[string]string{"gpt-4": "llama3"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	route, err := router.Route(routing.Requirements{Model: "gpt-4"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		a, ok := route.Next() // call again only when the attempt failed
		if !ok {
			break
		}
		fmt.Printf("attempt %d: %s on %s (%s)\n", a.Number, a.Model, a.Backend.Name, a.Reason)
	}
	// Output:
	// attempt 1: llama3 on gpu-b (least_busy)
	// attempt 2: llama3 on gpu-a (failover)
}

// Route errors carry the HTTP status and OpenAI code to answer with.
func ExampleError() {
	reg := registry.New()
	_, _ = reg.Add(registry.Config{
		Name: "local", URL: "http://127.0.0.1:8080", Status: registry.StatusHealthy,
		Models: []registry.Model{{ID: "llama3", Vision: registry.CapNo}},
	})
	router, _ := routing.New(reg, routing.Config{})
	for _, req := range []routing.Requirements{
		{Model: "gpt-5"},
		{Model: "llama3", Vision: true},
	} {
		_, err := router.Route(req)
		if re, ok := err.(*routing.Error); ok {
			fmt.Println(re.Status(), re.Code(), re.Error())
		}
	}
	// Output:
	// 404 model_not_found Model 'gpt-5' not found. Available: llama3
	// 400 invalid_request_error Model 'llama3' lacks required capabilities: [vision]
}
