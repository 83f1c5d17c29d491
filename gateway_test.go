package nexus_test

import (
	"github.com/nexusllm/nexus/api"
	"github.com/nexusllm/nexus/metrics"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
)

// testConfig is a gateway configuration for tests: loopback, no discovery,
// no background health checks (Start still probes once), short timeouts.
func testConfig(backends ...nexus.BackendConfig) nexus.Config {
	cfg := nexus.DefaultConfig()
	cfg.Server.Host = "127.0.0.1"
	cfg.Server.FirstByteTimeout = 2 * time.Second
	cfg.Server.StreamIdleTimeout = 2 * time.Second
	cfg.Discovery.Enabled = false
	cfg.HealthCheck.Enabled = false
	// No background load polling: goroutine-baseline tests run beside
	// these gateways. Tests of signal-aware routing turn it on.
	cfg.Signals.Enabled = false
	cfg.Backends = backends
	return cfg
}

// backendConfig points a configured backend at a nexustest backend.
func backendConfig(name string, b *nexustest.Backend, priority int) nexus.BackendConfig {
	return nexus.BackendConfig{Name: name, URL: b.URL(), Type: "openai", Priority: priority}
}

// startGateway builds, starts and serves a gateway on loopback.
func startGateway(t testing.TB, cfg nexus.Config, opts ...nexus.Option) (*nexus.Gateway, string) {
	t.Helper()
	gw, err := nexus.New(cfg, opts...)
	require.NoError(t, err)
	require.NoError(t, gw.Start(context.Background()))
	srv := httptest.NewServer(gw.Handler()) // every surface, as nexus serve mounts them
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, gw.Close())
	})
	return gw, srv.URL
}

func newClient(base string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(base+"/v1"),
		option.WithAPIKey("client-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
	)
}

func userMessage(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}
}

// post sends a raw chat request and returns the response and its body.
func post(t testing.TB, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
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

func TestOpenAIClientPlain(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Reply("Hello there"), nexustest.Usage(5, 2))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 10)))

	var raw *http.Response
	client := newClient(url)
	resp, err := client.Chat.Completions.New(context.Background(), userMessage("llama3", "hi"), option.WithResponseInto(&raw))
	require.NoError(t, err)
	assert.Equal(t, "Hello there", resp.Choices[0].Message.Content)
	assert.EqualValues(t, 5, resp.Usage.PromptTokens)
	assert.EqualValues(t, 2, resp.Usage.CompletionTokens)
	assert.Equal(t, "gpu", raw.Header.Get(nexus.HeaderBackend))
	assert.Equal(t, "llama3", raw.Header.Get(nexus.HeaderModel))
	assert.NotEmpty(t, raw.Header.Get(nexus.HeaderRequestID))
	assert.NotEmpty(t, raw.Header.Get(nexus.HeaderRouteReason))
	assert.Empty(t, raw.Header.Get(nexus.HeaderFallbackModel))
}

func TestOpenAIClientStream(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Stream("Hel", "lo", " world"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 10)))

	params := userMessage("llama3", "hi")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	client := newClient(url)
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	require.NoError(t, stream.Err())
	assert.Equal(t, "Hello world", acc.Choices[0].Message.Content)
	assert.EqualValues(t, 3, acc.Usage.CompletionTokens, "the usage chunk the client asked for is relayed")
}

// readSSE returns the data payloads of a stream body.
func readSSE(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

func TestStreamWithoutIncludeUsageGetsNoUsageChunk(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Stream("a", "b"), nexustest.Usage(4, 2))
	gw, url := startGateway(t, testConfig(backendConfig("gpu", be, 10)))

	resp, body := post(t, url, `{"model":"llama3","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := readSSE(t, body)
	require.NotEmpty(t, events)
	assert.Equal(t, "[DONE]", events[len(events)-1])
	for _, e := range events {
		assert.NotContains(t, e, `"usage"`, "a client that did not ask for usage gets no usage chunk")
	}
	// The gateway asked the backend for usage on the client's behalf, so the
	// stream is counted in token metrics.
	sent := be.Requests()
	require.NotEmpty(t, sent)
	assert.Contains(t, string(sent[len(sent)-1].Body), `"include_usage":true`)
	st, err := gw.Metrics().Stats(context.Background())
	require.NoError(t, err)
	assert.EqualValues(t, 4, st.Tokens.Prompt)
	assert.EqualValues(t, 2, st.Tokens.Completion)
}

func TestRoundTripKeepsUnknownFields(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 10)))

	body := `{"model":"llama3", "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"stop":"\n","seed":7,"x_vendor":{"deep":[1,{"a":null}]}}`
	resp, out := post(t, url, body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	reqs := be.Requests()
	assert.Equal(t, body, string(reqs[len(reqs)-1].Body), "the body reaches the backend byte for byte")

	var reply map[string]any
	require.NoError(t, json.Unmarshal(out, &reply))
	assert.Equal(t, map[string]any{"backend": "nexustest"}, reply["nexustest_extra"], "unknown response fields survive")
	assert.Equal(t, "nexustest", reply["system_fingerprint"])
}

func TestAliasTargetIsSentToBackend(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3:70b"))
	cfg := testConfig(backendConfig("gpu", be, 10))
	cfg.Routing.Aliases = map[string]string{"gpt-4": "llama3:70b"}
	_, url := startGateway(t, cfg)

	resp, out := post(t, url, `{"model":"gpt-4","messages":[],"temperature":0.5}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	assert.Equal(t, "llama3:70b", resp.Header.Get(nexus.HeaderModel))
	reqs := be.Requests()
	assert.Equal(t, `{"model":"llama3:70b","messages":[],"temperature":0.5}`, string(reqs[len(reqs)-1].Body))
}

func TestRequestIDIsEchoedAndForwarded(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 10)))
	resp, _ := post(t, url, `{"model":"m","messages":[]}`, "X-Request-Id", "abc-123")
	assert.Equal(t, "abc-123", resp.Header.Get(nexus.HeaderRequestID))
	reqs := be.Requests()
	assert.Equal(t, "abc-123", reqs[len(reqs)-1].Header.Get("X-Request-Id"))
	assert.Empty(t, reqs[len(reqs)-1].Header.Get("Authorization"), "the client's key is not forwarded")
}

func TestModelsAndHealthEndpoints(t *testing.T) {
	t.Parallel()
	a := nexustest.NewBackend(t, nexustest.Models("llama3", "qwen"))
	b := nexustest.NewBackend(t, nexustest.Models("llama3"))
	down := nexustest.NewBackend(t, nexustest.Models("ghost"))
	down.Stop()
	gw, url := startGateway(t, testConfig(backendConfig("a", a, 1), backendConfig("b", b, 2), backendConfig("down", down, 3)))

	resp, err := http.Get(url + "/v1/models")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID           string          `json:"id"`
			Object       string          `json:"object"`
			OwnedBy      string          `json:"owned_by"`
			Capabilities map[string]bool `json:"capabilities"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	assert.Equal(t, "list", list.Object)
	var got []string
	for _, d := range list.Data {
		got = append(got, d.ID+"@"+d.OwnedBy)
		assert.Equal(t, "model", d.Object)
		assert.Contains(t, d.Capabilities, "vision")
	}
	assert.Equal(t, []string{"llama3@a", "llama3@b", "qwen@a"}, got, "one entry per model and healthy backend, sorted")

	h := gw.Health()
	assert.Equal(t, "degraded", h.Status)
	assert.Equal(t, api.BackendsHealth{Total: 3, Healthy: 2, Unhealthy: 1}, h.Backends)
	assert.Equal(t, 2, h.Models)
	resp2, err := http.Get(url + "/health")
	require.NoError(t, err)
	defer resp2.Body.Close()
	var body api.Health
	require.NoError(t, json.NewDecoder(resp2.Body).Decode(&body))
	assert.Equal(t, h.Backends, body.Backends)
	assert.Equal(t, "degraded", body.Status)
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Stream(strings.Fields(strings.Repeat("tok ", 200))...),
		nexustest.ChunkDelay(50*time.Millisecond))
	gw, url := startGateway(t, testConfig(backendConfig("gpu", be, 10)))

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions",
		strings.NewReader(`{"model":"m","stream":true,"messages":[]}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "data: "))
	cancel()
	resp.Body.Close()

	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	require.NoError(t, be.WaitCanceled(wctx, 1), "the upstream request must be cancelled when the client leaves")
	b, _ := gw.Registry().Get("gpu")
	require.Eventually(t, func() bool { return b.Pending() == 0 }, 5*time.Second, 10*time.Millisecond, "pending never leaks")
	assert.True(t, b.Healthy(), "a client that leaves is not the backend's fault")
}

// recordedStats returns the gateway's /v1/stats once it counts total
// requests: a stream is recorded when the gateway is done with the
// backend, which may be just after the client read its last event.
func recordedStats(t *testing.T, gw *nexus.Gateway, total uint64) metrics.Stats {
	t.Helper()
	var st metrics.Stats
	require.Eventually(t, func() bool {
		var err error
		st, err = gw.Metrics().Stats(t.Context())
		return err == nil && st.Requests.Total >= total
	}, 5*time.Second, 5*time.Millisecond, "%d requests recorded", total)
	return st
}
