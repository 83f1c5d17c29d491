package health

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

// TestProbeAnthropic probes a simulated Anthropic API: GET /v1/models with
// x-api-key and anthropic-version, answered in Anthropic's list shape.
func TestProbeAnthropic(t *testing.T) {
	t.Parallel()
	const key = "sk-ant-backend"
	fake := nexustest.NewBackend(t, nexustest.Anthropic(), nexustest.APIKey(key),
		nexustest.Models("claude-sonnet-4-5", "claude-haiku-4-5"))
	tests := []struct {
		name   string
		key    string
		ok     bool
		status int
	}{
		{"right key", key, true, http.StatusOK},
		{"wrong key", "sk-wrong", false, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := registry.New()
			b := addBackend(t, reg, "claude", fake.URL(), registry.TypeAnthropic, tc.key)
			res := Probe(t.Context(), nil, b)
			assert.Equal(t, tc.ok, res.OK, "%v", res.Err)
			assert.Equal(t, tc.status, res.StatusCode)
			if !tc.ok {
				require.ErrorIs(t, res.Err, ErrHTTPStatus)
				assert.NotContains(t, res.Err.Error(), tc.key)
				return
			}
			require.True(t, res.ModelsParsed)
			assert.Equal(t, []string{"claude-sonnet-4-5", "claude-haiku-4-5"}, modelIDs(res.Models))
			for _, m := range res.Models {
				assert.Equal(t, registry.CapYes, m.Tools, m.ID)
				assert.Equal(t, registry.CapYes, m.Completion, m.ID)
			}
		})
	}
	// Every probe carried Anthropic's headers, never a Bearer token.
	for _, r := range fake.Requests() {
		assert.Equal(t, "/v1/models", r.Path)
		assert.Equal(t, "limit=1000", r.RawQuery)
		assert.Equal(t, anthropicVersion, r.Header.Get("anthropic-version"))
		assert.NotEmpty(t, r.Header.Get("x-api-key"))
		assert.Empty(t, r.Header.Get("Authorization"))
	}
}

// pagedAnthropic serves Anthropic's model list in pages of size, with
// after_id, as Anthropic's API does; failPage > 0 answers that page (1 =
// the first) with 500.
type pagedAnthropic struct {
	ids      []string
	size     int
	failPage int

	mu    sync.Mutex
	pages int
}

func (p *pagedAnthropic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.pages++
	n := p.pages
	p.mu.Unlock()
	if r.Header.Get("anthropic-version") == "" || r.Header.Get("x-api-key") != "k" {
		http.Error(w, `{"type":"error"}`, http.StatusBadRequest)
		return
	}
	if n == p.failPage {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	start := 0
	if after := r.URL.Query().Get("after_id"); after != "" {
		for i, id := range p.ids {
			if id == after {
				start = i + 1
			}
		}
	}
	end := min(start+p.size, len(p.ids))
	type model struct {
		Type           string         `json:"type"`
		ID             string         `json:"id"`
		MaxInputTokens int            `json:"max_input_tokens,omitempty"`
		Capabilities   map[string]any `json:"capabilities,omitempty"`
	}
	data := []model{}
	for i, id := range p.ids[start:end] {
		m := model{Type: "model", ID: id}
		if i == 0 {
			m.MaxInputTokens = 200000 + start
			m.Capabilities = map[string]any{"image_input": map[string]bool{"supported": start == 0},
				"structured_outputs": map[string]bool{"supported": true}}
		}
		data = append(data, m)
	}
	body := map[string]any{"data": data, "has_more": end < len(p.ids), "first_id": nil, "last_id": nil}
	if len(data) > 0 {
		body["first_id"], body["last_id"] = data[0].ID, data[len(data)-1].ID
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func TestProbeAnthropicPages(t *testing.T) {
	t.Parallel()
	ids := make([]string, 25)
	for i := range ids {
		ids[i] = "claude-" + strconv.Itoa(i)
	}
	tests := []struct {
		name     string
		size     int
		failPage int
		parsed   bool
		models   int
		pages    int
	}{
		{"one page", 100, 0, true, 25, 1},
		{"three pages", 10, 0, true, 25, 3},
		{"pages bounded", 1, 0, true, maxAnthropicPages, maxAnthropicPages},
		{"a later page fails: keep the last list", 10, 2, false, 0, 2},
		{"the first page fails", 10, 1, false, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := &pagedAnthropic{ids: ids, size: tc.size, failPage: tc.failPage}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			b := addBackend(t, registry.New(), "claude", ts.URL, registry.TypeAnthropic, "k")
			res := Probe(t.Context(), nil, b)
			assert.Equal(t, tc.failPage != 1, res.OK, "%v", res.Err)
			assert.Equal(t, tc.parsed, res.ModelsParsed)
			assert.Len(t, res.Models, tc.models)
			assert.Equal(t, tc.pages, srv.pages)
			if tc.name == "three pages" {
				first, second := res.Models[0], res.Models[10]
				assert.Equal(t, registry.Model{ID: "claude-0", ContextLength: 200000, Vision: registry.CapYes,
					Tools: registry.CapYes, JSONMode: registry.CapYes, Completion: registry.CapYes}, first)
				assert.Equal(t, registry.CapNo, second.Vision, "reported, not guessed")
				assert.Equal(t, registry.CapUnknown, res.Models[1].Vision)
			}
		})
	}
}

func TestParseAnthropicModels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		ok         bool
		ids        []string
		next       string
	}{
		{"list", `{"data":[{"type":"model","id":"a"},{"type":"model","id":"b"},{"id":"a"},{"id":""}],"has_more":false,"first_id":"a","last_id":"b"}`, true, []string{"a", "b"}, ""},
		{"has more", `{"data":[{"id":"a"}],"has_more":true,"last_id":"a"}`, true, []string{"a"}, "a"},
		{"has more without last_id", `{"data":[{"id":"a"}],"has_more":true,"last_id":null}`, true, []string{"a"}, ""},
		{"odd members", `{"data":[{"id":"a","max_input_tokens":"x","capabilities":null}]}`, true, []string{"a"}, ""},
		{"no data", `{"has_more":false}`, false, nil, ""},
		{"not JSON", `<html>`, false, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			models, next, ok := parseAnthropicModels(nil, map[string]struct{}{}, []byte(tc.body))
			assert.Equal(t, tc.ok, ok)
			if tc.ids == nil {
				assert.Empty(t, models)
			} else {
				assert.Equal(t, tc.ids, modelIDs(models))
			}
			assert.Equal(t, tc.next, next)
		})
	}
}
