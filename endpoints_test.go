package nexus_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// postPath sends a JSON body to path on the gateway.
func postPath(t testing.TB, base, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestCompletionsThroughGateway(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("coder"), nexustest.Reply("x = 1"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	client := newClient(url)

	got, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
		Model:  "coder",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: param.NewOpt("def f():")},
		Suffix: param.NewOpt("return x"),
	})
	require.NoError(t, err)
	require.Len(t, got.Choices, 1)
	assert.Equal(t, "x = 1 [suffix: return x]", got.Choices[0].Text, "the suffix reached the backend: a FIM request")

	stream := client.Completions.NewStreaming(t.Context(), openai.CompletionNewParams{
		Model:  "coder",
		Prompt: openai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"a", "b"}},
	})
	var text strings.Builder
	chunks := 0
	for stream.Next() {
		chunks++
		for _, ch := range stream.Current().Choices {
			text.WriteString(ch.Text)
		}
		assert.Zero(t, stream.Current().Usage.TotalTokens, "no usage chunk the client did not ask for")
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, "x = 1", text.String())

	req := be.Requests()
	last := req[len(req)-1]
	assert.Equal(t, "/v1/completions", last.Path)
	assert.Contains(t, string(last.Body), `"include_usage":true`, "the gateway asked for usage to count tokens")
}

func TestEmbeddingsThroughGateway(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("embed"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	client := newClient(url)

	single, err := client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{
		Model: "embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: param.NewOpt("one")},
	})
	require.NoError(t, err)
	require.Len(t, single.Data, 1)
	assert.InDeltaSlice(t, toF64(nexustest.Embedding("one", nexustest.DefaultEmbeddingDimensions)), single.Data[0].Embedding, 1e-6)

	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		batch, err := client.Embeddings.New(t.Context(), openai.EmbeddingNewParams{
			Model:          "embed",
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one", "two", "three"}},
			Dimensions:     param.NewOpt[int64](4),
			EncodingFormat: format,
		})
		require.NoError(t, err, format)
		require.Len(t, batch.Data, 3)
		for i, in := range []string{"one", "two", "three"} {
			assert.InDeltaSlice(t, toF64(nexustest.Embedding(in, 4)), batch.Data[i].Embedding, 1e-6, "%s %s", format, in)
		}
		reqs := be.Requests()
		assert.Contains(t, string(reqs[len(reqs)-1].Body), `"encoding_format":"`+string(format)+`"`, "encoding_format reaches the backend")
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestRerankThroughGateway(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("reranker"))
	cfg := testConfig(nexus.BackendConfig{Name: "gpu", URL: be.URL(), Type: "vllm", Priority: 1})
	_, url := startGateway(t, cfg)

	resp, body := postPath(t, url, "/v1/rerank",
		`{"model":"reranker","query":"fast cars","documents":["slow boats","fast red cars","cars"],"top_n":2}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var got struct {
		Results []struct {
			Index          int     `json:"index"`
			RelevanceScore float64 `json:"relevance_score"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(body, &got))
	require.Len(t, got.Results, 2)
	assert.Equal(t, 1, got.Results[0].Index)
	assert.InDelta(t, nexustest.RelevanceScore("fast cars", "fast red cars"), got.Results[0].RelevanceScore, 1e-9)
	assert.Equal(t, "gpu", resp.Header.Get(nexus.HeaderBackend))

	resp, body = postPath(t, url, "/v1/rerank", `{"model":"reranker","documents":["a"]}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), `"param":"query"`)
}

// TestResponsesThroughGateway checks the Responses API end to end, and that
// the state of a response stays with the backend that created it: among
// three backends, previous_response_id, GET and DELETE reach its creator.
func TestResponsesThroughGateway(t *testing.T) {
	t.Parallel()
	var backends []*nexustest.Backend
	var cfgs []nexus.BackendConfig
	for _, name := range []string{"a", "b", "c"} {
		b := nexustest.NewBackend(t, nexustest.Models("gpt"), nexustest.EchoPrompt(), nexustest.Name(name))
		backends = append(backends, b)
		cfgs = append(cfgs, backendConfig(name, b, 1))
	}
	cfg := testConfig(cfgs...)
	cfg.Routing.Strategy = "round_robin"
	_, url := startGateway(t, cfg)
	client := newClient(url)
	ctx := t.Context()

	first, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt",
		Input: responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("ping")},
	})
	require.NoError(t, err)
	assert.Equal(t, "You said: ping", first.OutputText())
	owner := -1
	for i, b := range backends {
		for _, id := range b.ResponseIDs() {
			if id == first.ID {
				owner = i
			}
		}
	}
	require.GreaterOrEqual(t, owner, 0)

	// Round robin would move on; the follow-ups must stay with the owner.
	for range 3 {
		stream := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
			Model:              "gpt",
			Input:              responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("pong")},
			PreviousResponseID: param.NewOpt(first.ID),
		})
		var deltas strings.Builder
		var completed responses.Response
		for stream.Next() {
			ev := stream.Current()
			switch ev.Type {
			case "response.output_text.delta":
				deltas.WriteString(ev.AsResponseOutputTextDelta().Delta)
			case "response.completed":
				completed = ev.AsResponseCompleted().Response
			}
		}
		require.NoError(t, stream.Err())
		assert.Equal(t, "You said: pong", deltas.String())
		assert.Equal(t, first.ID, completed.PreviousResponseID)
		assert.Contains(t, backends[owner].ResponseIDs(), completed.ID, "the follow-up was served by the owner")
	}

	got, err := client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	require.NoError(t, err)
	assert.Equal(t, "You said: ping", got.OutputText())
	require.NoError(t, client.Responses.Delete(ctx, first.ID))
	assert.NotContains(t, backends[owner].ResponseIDs(), first.ID)

	var apiErr *openai.Error
	_, err = client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode, "deleted: the gateway forgot it")

	_, err = client.Responses.New(ctx, responses.ResponseNewParams{
		Model:              "gpt",
		Input:              responses.ResponseNewParamsInputUnion{OfString: param.NewOpt("x")},
		PreviousResponseID: param.NewOpt("resp_unknown"),
	})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, "previous_response_id", apiErr.Param)
}

// TestCodexShapedResponsesPassThrough sends a body shaped like Codex CLI's:
// unknown members and tools must reach the backend untouched.
func TestCodexShapedResponsesPassThrough(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("gpt-5-codex"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	body := `{"model":"gpt-5-codex","stream":true,"store":false,"include":["reasoning.encrypted_content"],` +
		`"prompt_cache_key":"0199-abc","client_metadata":{"x":1},` +
		`"input":[{"type":"message","role":"developer","id":"msg_local_1","content":[{"type":"input_text","text":"base prompt"}]},` +
		`{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}],` +
		`"tools":[{"type":"namespace","name":"ns","tools":[{"type":"function","name":"f","parameters":{}}]},{"type":"web_search"}]}`
	resp, out := postPath(t, url, "/v1/responses", body, "Originator", "codex_exec", "Session-Id", "s-1")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
	assert.Contains(t, string(out), "event: response.completed")
	reqs := be.Requests()
	rec := reqs[len(reqs)-1]
	assert.JSONEq(t, body, string(rec.Body), "the body reaches the backend as sent")
	assert.Equal(t, "codex_exec", rec.Header.Get("Originator"))
	assert.Equal(t, "s-1", rec.Header.Get("Session-Id"))
}

func TestModelsGetThroughGateway(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("org/llama3:8b"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	client := newClient(url)
	m, err := client.Models.Get(t.Context(), "org/llama3:8b")
	require.NoError(t, err)
	assert.Equal(t, "org/llama3:8b", m.ID)
	assert.Equal(t, "gpu", m.OwnedBy)
	_, err = client.Models.Get(t.Context(), "nope")
	var apiErr *openai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
}

// TestFailoverOnEveryEndpoint: a preferred backend that refuses or answers
// 500 is skipped before the first byte, on every endpoint.
func TestFailoverOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	bodies := map[string]string{
		"/v1/chat/completions": `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		"/v1/completions":      `{"model":"m","prompt":"hi"}`,
		"/v1/embeddings":       `{"model":"m","input":"hi"}`,
		"/v1/rerank":           `{"model":"m","query":"q","documents":["a","b"]}`,
		"/v1/responses":        `{"model":"m","input":"hi"}`,
		"/v1/messages":         `{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`,
	}
	for _, fault := range []string{"refuses", "500"} {
		good := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Name("good"))
		bad := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Name("bad"))
		cfg := testConfig(
			nexus.BackendConfig{Name: "bad", URL: bad.URL(), Type: "vllm", Priority: 1},
			nexus.BackendConfig{Name: "good", URL: good.URL(), Type: "vllm", Priority: 2},
		)
		cfg.Routing.Strategy = "priority_only"
		cfg.HealthCheck.PassiveFailureThreshold = 1000 // keep the bad one first in line
		_, url := startGateway(t, cfg)
		if fault == "refuses" {
			bad.Stop()
		} else {
			bad.SetInferenceFail(500)
		}
		for path, body := range bodies {
			for _, stream := range []bool{false, true} {
				if stream && (path == "/v1/embeddings" || path == "/v1/rerank") {
					continue
				}
				b := body
				if stream {
					b = strings.Replace(body, `{"model":"m"`, `{"model":"m","stream":true`, 1)
				}
				resp, out := postPath(t, url, path, b)
				assert.Equal(t, http.StatusOK, resp.StatusCode, "%s %s stream=%v: %s", fault, path, stream, out)
				assert.Equal(t, "good", resp.Header.Get(nexus.HeaderBackend), "%s %s", fault, path)
				assert.Equal(t, "failover", resp.Header.Get(nexus.HeaderRouteReason), "%s %s", fault, path)
			}
		}
	}
}

// TestEndpointNotServed: a model whose backends do not serve an endpoint
// gets a 400 naming the endpoint and the model; an embedding-only model
// asked to chat gets a 400 too.
func TestEndpointNotServed(t *testing.T) {
	t.Parallel()
	chatOnly := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Endpoints("chat"))
	embedder := nexustest.NewBackend(t, nexustest.Models("nomic-embed-text"), nexustest.ModelInfo("nomic-embed-text", 2048, "embedding"))
	cfg := testConfig(
		nexus.BackendConfig{Name: "chat-only", URL: chatOnly.URL(), Type: "openai", Priority: 1, Endpoints: []string{"chat"}},
		nexus.BackendConfig{Name: "ollama", URL: embedder.URL(), Type: "ollama", Priority: 1},
	)
	_, url := startGateway(t, cfg)

	resp, body := postPath(t, url, "/v1/embeddings", `{"model":"llama3","input":"x"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "/v1/embeddings")
	assert.Contains(t, string(body), "llama3")
	assert.Contains(t, string(body), `"code":"endpoint_not_supported"`)

	resp, body = postPath(t, url, "/v1/chat/completions", `{"model":"nomic-embed-text","messages":[{"role":"user","content":"hi"}]}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), "completion", "names what the model lacks")
	for _, r := range embedder.Requests() {
		assert.NotEqual(t, "/v1/chat/completions", r.Path, "no chat request reached the embedder")
	}

	resp, body = postPath(t, url, "/v1/embeddings", `{"model":"nomic-embed-text","input":"x"}`)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	resp, body = postPath(t, url, "/v1/embeddings", `{"model":"nomic-embed-text"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), `"param":"input"`)
	resp, _ = postPath(t, url, "/v1/completions", `{"model":"llama3"}`)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
