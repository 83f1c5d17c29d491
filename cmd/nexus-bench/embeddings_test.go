package main

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbeddingsReply(t *testing.T) {
	t.Parallel()
	raw := embeddingsReply("m1")
	assert.Equal(t, raw, embeddingsReply("m1"), "the same bytes every run")
	// About 37 KB: the size the benchmark documents.
	assert.InDelta(t, 37<<10, len(raw), 6<<10)

	var reply struct {
		Object string `json:"object"`
		Data   []struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Model string `json:"model"`
		Usage struct {
			Prompt int `json:"prompt_tokens"`
			Total  int `json:"total_tokens"`
		} `json:"usage"`
	}
	require.NoError(t, json.Unmarshal(raw, &reply))
	assert.Equal(t, "list", reply.Object)
	assert.Equal(t, "m1", reply.Model)
	assert.Positive(t, reply.Usage.Prompt)
	assert.Equal(t, reply.Usage.Prompt, reply.Usage.Total)
	require.Len(t, reply.Data, embedInputs)
	for i, d := range reply.Data {
		assert.Equal(t, "embedding", d.Object)
		assert.Equal(t, i, d.Index)
		require.Len(t, d.Embedding, embedDims)
		var norm float64
		for _, v := range d.Embedding {
			norm += float64(v) * float64(v)
		}
		assert.InDelta(t, 1, math.Sqrt(norm), 1e-5, "vector %d is a unit vector", i)
	}
	assert.NotEqual(t, reply.Data[0].Embedding, reply.Data[1].Embedding)
}

func TestEmbeddingsBody(t *testing.T) {
	t.Parallel()
	var req struct {
		Model          string   `json:"model"`
		Input          []string `json:"input"`
		EncodingFormat string   `json:"encoding_format"`
		Dimensions     int      `json:"dimensions"`
	}
	require.NoError(t, json.Unmarshal(embeddingsBody("e1"), &req))
	assert.Equal(t, "e1", req.Model)
	assert.Len(t, req.Input, embedInputs)
	assert.Equal(t, "float", req.EncodingFormat)
	assert.Equal(t, embedDims, req.Dimensions)
}

func TestEmbeddingsURL(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/chat/completions"} {
		assert.Equal(t, "http://h:1/v1/embeddings", embeddingsURL(chatURL(base)), base)
	}
	assert.Equal(t, "http://h:1/api/v1/embeddings", embeddingsURL(chatURL("http://h:1/api/v1/")))
	tgt := target{Name: "direct", URL: "http://h:1/v1/chat/completions"}
	assert.Equal(t, "http://h:1/v1/embeddings", tgt.url(scenario{Endpoint: endpointEmbeddings}))
	assert.Equal(t, tgt.URL, tgt.url(scenario{Endpoint: endpointChat}))
	assert.Equal(t, tgt.URL, tgt.url(scenario{}), "the zero endpoint is chat")
}

func TestFastBackendEmbeddings(t *testing.T) {
	t.Parallel()
	f := newFastBackend("m1", 3, 0)
	for range 2 { // the second request reuses the pooled buffer
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, embeddingsPath, strings.NewReader(string(embeddingsBody("m1")))))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		assert.Equal(t, strconv.Itoa(len(f.embed)), rec.Header().Get("Content-Length"))
		assert.Equal(t, embeddingsReply("m1"), rec.Body.Bytes())
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, embeddingsPath, nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

// TestURLModeEmbeddings drives only embeddings at a deployment, with their
// own model, and checks what the deployment received.
func TestURLModeEmbeddings(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	fb := newFastBackend("e1", 3, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct{ Model string }
		_ = json.Unmarshal(body, &req)
		mu.Lock()
		seen[r.URL.Path+" "+req.Model]++
		mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		fb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	out, _, err := runBenchCmd(t, "-url", srv.URL+"/v1", "-model", "chat1", "-embeddings-model", "e1",
		"-concurrency", "", "-stream-concurrency", "", "-embeddings-concurrency", "2")
	require.NoError(t, err)
	assert.Contains(t, out, "embed@2")
	mu.Lock()
	defer mu.Unlock()
	assert.Positive(t, seen["/v1/embeddings e1"], "%v", seen)
	assert.Len(t, seen, 1, "only embeddings requests, with their model: %v", seen)
}
