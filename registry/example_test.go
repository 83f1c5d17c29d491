package registry_test

import (
	"fmt"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// Example builds a registry of two backends, marks one healthy, and asks
// which backends serve a model the way a router does.
func Example() {
	reg := registry.New()
	reg.OnChange(func() { fmt.Println("changed: now", len(reg.Backends()), "backends") })

	gpu, _ := reg.Add(registry.Config{
		Name:     "gpu-box",
		URL:      "http://127.0.0.1:8000/v1/", // normalised: "/v1" is added by Nexus
		Type:     registry.TypeVLLM,
		Priority: 1,
		Models:   []registry.Model{{ID: "llama3:8b", Tools: registry.CapYes}},
	})
	laptop, _ := reg.Add(registry.Config{
		Name:   "laptop",
		URL:    "http://127.0.0.1:11434",
		Type:   registry.TypeOllama,
		Models: []registry.Model{{ID: "llama3:8b"}, {ID: "qwen2.5:7b"}},
	})
	gpu.SetStatus(registry.StatusHealthy, "")
	laptop.SetStatus(registry.StatusUnhealthy, "connection refused")
	gpu.ObserveLatency(40 * time.Millisecond)

	for _, b := range reg.Lookup("llama3:8b") {
		m, _ := b.Model("llama3:8b")
		fmt.Printf("%s %s %s tools=%v latency=%v err=%q\n", b.Name, b.URL, b.Status(), m.Tools.Allows(), b.Latency(), b.LastError())
	}
	total, healthy, models := reg.Counts()
	fmt.Println("models:", reg.Models())
	fmt.Printf("backends=%d healthy=%d healthy models=%d\n", total, healthy, models)
	// Output:
	// changed: now 1 backends
	// changed: now 2 backends
	// gpu-box http://127.0.0.1:8000 healthy tools=true latency=40ms err=""
	// laptop http://127.0.0.1:11434 unhealthy tools=true latency=0s err="connection refused"
	// models: [llama3:8b qwen2.5:7b]
	// backends=2 healthy=1 healthy models=1
}
