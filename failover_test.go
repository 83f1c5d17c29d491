package nexus_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

func TestFailoverToNextBackend(t *testing.T) {
	t.Parallel()
	garbage := nexustest.Handler(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "<html>upstream proxy error</html>")
	})
	tests := []struct {
		name    string
		stream  bool
		opts    []nexustest.Option
		refuses bool
	}{
		{name: "refuses connections", refuses: true},
		{name: "refuses connections, stream", stream: true, refuses: true},
		{name: "500", opts: []nexustest.Option{nexustest.Fail(500)}},
		{name: "503, stream", stream: true, opts: []nexustest.Option{nexustest.Fail(503)}},
		{name: "429", opts: []nexustest.Option{nexustest.Fail(429)}},
		{name: "hangs past the timeout", opts: []nexustest.Option{nexustest.Delay(5 * time.Second)}},
		{name: "hangs past the timeout, stream", stream: true, opts: []nexustest.Option{nexustest.Delay(5 * time.Second)}},
		{name: "garbage 200", opts: []nexustest.Option{garbage}},
		{name: "garbage 200, stream", stream: true, opts: []nexustest.Option{garbage}},
		{name: "drops the stream before the first event", stream: true, opts: []nexustest.Option{nexustest.DropAfter(0)}},
		{name: "stalls before the first event", stream: true, opts: []nexustest.Option{nexustest.StallAfter(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := nexustest.NewBackend(t, append([]nexustest.Option{nexustest.Models("m"), nexustest.Name("bad")}, tt.opts...)...)
			good := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Name("good"), nexustest.Reply("from good"))
			cfg := testConfig(backendConfig("bad", bad, 1), backendConfig("good", good, 2))
			cfg.Server.FirstByteTimeout = 300 * time.Millisecond
			gw, url := startGateway(t, cfg)
			if tt.refuses {
				bad.Stop()
			}
			body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
			if tt.stream {
				body = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
			}
			resp, out := post(t, url, body)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
			assert.Equal(t, "good", resp.Header.Get(nexus.HeaderBackend))
			assert.Equal(t, "failover", resp.Header.Get(nexus.HeaderRouteReason))
			assert.Empty(t, resp.Header.Get(nexus.HeaderFallbackModel))
			if tt.stream {
				events := readSSE(t, out)
				assert.Equal(t, "[DONE]", events[len(events)-1])
				assert.NotContains(t, string(out), "error")
			} else {
				assert.Contains(t, string(out), "from good")
			}
			if !tt.refuses {
				assert.EqualValues(t, 1, bad.ChatHits(), "the failing backend was tried first")
			}
			st, err := gw.Metrics().Stats(context.Background())
			require.NoError(t, err)
			assert.EqualValues(t, 1, st.Requests.Total)
			assert.EqualValues(t, 1, st.Requests.Success)
			assert.EqualValues(t, 1, st.Errors["backend_error"]+st.Errors["timeout"], "the failed attempt is counted")
		})
	}
}

func TestFallbackModelServes(t *testing.T) {
	t.Parallel()
	big := nexustest.NewBackend(t, nexustest.Models("big"), nexustest.Fail(500))
	small := nexustest.NewBackend(t, nexustest.Models("small"))
	cfg := testConfig(backendConfig("big-box", big, 1), backendConfig("small-box", small, 1))
	cfg.Routing.Fallbacks = map[string][]string{"big": {"small"}}
	cfg.Routing.Aliases = map[string]string{"gpt-4": "big"}
	gw, url := startGateway(t, cfg)

	for _, stream := range []bool{false, true} {
		body := `{"model":"gpt-4","messages":[]}`
		if stream {
			body = `{"model":"gpt-4","stream":true,"messages":[]}`
		}
		resp, out := post(t, url, body)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
		assert.Equal(t, "small-box", resp.Header.Get(nexus.HeaderBackend))
		assert.Equal(t, "small", resp.Header.Get(nexus.HeaderModel))
		assert.Equal(t, "small", resp.Header.Get(nexus.HeaderFallbackModel))
		assert.Equal(t, "fallback:small", resp.Header.Get(nexus.HeaderRouteReason))
		reqs := small.Requests()
		assert.Contains(t, string(reqs[len(reqs)-1].Body), `"model":"small"`, "the fallback model is what the backend receives")
	}
	st, err := gw.Metrics().Stats(context.Background())
	require.NoError(t, err)
	require.Len(t, st.Fallbacks, 1)
	assert.Equal(t, "gpt-4", st.Fallbacks[0].From)
	assert.Equal(t, "small", st.Fallbacks[0].To)
	assert.EqualValues(t, 2, st.Fallbacks[0].Count)
}

func TestStreamFailureAfterFirstEventReachesSDKAsError(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Stream("a", "b", "c", "d"), nexustest.DropAfter(2))
	other := nexustest.NewBackend(t, nexustest.Models("m"))
	_, url := startGateway(t, testConfig(backendConfig("flaky", be, 1), backendConfig("other", other, 2)))

	client := newClient(url)
	stream := client.Chat.Completions.NewStreaming(context.Background(), userMessage("m", "hi"))
	var content strings.Builder
	for stream.Next() {
		for _, c := range stream.Current().Choices {
			content.WriteString(c.Delta.Content)
		}
	}
	err := stream.Err()
	require.Error(t, err, "a stream cut after it started must surface as an error, not a normal end")
	// The SDK raises the OpenAI-shaped error event as a stream error.
	assert.ErrorContains(t, err, "The backend stream failed")
	assert.ErrorContains(t, err, `"code":"backend_stream_error"`)
	assert.Equal(t, "ab", content.String(), "what arrived before the cut was relayed")
	assert.Zero(t, other.ChatHits(), "nothing is retried once bytes reached the client")
}

func TestPassiveHealthEjectsFailingBackend(t *testing.T) {
	t.Parallel()
	bad := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Fail(500))
	good := nexustest.NewBackend(t, nexustest.Models("m"))
	gw, url := startGateway(t, testConfig(backendConfig("bad", bad, 1), backendConfig("good", good, 2)))
	b, _ := gw.Registry().Get("bad")

	for i := range 3 {
		resp, _ := post(t, url, `{"model":"m","messages":[]}`)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "failover", resp.Header.Get(nexus.HeaderRouteReason), "request %d", i)
	}
	assert.Equal(t, registry.StatusUnhealthy, b.Status(), "three consecutive failures take the backend out of rotation")
	assert.Contains(t, b.LastError(), "consecutive request failures")

	resp, _ := post(t, url, `{"model":"m","messages":[]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEqual(t, "failover", resp.Header.Get(nexus.HeaderRouteReason), "the ejected backend is no longer tried")
	assert.EqualValues(t, 3, bad.ChatHits())
}

func TestAllBackendsFailingGives502(t *testing.T) {
	t.Parallel()
	a := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Fail(500))
	b := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Fail(502))
	c := nexustest.NewBackend(t, nexustest.Models("m"), nexustest.Fail(503))
	cfg := testConfig(backendConfig("a", a, 1), backendConfig("b", b, 2), backendConfig("c", c, 3))
	cfg.Routing.MaxRetries = 1
	_, url := startGateway(t, cfg)

	resp, out := post(t, url, `{"model":"m","messages":[]}`)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	e := decodeAPIError(t, out)
	assert.Equal(t, "bad_gateway", *e.Error.Code)
	assert.Equal(t, "b", resp.Header.Get(nexus.HeaderBackend), "max_retries=1 stops after the second backend")
	assert.EqualValues(t, 1, a.ChatHits())
	assert.EqualValues(t, 1, b.ChatHits())
	assert.Zero(t, c.ChatHits())
}
