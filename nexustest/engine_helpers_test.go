package nexustest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/nexustest"
)

// engineClient returns a client with its own transport, closed with the
// test.
func engineClient(t testing.TB) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// engineReq is a chat request for the engine tests.
type engineReq struct {
	model        string
	text         string
	stream       bool
	includeUsage bool
	maxTokens    int
}

func (r engineReq) body() string {
	m := map[string]any{
		"model":    r.model,
		"messages": []map[string]any{{"role": "user", "content": r.text}},
	}
	if r.stream {
		m["stream"] = true
		if r.includeUsage {
			m["stream_options"] = map[string]any{"include_usage": true}
		}
	}
	if r.maxTokens > 0 {
		m["max_tokens"] = r.maxTokens
	}
	data, _ := json.Marshal(m)
	return string(data)
}

// engineReply is the part of a plain reply the tests read.
type engineReply struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
	Timings *struct {
		CacheN     int     `json:"cache_n"`
		PromptN    int     `json:"prompt_n"`
		PromptMS   float64 `json:"prompt_ms"`
		PredictedN int     `json:"predicted_n"`
	} `json:"timings"`
	Info struct {
		Slot     int   `json:"slot"`
		Task     int64 `json:"id_task"`
		ColdLoad bool  `json:"cold_load"`
	} `json:"nexustest_engine"`
}

// engineGet fetches path and returns the status and body.
func engineGet(t testing.TB, c *http.Client, url string) (int, []byte) {
	t.Helper()
	return engineDo(t, c, http.MethodGet, url, "")
}

func engineDo(t testing.TB, c *http.Client, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// engineChat sends a plain chat request and decodes the 200 reply.
func engineChat(t testing.TB, c *http.Client, e *nexustest.Engine, r engineReq) engineReply {
	t.Helper()
	status, data := engineDo(t, c, http.MethodPost, e.URL()+"/v1/chat/completions", r.body())
	require.Equal(t, http.StatusOK, status, "body: %s", data)
	var rep engineReply
	require.NoError(t, json.Unmarshal(data, &rep), "body: %s", data)
	return rep
}

// engineHeld is a streamed request the test keeps open until it cancels
// it.
type engineHeld struct {
	cancel context.CancelFunc
	body   io.ReadCloser
}

// engineHold starts a streamed chat request and returns once its headers
// arrived (the engine sends them before queueing).
func engineHold(t testing.TB, c *http.Client, e *nexustest.Engine, r engineReq) *engineHeld {
	t.Helper()
	r.stream = true
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL()+"/v1/chat/completions", strings.NewReader(r.body()))
	require.NoError(t, err)
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	h := &engineHeld{cancel: cancel, body: resp.Body}
	t.Cleanup(h.stop)
	return h
}

// stop cancels the request and closes its body.
func (h *engineHeld) stop() {
	h.cancel()
	_ = h.body.Close()
}

// engineWaitFor polls the engine's stats until cond holds. The deadline only
// guards against a hang; nothing is asserted about time.
func engineWaitFor(t testing.TB, e *nexustest.Engine, what string, cond func(nexustest.EngineStats) bool) nexustest.EngineStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("engine never reached %s; stats: %+v", what, st)
		}
		time.Sleep(time.Millisecond)
	}
}

// engineRunning waits until running and waiting are as given.
func engineRunning(t testing.TB, e *nexustest.Engine, running, waiting int) nexustest.EngineStats {
	t.Helper()
	return engineWaitFor(t, e, "the expected running/waiting counts", func(s nexustest.EngineStats) bool {
		return s.Running == running && s.Waiting == waiting
	})
}

// engineScrape fetches a Prometheus text endpoint and parses it.
func engineScrape(t testing.TB, c *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	status, data := engineGet(t, c, url)
	require.Equal(t, http.StatusOK, status, "body: %s", data)
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(data)))
	require.NoError(t, err, "body:\n%s", data)
	for name, f := range fams {
		require.NotEmpty(t, f.GetHelp(), "HELP of %s", name)
	}
	return fams
}

// engineValue returns the value of the single series of a family.
func engineValue(t testing.TB, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "family %s missing", name)
	require.Len(t, f.GetMetric(), 1, name)
	m := f.GetMetric()[0]
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return m.GetUntyped().GetValue()
}

// engineLabels returns the labels of the single series of a family.
func engineLabels(t testing.TB, fams map[string]*dto.MetricFamily, name string) map[string]string {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "family %s missing", name)
	out := map[string]string{}
	for _, l := range f.GetMetric()[0].GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}
