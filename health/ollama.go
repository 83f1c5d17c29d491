package health

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/nexusllm/nexus/registry"
)

// showCache remembers, per model id, what /api/show said about one build of
// the model, so a checker asks again only for new or changed models.
type showCache map[string]showEntry

type showEntry struct {
	version string
	model   registry.Model
}

// describe turns the /api/tags entries into models, asking /api/show about
// each model that prev does not describe, a few at a time. All /api/show
// requests of one call share one budget of p.timeout; a model whose
// description fails or runs out of time falls back to name heuristics and
// is asked about again next time.
func (p prober) describe(ctx context.Context, b *registry.Backend, tags []tagModel, prev showCache) ([]registry.Model, showCache) {
	models := make([]registry.Model, len(tags))
	next := make(showCache, len(tags))
	todo := make([]int, 0, len(tags))
	for i, t := range tags {
		if e, ok := prev[t.id()]; ok && t.Digest != "" && e.version == t.version() {
			models[i] = e.model
			next[t.id()] = e
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return models, next
	}

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	described := make([]bool, len(todo))
	var cursor atomic.Int64
	var wg sync.WaitGroup
	for range min(showConcurrency, len(todo)) {
		wg.Go(func() {
			for {
				j := int(cursor.Add(1)) - 1
				if j >= len(todo) {
					return
				}
				i := todo[j]
				models[i], described[j] = p.show(ctx, b, tags[i].id())
			}
		})
	}
	wg.Wait()

	for j, i := range todo {
		if described[j] && tags[i].Digest != "" {
			next[tags[i].id()] = showEntry{version: tags[i].version(), model: models[i]}
		}
	}
	return models, next
}

// show describes one Ollama model with POST /api/show. ok is false when
// the model could only be described by its name.
func (p prober) show(ctx context.Context, b *registry.Backend, id string) (m registry.Model, ok bool) {
	m = registry.Model{ID: id}
	m.Vision, m.Tools = guessCapabilities(id)
	// "name" is what Ollama releases before "model" existed read.
	body, err := json.Marshal(struct {
		Model string `json:"model"`
		Name  string `json:"name"`
	}{id, id})
	if err != nil {
		return m, false
	}
	ans, err := p.exchange(ctx, http.MethodPost, b.URL+"/api/show", b.APIKey(), body)
	if err != nil || !ans.ok() {
		return m, false
	}
	info, ok := parseShow(ans.body)
	if !ok {
		return m, false
	}
	if info.capabilities != nil {
		m.Vision = registry.CapabilityOf(slices.Contains(info.capabilities, "vision"))
		m.Tools = registry.CapabilityOf(slices.Contains(info.capabilities, "tools"))
		m.Completion = registry.CapabilityOf(slices.Contains(info.capabilities, "completion"))
		m.Embedding = registry.CapabilityOf(slices.Contains(info.capabilities, "embedding"))
		m.Insert = registry.CapabilityOf(slices.Contains(info.capabilities, "insert"))
	}
	m.ContextLength = info.contextLen
	return m, true
}
