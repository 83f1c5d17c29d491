package health

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/nexusllm/nexus/registry"
)

func BenchmarkGuessCapabilities(b *testing.B) {
	names := []string{"llama3.1:8b", "meta-llama/Llama-3.2-11B-Vision-Instruct", "gemma3:27b", "phi3:mini"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		guessCapabilities(names[i%len(names)])
		i++
	}
}

func BenchmarkParseOpenAIModels(b *testing.B) {
	data := make([]map[string]any, 300)
	for i := range data {
		data[i] = map[string]any{"id": fmt.Sprintf("vendor/model-%d-7b-instruct", i), "object": "model",
			"owned_by": "vendor", "context_length": 131072}
	}
	body, err := json.Marshal(map[string]any{"object": "list", "data": data})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseOpenAIModels(body); !ok {
			b.Fatal("not parsed")
		}
	}
}

// BenchmarkCheck is one full probe round trip on loopback plus applying
// it (unchanged models: no registry rebuild).
func BenchmarkCheck(b *testing.B) {
	for _, tc := range []struct {
		flavor string
		typ    registry.Type
	}{{flavorOpenAI, registry.TypeVLLM}, {flavorOllama, registry.TypeOllama}} {
		b.Run(string(tc.typ), func(b *testing.B) {
			f := newFake(b, tc.flavor, "llava:7b", "llama3.1:8b", "gemma:2b")
			reg := registry.New()
			be := addBackend(b, reg, "b", f.URL(), tc.typ, "")
			c := New(reg, Config{})
			b.Cleanup(c.Close)
			b.ReportAllocs()
			for b.Loop() {
				if res := c.Check(b.Context(), be); !res.OK {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
