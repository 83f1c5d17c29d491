package health

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

func TestGuessCapabilities(t *testing.T) {
	t.Parallel()
	const (
		u = registry.CapUnknown
		y = registry.CapYes
	)
	cases := []struct {
		name          string
		vision, tools registry.Capability
	}{
		{"llava:13b", y, u},
		{"bakllava", y, u},
		{"llama3.2-vision:11b", y, y},
		{"meta-llama/Llama-3.2-11B-Vision-Instruct", y, y},
		{"llama4:scout", y, y},
		{"meta-llama/Llama-4-Scout-17B-16E-Instruct", y, y},
		{"pixtral-12b", y, u},
		{"moondream:1.8b", y, u},
		{"minicpm-v:8b", y, u},
		{"qwen2.5vl:7b", y, y},
		{"Qwen/Qwen2.5-VL-7B-Instruct", y, y},
		{"gemma3:4b", y, u},
		{"gemma3:12b-it-qat", y, u},
		{"google/gemma-3-27b-it", y, u},
		{"gemma3:1b", u, u},
		{"gemma3n:e4b", u, u},
		{"gemma2:27b", u, u},
		{"mistral:7b", u, y},
		{"mistral-nemo", u, y},
		{"llama3.1:8b", u, y},
		{"meta-llama/Llama-3.1-8B-Instruct", u, y},
		{"llama3.3:70b", u, y},
		{"llama3:8b", u, u},
		{"qwen2.5:7b", u, y},
		{"qwen3:30b-a3b", u, y},
		{"command-r-plus", u, y},
		{"firefunction-v2", u, y},
		{"phi3:mini", u, u},
		{"", u, u},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, tl := guessCapabilities(tc.name)
			assert.Equal(t, tc.vision, v, "vision")
			assert.Equal(t, tc.tools, tl, "tools")
			assert.NotEqual(t, registry.CapNo, v, "heuristics never say no")
			assert.NotEqual(t, registry.CapNo, tl, "heuristics never say no")
		})
	}
}

func TestParseOpenAIModels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		body   string
		ok     bool
		models []registry.Model
	}{
		{"vllm max_model_len", `{"object":"list","data":[{"id":"m","owned_by":"vllm","max_model_len":32768}]}`, true,
			[]registry.Model{{ID: "m", ContextLength: 32768}}},
		{"context_length", `{"data":[{"id":"m","context_length":128000}]}`, true,
			[]registry.Model{{ID: "m", ContextLength: 128000}}},
		{"context_window", `{"data":[{"id":"m","context_window":8192}]}`, true,
			[]registry.Model{{ID: "m", ContextLength: 8192}}},
		{"no context: unknown", `{"data":[{"id":"m"}]}`, true, []registry.Model{{ID: "m"}}},
		{"odd field types are ignored", `{"data":[{"id":"a","context_length":"4096"},{"id":"b","max_model_len":{"x":1}},{"id":"c","context_length":-5}]}`, true,
			[]registry.Model{{ID: "a", ContextLength: 4096}, {ID: "b"}, {ID: "c"}}},
		{"duplicates and empty ids dropped", `{"data":[{"id":"a"},{"id":""},{"id":"a"},{"id":"b"}]}`, true,
			[]registry.Model{{ID: "a"}, {ID: "b"}}},
		{"empty list", `{"data":[]}`, true, []registry.Model{}},
		{"no data", `{"object":"list"}`, false, nil},
		{"data null", `{"data":null}`, false, nil},
		{"not json", `<html>`, false, nil},
		{"truncated", `{"data":[{"id":"a"}`, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			models, ok := parseOpenAIModels([]byte(tc.body))
			require.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.models, models)
		})
	}
}

func TestParseTags(t *testing.T) {
	t.Parallel()
	tags, ok := parseTags([]byte(`{"models":[{"name":"a:1","digest":"x"},{"model":"b:2"},{"name":""},{"name":"a:1"}]}`))
	require.True(t, ok)
	require.Len(t, tags, 2)
	assert.Equal(t, "a:1", tags[0].id())
	assert.Equal(t, "b:2", tags[1].id())

	for _, body := range []string{`{}`, `{"models":null}`, `[]`, `nope`, `{"models":[{"name":5}]}`} {
		_, ok := parseTags([]byte(body))
		assert.False(t, ok, body)
	}
}

func TestParseShow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		caps []string
		ctx  int
	}{
		{"architecture key wins", `{"capabilities":["completion","vision"],"model_info":{"general.architecture":"mllama","clip.context_length":77,"mllama.context_length":131072}}`,
			[]string{"completion", "vision"}, 131072},
		{"first sorted key otherwise", `{"model_info":{"b.context_length":2,"a.context_length":1}}`, nil, 1},
		{"no model_info", `{"capabilities":[]}`, []string{}, 0},
		{"float and string numbers", `{"model_info":{"general.architecture":"x","x.context_length":4096.0}}`, nil, 4096},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			info, ok := parseShow([]byte(tc.body))
			require.True(t, ok)
			assert.Equal(t, tc.caps, info.capabilities)
			assert.Equal(t, tc.ctx, info.contextLen)
		})
	}
	_, ok := parseShow([]byte(`{"capabilities":`))
	assert.False(t, ok)
}

func TestParseLlamaHealth(t *testing.T) {
	t.Parallel()
	s, ok := parseLlamaHealth([]byte(`{"status":"ok"}`))
	assert.True(t, ok)
	assert.Equal(t, "ok", s)
	s, ok = parseLlamaHealth([]byte(`{"status":"loading model"}`))
	assert.True(t, ok)
	assert.Equal(t, "loading model", s)
	for _, body := range []string{``, `{}`, `{"status":1}`, `ok`} {
		_, ok := parseLlamaHealth([]byte(body))
		assert.False(t, ok, body)
	}
}
