package nexustest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

// engineLoad starts an engine of typ with 4 slots and puts 6 requests on
// it (4 running, 2 waiting), each holding a prompt of 100 tokens. It
// returns the engine and a func that ends the requests.
func engineLoad(t *testing.T, typ string) (*nexustest.Engine, *http.Client, func()) {
	t.Helper()
	e := nexustest.NewEngine(t, nexustest.EngineConfig{
		Type: typ, Name: typ + "-1", Models: []string{"org/model-a", "model-b"}, Slots: 4,
		DecodeTime: engineForever, PrefillPerToken: -1, CacheBlocks: 100, ContextLength: 8192,
	})
	c := engineClient(t)
	var held []*engineHeld
	for i := range 6 {
		held = append(held, engineHold(t, c, e, engineReq{model: "org/model-a", text: enginePrompt(100, "p", strings.Repeat("x", i))}))
		engineRunning(t, e, min(i+1, 4), max(i+1-4, 0))
	}
	return e, c, func() {
		for _, h := range held {
			h.stop()
		}
		engineRunning(t, e, 0, 0)
	}
}

func TestEngineVLLMMetrics(t *testing.T) {
	e, c, end := engineLoad(t, "vllm")
	fams := engineScrape(t, c, e.URL()+"/metrics")
	assert.Equal(t, 4.0, engineValue(t, fams, "vllm:num_requests_running"))
	assert.Equal(t, 2.0, engineValue(t, fams, "vllm:num_requests_waiting"))
	// 4 sequences of 100 prompt tokens hold 7 blocks each, of 100.
	assert.InDelta(t, 0.28, engineValue(t, fams, "vllm:kv_cache_usage_perc"), 1e-9)
	assert.Equal(t, map[string]string{"model_name": "org/model-a", "engine": "0"}, engineLabels(t, fams, "vllm:num_requests_running"))
	assert.Equal(t, "100", engineLabels(t, fams, "vllm:cache_config_info")["num_gpu_blocks"])
	assert.Equal(t, 400.0, engineValue(t, fams, "vllm:prompt_tokens_total"))
	assert.Equal(t, 400.0, engineValue(t, fams, "vllm:prefix_cache_queries_total"))
	assert.Equal(t, 3*96.0, engineValue(t, fams, "vllm:prefix_cache_hits_total"), "the 2nd to 4th prompts share 6 blocks")

	end()
	fams = engineScrape(t, c, e.URL()+"/metrics")
	assert.Equal(t, 0.0, engineValue(t, fams, "vllm:num_requests_running"))
	assert.Equal(t, 0.0, engineValue(t, fams, "vllm:num_requests_waiting"))
	assert.Equal(t, 0.0, engineValue(t, fams, "vllm:kv_cache_usage_perc"))
}

func TestEngineSGLangMetrics(t *testing.T) {
	e, c, end := engineLoad(t, "sglang")
	fams := engineScrape(t, c, e.URL()+"/metrics")
	assert.Equal(t, 4.0, engineValue(t, fams, "sglang:num_running_reqs"))
	assert.Equal(t, 2.0, engineValue(t, fams, "sglang:num_queue_reqs"))
	assert.Equal(t, 400.0, engineValue(t, fams, "sglang:num_used_tokens"))
	assert.InDelta(t, 0.28, engineValue(t, fams, "sglang:token_usage"), 1e-9)
	assert.Equal(t, 1600.0, engineValue(t, fams, "sglang:max_total_num_tokens"))
	assert.Equal(t, map[string]string{"model_name": "org/model-a", "engine_type": "unified", "tp_rank": "0", "pp_rank": "0"},
		engineLabels(t, fams, "sglang:num_running_reqs"))

	end()
	fams = engineScrape(t, c, e.URL()+"/metrics")
	assert.Equal(t, 0.0, engineValue(t, fams, "sglang:num_running_reqs"))
	assert.Equal(t, 0.0, engineValue(t, fams, "sglang:num_queue_reqs"))
}

func TestEngineLlamaCppSignals(t *testing.T) {
	e, c, end := engineLoad(t, "llamacpp")

	fams := engineScrape(t, c, e.URL()+"/metrics")
	assert.Equal(t, 4.0, engineValue(t, fams, "llamacpp:requests_processing"))
	assert.Equal(t, 2.0, engineValue(t, fams, "llamacpp:requests_deferred"))
	// Evaluated prompt tokens: the 2nd to 4th prompts share 96 cached tokens.
	assert.Equal(t, 400.0-3*96, engineValue(t, fams, "llamacpp:prompt_tokens_total"))

	var slots []struct {
		ID           int   `json:"id"`
		IDTask       int64 `json:"id_task"`
		NCtx         int   `json:"n_ctx"`
		IsProcessing bool  `json:"is_processing"`
		NextToken    struct {
			HasNextToken bool `json:"has_next_token"`
			NRemain      int  `json:"n_remain"`
			NDecoded     int  `json:"n_decoded"`
		} `json:"next_token"`
	}
	status, data := engineGet(t, c, e.URL()+"/slots")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(data, &slots), "body: %s", data)
	require.Len(t, slots, 4)
	for i, s := range slots {
		assert.Equal(t, i, s.ID)
		assert.Equal(t, int64(i), s.IDTask)
		assert.Equal(t, 8192, s.NCtx)
		assert.True(t, s.IsProcessing)
		assert.Equal(t, nexustest.DefaultEngineOutputTokens, s.NextToken.NRemain)
		assert.Zero(t, s.NextToken.NDecoded)
	}
	status, _ = engineGet(t, c, e.URL()+"/slots?fail_on_no_slot=1")
	assert.Equal(t, http.StatusServiceUnavailable, status, "no free slot")

	var props struct {
		TotalSlots int  `json:"total_slots"`
		IsSleeping bool `json:"is_sleeping"`
		Default    struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
	}
	status, data = engineGet(t, c, e.URL()+"/props")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(data, &props))
	assert.Equal(t, 4, props.TotalSlots)
	assert.Equal(t, 8192, props.Default.NCtx)

	status, data = engineGet(t, c, e.URL()+"/health")
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"status":"ok"}`, string(data))

	end()
	status, data = engineGet(t, c, e.URL()+"/slots?fail_on_no_slot=1")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(data, &slots))
	for _, s := range slots {
		assert.False(t, s.IsProcessing)
	}
	fams = engineScrape(t, c, e.URL()+"/metrics")
	assert.Equal(t, 0.0, engineValue(t, fams, "llamacpp:requests_processing"))
	assert.Equal(t, 0.0, engineValue(t, fams, "llamacpp:requests_deferred"))
}

func TestEngineOllamaSignals(t *testing.T) {
	e := nexustest.NewEngine(t, nexustest.EngineConfig{
		Type: "ollama", Models: []string{"llama3:8b", "qwen2:7b", "phi3:mini"}, MaxLoaded: 2,
		DecodeTime: -1, PrefillPerToken: -1, OutputTokens: 1, ContextLength: 8192,
	})
	c := engineClient(t)

	type psModel struct {
		Name          string    `json:"name"`
		Model         string    `json:"model"`
		Size          int64     `json:"size"`
		SizeVRAM      int64     `json:"size_vram"`
		Digest        string    `json:"digest"`
		ExpiresAt     time.Time `json:"expires_at"`
		ContextLength int       `json:"context_length"`
		Details       struct {
			Format string `json:"format"`
			Family string `json:"family"`
		} `json:"details"`
	}
	ps := func() []psModel {
		var doc struct {
			Models []psModel `json:"models"`
		}
		status, data := engineGet(t, c, e.URL()+"/api/ps")
		require.Equal(t, http.StatusOK, status)
		require.NoError(t, json.Unmarshal(data, &doc), "body: %s", data)
		return doc.Models
	}
	names := func(ms []psModel) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}

	assert.Empty(t, ps(), "nothing is loaded before the first request")
	engineChat(t, c, e, engineReq{model: "llama3:8b", text: "hi"})
	engineChat(t, c, e, engineReq{model: "qwen2:7b", text: "hi"})
	engineChat(t, c, e, engineReq{model: "phi3:mini", text: "hi"})
	loaded := ps()
	assert.Equal(t, []string{"phi3:mini", "qwen2:7b"}, names(loaded))
	m := loaded[0]
	assert.Equal(t, "phi3:mini", m.Model)
	assert.Positive(t, m.Size)
	assert.Equal(t, m.Size, m.SizeVRAM)
	assert.Len(t, m.Digest, 64)
	assert.Equal(t, 8192, m.ContextLength)
	assert.Equal(t, "gguf", m.Details.Format)
	assert.True(t, m.ExpiresAt.After(time.Now()), "expires keep_alive after last use")

	// /api/tags lists every model, loaded or not, for the health checker.
	var tags struct {
		Models []struct {
			Name   string `json:"name"`
			Digest string `json:"digest"`
		} `json:"models"`
	}
	status, data := engineGet(t, c, e.URL()+"/api/tags")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(data, &tags))
	require.Len(t, tags.Models, 3)
	assert.Equal(t, "llama3:8b", tags.Models[0].Name)

	status, data = engineDo(t, c, http.MethodPost, e.URL()+"/api/show", `{"model":"qwen2:7b"}`)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(data), `"llama.context_length":8192`)
	status, _ = engineDo(t, c, http.MethodPost, e.URL()+"/api/show", `{"model":"nope"}`)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestEngineModelsList(t *testing.T) {
	tests := []struct {
		typ       string
		wantOwner string
		wantField string
	}{
		{"vllm", "vllm", `"max_model_len":4096`},
		{"sglang", "sglang", `"max_model_len":4096`},
		{"llamacpp", "llamacpp", `"n_ctx_train":4096`},
		{"ollama", "library", `"owned_by":"library"`},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			e := nexustest.NewEngine(t, nexustest.EngineConfig{Type: tt.typ, Models: []string{"a", "b"}})
			status, data := engineGet(t, engineClient(t), e.URL()+"/v1/models")
			require.Equal(t, http.StatusOK, status)
			var list struct {
				Object string `json:"object"`
				Data   []struct {
					ID      string `json:"id"`
					OwnedBy string `json:"owned_by"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal(data, &list))
			assert.Equal(t, "list", list.Object)
			require.Len(t, list.Data, 2)
			assert.Equal(t, "a", list.Data[0].ID)
			assert.Equal(t, tt.wantOwner, list.Data[0].OwnedBy)
			assert.Contains(t, string(data), tt.wantField)
		})
	}
}
