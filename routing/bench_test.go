package routing

import (
	"fmt"
	"testing"
	"time"

	"github.com/nexusllm/nexus/registry"
)

// benchRouter returns a router over 50 healthy backends that each serve the
// same 5 models, with varied priority, load and latency.
func benchRouter(b *testing.B, s Strategy) (*Router, []string) {
	b.Helper()
	ids := []string{"llama3", "mistral", "phi3", "qwen2", "gemma2"}
	ms := make([]registry.Model, len(ids))
	for i, id := range ids {
		ms[i] = registry.Model{ID: id, ContextLength: 8192}
	}
	reg := registry.New()
	for i := range 50 {
		be, err := reg.Add(registry.Config{
			Name:     fmt.Sprintf("backend-%02d", i),
			URL:      fmt.Sprintf("http://127.0.0.1:%d", 9000+i),
			Priority: i % 7 * 10,
			Status:   registry.StatusHealthy,
			Models:   ms,
		})
		if err != nil {
			b.Fatal(err)
		}
		for range i % 5 {
			be.Begin()
		}
	}
	r, err := New(reg, Config{Strategy: s, MaxRetries: 2, Aliases: map[string]string{"gpt-4": "llama3"}})
	if err != nil {
		b.Fatal(err)
	}
	return r, append(ids, "gpt-4")
}

func benchmarkRoute(b *testing.B, s Strategy, req Requirements) {
	r, models := benchRouter(b, s)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req.Model = models[i%len(models)]
		i++
		rt, err := r.Route(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := rt.Next(); !ok {
			b.Fatal("no attempt")
		}
	}
}

// BenchmarkRoute50Backends is one routing decision (Route + first Next) among
// 50 backends serving 5 models.
func BenchmarkRoute50Backends(b *testing.B) {
	req := Requirements{EstimatedTokens: 500}
	b.Run("smart", func(b *testing.B) { benchmarkRoute(b, Smart(DefaultWeights()), req) })
	b.Run("round_robin", func(b *testing.B) { benchmarkRoute(b, RoundRobin(), req) })
	b.Run("priority_only", func(b *testing.B) { benchmarkRoute(b, PriorityOnly(), req) })
	b.Run("random", func(b *testing.B) { benchmarkRoute(b, Random(), req) })
	b.Run("smart_no_requirements", func(b *testing.B) { benchmarkRoute(b, Smart(DefaultWeights()), Requirements{}) })
}

// BenchmarkRouteFailover is a request whose first two backends fail: Route
// plus three Next calls, the later ones filtering out tried backends.
func BenchmarkRouteFailover(b *testing.B) {
	r, _ := benchRouter(b, Smart(DefaultWeights()))
	req := Requirements{Model: "llama3", EstimatedTokens: 500}
	b.ReportAllocs()
	for b.Loop() {
		rt, err := r.Route(req)
		if err != nil {
			b.Fatal(err)
		}
		for range 3 {
			if _, ok := rt.Next(); !ok {
				b.Fatal("no attempt")
			}
		}
	}
}

// BenchmarkRouteSignals50Backends is one routing decision among 50
// backends that all report fresh load (vLLM-like running/waiting/KV, a few
// saturated, some at max_concurrency, Ollama-like loaded models on every
// third): smart with signals, and smart with session affinity on top.
func BenchmarkRouteSignals50Backends(b *testing.B) {
	setup := func(b *testing.B, affinity bool) *Router {
		r, _ := benchRouter(b, Smart(DefaultWeights()))
		now := time.Now()
		for i, be := range r.reg.Backends() {
			l := registry.NewLoad(now)
			l.Running, l.Waiting, l.KVCacheUsage = i%8, i%7, float64(i%10)/10
			if i%3 == 0 {
				l.LoadedModels = []registry.LoadedModel{{Name: "llama3"}, {Name: "phi3"}}
			}
			be.SetLoad(l)
		}
		r2, err := New(r.reg, Config{Strategy: Smart(DefaultWeights()), MaxRetries: 2, Affinity: affinity})
		if err != nil {
			b.Fatal(err)
		}
		return r2
	}
	run := func(b *testing.B, affinity bool) {
		r := setup(b, affinity)
		keys := make([]string, 64)
		for i := range keys {
			keys[i] = fmt.Sprintf("session-%d", i)
		}
		models := []string{"llama3", "mistral", "phi3", "qwen2", "gemma2"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req := Requirements{Model: models[i%len(models)], EstimatedTokens: 500}
			if affinity {
				req.SessionKey = keys[i%len(keys)]
			}
			i++
			rt, err := r.Route(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := rt.Next(); !ok {
				b.Fatal("no attempt")
			}
		}
	}
	b.Run("smart_signals", func(b *testing.B) { run(b, false) })
	b.Run("smart_signals_affinity", func(b *testing.B) { run(b, true) })
}
