package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/nexusllm/nexus/registry"
)

// An Anthropic-API backend (type anthropic) is probed with GET
// /v1/models, authenticated as Anthropic's API wants it (x-api-key and
// anthropic-version, see credentials), and answers Anthropic's list shape:
// {"data":[{"type":"model","id",...}],"has_more","first_id","last_id"},
// paged with limit and after_id.
const (
	// anthropicVersion is the API version the probes send.
	anthropicVersion = "2023-06-01"
	// anthropicModelsPath asks for the largest page Anthropic serves.
	anthropicModelsPath = "/v1/models?limit=1000"
	// maxAnthropicPages bounds how many pages one probe follows.
	maxAnthropicPages = 10
)

// anthropicModel is one entry of Anthropic's GET /v1/models. Besides the
// id it may carry the model's limits (max_input_tokens, max_tokens) and
// capabilities; older servers and proxies send only id and display_name.
type anthropicModel struct {
	ID             string     `json:"id"`
	MaxInputTokens lenientInt `json:"max_input_tokens"`
	MaxTokens      lenientInt `json:"max_tokens"`
	Capabilities   *struct {
		ImageInput        *anthropicSupport `json:"image_input"`
		StructuredOutputs *anthropicSupport `json:"structured_outputs"`
	} `json:"capabilities"`
}

type anthropicSupport struct {
	Supported bool `json:"supported"`
}

// anthropicPage is one page of Anthropic's model list.
type anthropicPage struct {
	Data    *[]anthropicModel `json:"data"`
	HasMore bool              `json:"has_more"`
	LastID  string            `json:"last_id"`
}

// parseAnthropicModels parses one page of Anthropic's GET /v1/models into
// models, appended to dst (ids already in seen are skipped), and reports
// the id after which the next page starts ("" for the last page). ok is
// false when the body is not JSON or has no "data" array.
func parseAnthropicModels(dst []registry.Model, seen map[string]struct{}, body []byte) (models []registry.Model, next string, ok bool) {
	var page anthropicPage
	if json.Unmarshal(body, &page) != nil || page.Data == nil {
		return dst, "", false
	}
	for _, e := range *page.Data {
		if _, dup := seen[e.ID]; dup || e.ID == "" {
			continue
		}
		seen[e.ID] = struct{}{}
		// Every model of the Messages API generates text and calls tools.
		m := registry.Model{ID: e.ID, ContextLength: int(e.MaxInputTokens), MaxOutputTokens: int(e.MaxTokens),
			Tools: registry.CapYes, Completion: registry.CapYes}
		m.Vision, _ = guessCapabilities(e.ID)
		if c := e.Capabilities; c != nil {
			m.Vision = capability(c.ImageInput, m.Vision)
			m.JSONMode = capability(c.StructuredOutputs, registry.CapUnknown)
		}
		dst = append(dst, m)
	}
	if page.HasMore && page.LastID != "" {
		next = page.LastID
	}
	return dst, next, true
}

// capability is what a reported support flag says, or def when none was
// reported.
func capability(s *anthropicSupport, def registry.Capability) registry.Capability {
	switch {
	case s == nil:
		return def
	case s.Supported:
		return registry.CapYes
	}
	return registry.CapNo
}

// anthropicModels reads an Anthropic-API backend's model list, first (the
// probe's answer) and the pages after it. Any failure on a later page only
// means "keep the last known list": a partial list would drop models.
func (p prober) anthropicModels(ctx context.Context, b *registry.Backend, cred credentials, first []byte) ([]registry.Model, bool) {
	seen := map[string]struct{}{}
	models, next, ok := parseAnthropicModels(nil, seen, first)
	for page := 1; ok && next != "" && page < maxAnthropicPages; page++ {
		ans, err := p.send(ctx, http.MethodGet, b.URL+anthropicModelsPath+"&after_id="+url.QueryEscape(next), cred, nil)
		if err != nil || !ans.ok() {
			return nil, false
		}
		models, next, ok = parseAnthropicModels(models, seen, ans.body)
	}
	if !ok {
		return nil, false
	}
	return models, true
}
