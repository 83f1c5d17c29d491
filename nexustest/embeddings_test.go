package nexustest_test

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

func TestEmbeddingFunction(t *testing.T) {
	t.Parallel()
	for _, dims := range []int{1, 3, 8, 1024} {
		v := nexustest.Embedding("hello", dims)
		require.Len(t, v, dims)
		var norm float64
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		assert.InDelta(t, 1, norm, 1e-5, "unit length, dims %d", dims)
		assert.Equal(t, v, nexustest.Embedding("hello", dims), "deterministic")
	}
	assert.NotEqual(t, nexustest.Embedding("hello", 8), nexustest.Embedding("hellp", 8))
}

func TestEmbeddingsRaw(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("embed"))
	c := newClient(t)
	tests := []struct {
		name, body string
		keys       []string
		dims       int
		base64     bool
		prompt     float64
	}{
		{name: "string", body: `{"model":"embed","input":"hello world"}`, keys: []string{"hello world"}, dims: 8, prompt: 2},
		{name: "strings, dimensions", body: `{"model":"embed","input":["a","bb"],"dimensions":3}`, keys: []string{"a", "bb"}, dims: 3, prompt: 1},
		{name: "tokens", body: `{"model":"embed","input":[1,2,3]}`, keys: []string{"[1,2,3]"}, dims: 8, prompt: 3},
		{name: "token arrays, base64", body: `{"model":"embed","input":[[1],[2,3]],"encoding_format":"base64"}`,
			keys: []string{"[1]", "[2,3]"}, dims: 8, base64: true, prompt: 3},
		{name: "explicit float", body: `{"model":"embed","input":"x","encoding_format":"float"}`, keys: []string{"x"}, dims: 8, prompt: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(t, c, "POST", b.URL()+"/v1/embeddings", tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
			m := decode(t, data)
			assert.Equal(t, "list", m["object"])
			assert.Equal(t, "embed", m["model"])
			assert.Equal(t, map[string]any{"prompt_tokens": tc.prompt, "total_tokens": tc.prompt}, m["usage"])
			items := m["data"].([]any)
			require.Len(t, items, len(tc.keys))
			for i, it := range items {
				item := it.(map[string]any)
				assert.Equal(t, "embedding", item["object"])
				assert.InDelta(t, i, item["index"], 0)
				want := nexustest.Embedding(tc.keys[i], tc.dims)
				if tc.base64 {
					raw, err := base64.StdEncoding.DecodeString(item["embedding"].(string))
					require.NoError(t, err)
					require.Len(t, raw, 4*tc.dims)
					for j := range want {
						assert.Equal(t, want[j], math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:])))
					}
					continue
				}
				got := item["embedding"].([]any)
				require.Len(t, got, tc.dims)
				for j := range want {
					assert.InDelta(t, want[j], got[j], 1e-7)
				}
			}
		})
	}
}

func TestEmbeddingsErrors(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t)
	c := newClient(t)
	tests := []struct {
		name, body string
		status     int
		param      any
	}{
		{name: "no input", body: `{"model":"test-model"}`, status: 400, param: "input"},
		{name: "empty input", body: `{"model":"test-model","input":[]}`, status: 400, param: "input"},
		{name: "object input", body: `{"model":"test-model","input":{"a":1}}`, status: 400, param: "input"},
		{name: "zero dimensions", body: `{"model":"test-model","input":"x","dimensions":0}`, status: 400, param: "dimensions"},
		{name: "bad format", body: `{"model":"test-model","input":"x","encoding_format":"int8"}`, status: 400, param: "encoding_format"},
		{name: "unknown model", body: `{"model":"nope","input":"x"}`, status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(t, c, "POST", b.URL()+"/v1/embeddings", tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", data)
			e := errorOf(t, data)
			assert.Equal(t, "invalid_request_error", e["type"])
			assert.Equal(t, tc.param, e["param"])
		})
	}
}

func TestEmbeddingsOpenAIClient(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("embed"))
	client := openaiClient(t, b)
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run(string(format), func(t *testing.T) {
			got, err := client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{
				Model:          "embed",
				Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one", "two"}},
				Dimensions:     param.NewOpt[int64](4),
				EncodingFormat: format,
			})
			require.NoError(t, err)
			require.Len(t, got.Data, 2)
			for i, key := range []string{"one", "two"} {
				want := nexustest.Embedding(key, 4)
				require.Len(t, got.Data[i].Embedding, 4)
				for j := range want {
					assert.InDelta(t, want[j], got.Data[i].Embedding[j], 1e-7)
				}
			}
			assert.Equal(t, int64(1), got.Usage.PromptTokens)
		})
	}
	reqs := b.Requests()
	require.Len(t, reqs, 2)
	assert.Contains(t, string(reqs[1].Body), `"encoding_format":"base64"`, "the recorder shows what reached the backend")
}

func TestRerank(t *testing.T) {
	t.Parallel()
	b := nexustest.NewBackend(t, nexustest.Models("rr"))
	c := newClient(t)
	tests := []struct {
		name, body string
		order      []float64
		scores     []float64
		docs       []any // nil: no document field
	}{
		{
			name:   "strings, sorted by overlap",
			body:   `{"model":"rr","query":"capital of France","documents":["Paris is the capital of France","Berlin","the capital"]}`,
			order:  []float64{0, 2, 1},
			scores: []float64{1, 1.0 / 3, 0},
			docs:   []any{"Paris is the capital of France", "the capital", "Berlin"},
		},
		{
			name:   "objects, top_n, no documents",
			body:   `{"model":"rr","query":"a b","documents":[{"text":"b"},{"text":"a b"},{"text":"c"}],"top_n":2,"return_documents":false}`,
			order:  []float64{1, 0},
			scores: []float64{1, 0.5},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := do(t, c, "POST", b.URL()+"/v1/rerank", tc.body)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", data)
			m := decode(t, data)
			assert.Contains(t, m["id"], "rerank-")
			assert.Equal(t, "rr", m["model"])
			u := m["usage"].(map[string]any)
			assert.Positive(t, u["total_tokens"])
			assert.Equal(t, u["prompt_tokens"], u["total_tokens"])
			results := m["results"].([]any)
			require.Len(t, results, len(tc.order))
			for i, r := range results {
				res := r.(map[string]any)
				assert.InDelta(t, tc.order[i], res["index"], 0, "result %d", i)
				assert.InDelta(t, tc.scores[i], res["relevance_score"], 1e-9, "result %d", i)
				if tc.docs == nil {
					assert.NotContains(t, res, "document")
				} else {
					assert.Equal(t, map[string]any{"text": tc.docs[i]}, res["document"])
				}
			}
		})
	}
	resp, data := do(t, c, "POST", b.URL()+"/v1/rerank", `{"model":"rr","documents":["x"]}`)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "query", errorOf(t, data)["param"])
	resp, data = do(t, c, "POST", b.URL()+"/v1/rerank", `{"model":"rr","query":"q","documents":[5]}`)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "documents", errorOf(t, data)["param"])
	assert.InDelta(t, 0.5, nexustest.RelevanceScore("Hello, World", "hello there"), 1e-9)
}
