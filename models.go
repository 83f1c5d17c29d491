package nexus

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/limits"
	"github.com/nexusllm/nexus/registry"
)

// handleModels serves GET /v1/models: OpenAI's list, or Anthropic's when the
// client sent anthropic-version (Claude Code discovering models).
func (g *Gateway) handleModels(w http.ResponseWriter, r *http.Request) {
	anthropic := r.Header.Get("Anthropic-Version") != ""
	style := apiOpenAI
	if anthropic {
		style = apiAnthropic
	}
	p, ok := g.principal(w, r, style)
	if !ok {
		return
	}
	if anthropic {
		writeJSON(w, http.StatusOK, g.anthropicModelList(p))
		return
	}
	writeJSON(w, http.StatusOK, g.modelList(p))
}

// modelsFor lists the registry's models the key may use (all of them
// without a key), sorted.
func (g *Gateway) modelsFor(p *limits.Principal) []string {
	all := g.reg.Models()
	if p == nil {
		return slices.Clone(all)
	}
	out := []string{}
	for _, id := range all {
		if p.AllowsModel(id) {
			out = append(out, id)
		}
	}
	return out
}

// handleModel serves GET /v1/models/{model} (ids may contain '/' and ':'):
// the model across its healthy backends, or 404 in the caller's envelope.
func (g *Gateway) handleModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("model")
	style := apiOpenAI
	if r.Header.Get("Anthropic-Version") != "" {
		style = apiAnthropic
	}
	p, ok := g.principal(w, r, style)
	if !ok {
		return
	}
	var entry *api.Model
	for _, m := range g.modelList(p).Data {
		if m.ID != id {
			continue
		}
		if entry == nil {
			e := m
			entry = &e
		}
		entry.Backends = append(entry.Backends, m.OwnedBy)
	}
	if entry == nil {
		msg := "The model '" + id + "' does not exist or is not available."
		if r.Header.Get("Anthropic-Version") != "" {
			openai.WriteAnthropicError(w, http.StatusNotFound, "", msg)
			return
		}
		openai.WriteError(w, http.StatusNotFound, msg, openai.TypeInvalidRequest, "model", openai.CodeModelNotFound)
		return
	}
	if r.Header.Get("Anthropic-Version") != "" {
		writeJSON(w, http.StatusOK, g.anthropicModel(id))
		return
	}
	writeJSON(w, http.StatusOK, entry)
}

// modelList lists one entry per (model, healthy backend) the key may use
// (every one for a nil key), sorted by model id then backend name.
func (g *Gateway) modelList(p *limits.Principal) api.ModelList {
	created := g.started.Unix()
	data := []api.Model{}
	for _, b := range g.reg.Backends() {
		if !b.Healthy() {
			continue
		}
		endpoints := b.Endpoints().Names()
		for _, m := range b.Models() {
			if p != nil && !p.AllowsModel(m.ID) {
				continue
			}
			data = append(data, api.Model{
				ID: m.ID, Object: "model", Created: created, OwnedBy: b.Name,
				ContextLength: m.ContextLength,
				Capabilities:  capabilities(m),
				Endpoints:     endpoints,
			})
		}
	}
	slices.SortFunc(data, func(a, b api.Model) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.OwnedBy, b.OwnedBy))
	})
	return api.ModelList{Object: "list", Data: data}
}

// capabilities describes a model's reported features.
func capabilities(m registry.Model) api.Capabilities {
	c := api.Capabilities{Vision: m.Vision.Bool(), Tools: m.Tools.Bool(), JSONMode: m.JSONMode.Bool()}
	for _, k := range [...]struct {
		c    registry.Capability
		name string
	}{{m.Completion, "completion"}, {m.Embedding, "embedding"}, {m.Insert, "insert"}} {
		if k.c.Bool() {
			c.Kinds = append(c.Kinds, k.name)
		}
	}
	return c
}

// anthropicModelList lists each model on a healthy backend once, in
// Anthropic's shape.
func (g *Gateway) anthropicModelList(p *limits.Principal) api.AnthropicModelList {
	list := api.AnthropicModelList{Data: []api.AnthropicModel{}}
	for _, id := range g.modelsFor(p) {
		if g.healthyModel(id) {
			list.Data = append(list.Data, g.anthropicModel(id))
		}
	}
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = &list.Data[0].ID, &list.Data[n-1].ID
	}
	return list
}

func (g *Gateway) anthropicModel(id string) api.AnthropicModel {
	return api.AnthropicModel{Type: "model", ID: id, DisplayName: id, CreatedAt: g.started.UTC().Format(time.RFC3339)}
}

// healthyModel reports whether a healthy backend lists the model.
func (g *Gateway) healthyModel(id string) bool {
	for _, b := range g.reg.Lookup(id) {
		if b.Healthy() {
			return true
		}
	}
	return false
}

// Health summarises the fleet: "healthy" when every backend is healthy,
// "degraded" when some are, "unhealthy" when none are (or there are none).
func (g *Gateway) Health() api.Health {
	total, healthy, models := g.reg.Counts()
	status := "unhealthy"
	switch {
	case total > 0 && healthy == total:
		status = "healthy"
	case healthy > 0:
		status = "degraded"
	}
	return api.Health{
		Status:        status,
		UptimeSeconds: int64(time.Since(g.started).Seconds()),
		Backends:      api.BackendsHealth{Total: total, Healthy: healthy, Unhealthy: total - healthy},
		Models:        models,
	}
}

func (g *Gateway) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, g.Health())
}

// Ready reports whether the gateway should receive traffic: Start's first
// probe round has finished, at least one backend is healthy, and Drain has
// not been called. It is GET /ready's answer; GET /health stays the
// liveness answer.
func (g *Gateway) Ready() (bool, string) {
	switch {
	case g.draining.Load():
		return false, "draining: the gateway is shutting down"
	case !g.probed.Load():
		return false, "starting: the first health check round has not finished"
	}
	if _, healthy, _ := g.reg.Counts(); healthy == 0 {
		return false, "no healthy backend"
	}
	return true, ""
}

// Drain marks the gateway as shutting down: GET /ready answers 503 from
// now on, so a load balancer stops sending new requests while the server
// drains the ones in flight. Requests still arriving are served.
func (g *Gateway) Drain() { g.draining.Store(true) }

// handleReady serves GET /ready: 200 {"status":"ready"} or 503 with the
// reason, for load balancers and orchestrators' readiness probes.
func (g *Gateway) handleReady(w http.ResponseWriter, r *http.Request) {
	ok, why := g.Ready()
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, api.Ready{Status: "not_ready", Reason: why})
		return
	}
	writeJSON(w, http.StatusOK, api.Ready{Status: "ready"})
}
