package nexus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/internal/promtest"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/nexustest"
)

// metricsFixture is a gateway with four backends whose traffic mix has
// known outcomes.
type metricsFixture struct {
	url string
	st  func() metrics.Stats
}

func newMetricsFixture(t *testing.T) metricsFixture {
	t.Helper()
	alpha := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Usage(10, 5))
	beta := nexustest.NewBackend(t, nexustest.Models("qwen:7b"), nexustest.Usage(20, 7), nexustest.Stream("a", "b", "c"))
	broken := nexustest.NewBackend(t, nexustest.Models("big"), nexustest.Fail(500))
	bad := nexustest.NewBackend(t, nexustest.Models("doomed"), nexustest.Fail(500))
	cfg := testConfig(backendConfig("alpha", alpha, 1), backendConfig("beta-1", beta, 1),
		backendConfig("broken", broken, 1), backendConfig("bad", bad, 1))
	cfg.Routing.Fallbacks = map[string][]string{"big": {"llama3"}}
	gw, url := startGateway(t, cfg)
	return metricsFixture{url: url, st: func() metrics.Stats {
		st, err := gw.Metrics().Stats(context.Background())
		require.NoError(t, err)
		return st
	}}
}

// The mix, sent concurrently except where passive health would make the
// outcome depend on timing.
const (
	plainOK    = 40 // llama3 on alpha
	streamOK   = 30 // qwen:7b on beta-1, streamed with usage
	fallbackOK = 10 // big → broken fails (ejected after 3), llama3 on alpha serves
	notFound   = 25 // invented model names
	upstream5x = 2  // doomed on bad → 502
	malformed  = 5
)

func sendMix(t *testing.T, url string) {
	t.Helper()
	client := newClient(url)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	work := make(chan func() error)
	for range 8 {
		wg.Go(func() {
			for f := range work {
				if err := f(); err != nil {
					errs <- err
				}
			}
		})
	}
	for range plainOK {
		work <- func() error {
			resp, err := client.Chat.Completions.New(ctx, userMessage("llama3", "hi"))
			if err == nil && resp.Usage.PromptTokens != 10 {
				err = fmt.Errorf("plain: usage %+v", resp.Usage)
			}
			return err
		}
	}
	for range streamOK {
		work <- func() error {
			p := userMessage("qwen:7b", "hi")
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			s := client.Chat.Completions.NewStreaming(ctx, p)
			for s.Next() {
			}
			return s.Err()
		}
	}
	for i := range notFound {
		work <- func() error {
			_, err := client.Chat.Completions.New(ctx, userMessage(fmt.Sprintf("invented-%d", i), "hi"))
			if err == nil || !strings.Contains(err.Error(), "404") {
				return fmt.Errorf("invented model: want 404, got %v", err)
			}
			return nil
		}
	}
	for range malformed {
		work <- func() error {
			resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":`))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != 400 {
				return fmt.Errorf("malformed: HTTP %d", resp.StatusCode)
			}
			return nil
		}
	}
	// Sequential: the first three failures eject the backend, so the count of
	// failed attempts is exact.
	work <- func() error {
		for range fallbackOK {
			if _, err := client.Chat.Completions.New(ctx, userMessage("big", "hi")); err != nil {
				return fmt.Errorf("fallback: %w", err)
			}
		}
		for range upstream5x {
			if _, err := client.Chat.Completions.New(ctx, userMessage("doomed", "hi")); err == nil || !strings.Contains(err.Error(), "502") {
				return fmt.Errorf("doomed: want 502, got %v", err)
			}
		}
		return nil
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMetricsEndToEnd(t *testing.T) {
	t.Parallel()
	fx := newMetricsFixture(t)
	sendMix(t, fx.url)

	text, f := promtest.Scrape(t, http.DefaultClient, fx.url+"/metrics")
	st := fx.st()
	L := promtest.L

	// /metrics: exact series.
	assert.EqualValues(t, plainOK+fallbackOK, f.Counter("nexus_requests_total", L("model", "llama3", "backend", "alpha", "status", "200")))
	assert.EqualValues(t, streamOK, f.Counter("nexus_requests_total", L("model", "qwen_7b", "backend", "beta_1", "status", "200")))
	assert.EqualValues(t, upstream5x, f.Counter("nexus_requests_total", L("model", "doomed", "backend", "bad", "status", "502")))
	assert.Equal(t, 3, f.Count("nexus_requests_total"), text)
	assert.EqualValues(t, notFound, f.Counter("nexus_errors_total", L("error_type", "model_not_found", "model", "other")))
	assert.EqualValues(t, malformed, f.Counter("nexus_errors_total", L("error_type", "invalid_request", "model", "other")))
	assert.EqualValues(t, 3, f.Counter("nexus_errors_total", L("error_type", "backend_error", "model", "big")))
	assert.EqualValues(t, upstream5x, f.Counter("nexus_errors_total", L("error_type", "backend_error", "model", "doomed")))
	assert.EqualValues(t, fallbackOK, f.Counter("nexus_fallbacks_total", L("from_model", "big", "to_model", "llama3")))
	n, sum := f.HistogramCount("nexus_tokens_total", L("model", "llama3", "backend", "alpha", "type", "prompt"))
	assert.EqualValues(t, plainOK+fallbackOK, n)
	assert.EqualValues(t, (plainOK+fallbackOK)*10, sum)
	n, sum = f.HistogramCount("nexus_tokens_total", L("model", "qwen_7b", "backend", "beta_1", "type", "completion"))
	assert.EqualValues(t, streamOK, n, "streams are counted in token metrics")
	assert.EqualValues(t, streamOK*7, sum)
	n, _ = f.HistogramCount("nexus_time_to_first_token_seconds", L("model", "qwen_7b", "backend", "beta_1"))
	assert.EqualValues(t, streamOK, n)
	n, _ = f.HistogramCount("nexus_request_duration_seconds", L("model", "llama3", "backend", "alpha"))
	assert.EqualValues(t, plainOK+fallbackOK, n)
	assert.EqualValues(t, 4, f.Gauge("nexus_backends_total", nil))
	assert.EqualValues(t, 3, f.Gauge("nexus_backends_healthy", nil), "broken was ejected by passive health after 3 failures")
	assert.EqualValues(t, 0, f.Gauge("nexus_pending_requests", L("backend", "alpha")))

	// /v1/stats: the same totals, with the original names.
	total := uint64(plainOK + fallbackOK + streamOK + upstream5x)
	assert.Equal(t, total, st.Requests.Total)
	assert.EqualValues(t, f.SumCounter("nexus_requests_total"), st.Requests.Total, "stats and /metrics agree")
	assert.Equal(t, total-upstream5x, st.Requests.Success)
	assert.EqualValues(t, upstream5x, st.Requests.Errors)
	assert.EqualValues(t, notFound, st.Errors["model_not_found"])
	assert.EqualValues(t, malformed, st.Errors["invalid_request"])
	assert.EqualValues(t, 3+upstream5x, st.Errors["backend_error"])
	assert.EqualValues(t, f.SumCounter("nexus_errors_total"), notFound+malformed+3+upstream5x)
	assert.EqualValues(t, (plainOK+fallbackOK)*10+streamOK*20, st.Tokens.Prompt)
	assert.EqualValues(t, (plainOK+fallbackOK)*5+streamOK*7, st.Tokens.Completion)
	assert.EqualValues(t, streamOK, st.TimeToFirstToken.Count)
	require.Len(t, st.Fallbacks, 1)
	assert.Equal(t, metrics.FallbackStats{From: "big", To: "llama3", Count: fallbackOK}, st.Fallbacks[0])

	byName := map[string]metrics.ModelStats{}
	var names []string
	for _, m := range st.Models {
		byName[m.Name] = m
		names = append(names, m.Name)
	}
	assert.True(t, slices.IsSorted(names), "models sorted by name: %v", names)
	assert.EqualValues(t, plainOK+fallbackOK, byName["llama3"].Requests)
	assert.EqualValues(t, streamOK, byName["qwen:7b"].Requests, "original, unsanitised name")
	assert.Positive(t, byName["qwen:7b"].AverageDurationMs)

	backends := map[string]metrics.BackendStats{}
	for _, b := range st.Backends {
		backends[b.ID] = b
	}
	assert.EqualValues(t, plainOK+fallbackOK, backends["alpha"].Requests)
	assert.EqualValues(t, streamOK, backends["beta-1"].Requests)
	assert.Equal(t, "beta-1", backends["beta-1"].Name)
	assert.Positive(t, backends["alpha"].AverageLatencyMs)
	assert.Zero(t, backends["alpha"].Pending)
}

func TestInventedModelNamesStayBounded(t *testing.T) {
	t.Parallel()
	be := nexustest.NewBackend(t, nexustest.Models("llama3"))
	_, url := startGateway(t, testConfig(backendConfig("gpu", be, 1)))
	client := &http.Client{}
	for i := range 3000 {
		body := fmt.Sprintf(`{"model":"made-up-%d-%s","messages":[]}`, i, strings.Repeat("x", i%50))
		if i%3 == 0 {
			body = fmt.Sprintf(`{"model":"made-up-%d","stream":true,"messages":[]}`, i)
		}
		resp, err := client.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	}
	_, f := promtest.Scrape(t, client, url+"/metrics")
	assert.Equal(t, 1, f.Count("nexus_errors_total"), "every invented name is recorded as model=other")
	assert.EqualValues(t, 3000, f.Counter("nexus_errors_total", promtest.L("error_type", "model_not_found", "model", "other")))
	for name, mf := range f {
		assert.LessOrEqual(t, len(mf.GetMetric()), 3, "family %s grew with client input", name)
	}
}

func TestPromtoolOnGatewayScrape(t *testing.T) {
	t.Parallel()
	fx := newMetricsFixture(t)
	sendMix(t, fx.url)
	text, _ := promtest.Scrape(t, http.DefaultClient, fx.url+"/metrics")
	code, findings := promtest.CheckMetrics(t, text)
	assert.Equal(t, 3, code, "3 = lint findings only; 1 would be a parse error: %v", findings)
	slices.Sort(findings)
	assert.Equal(t, []string{
		`nexus_backends_total non-counter metrics should not have "_total" suffix`,
		`nexus_tokens_total non-counter metrics should not have "_total" suffix`,
	}, findings, "only the two findings the contract's names imply")
}

func TestRealPrometheusScrapesGateway(t *testing.T) {
	t.Parallel()
	fx := newMetricsFixture(t)
	prom := promtest.Start(t, strings.TrimPrefix(fx.url, "http://"))
	prom.WaitFor(t, "first scrape", `up{job="nexus"}`, 1)
	sendMix(t, fx.url)
	sent := float64(plainOK + fallbackOK + streamOK + upstream5x)
	prom.WaitFor(t, "requests", "sum(nexus_requests_total)", sent)
	prom.WaitFor(t, "errors by status", `sum(nexus_requests_total{status="502"})`, upstream5x)
	prom.WaitFor(t, "fallbacks", "sum(nexus_fallbacks_total)", fallbackOK)
	prom.WaitFor(t, "healthy gauge", "nexus_backends_healthy", 3)
	assert.EqualValues(t, sent, fx.st().Requests.Total)
}

// endpointMix is the traffic of TestMetricsAllEndpoints: requests per
// (path, stream) on a backend that serves every endpoint and reports usage
// 3 prompt + 4 completion tokens (embeddings and rerank: prompt only;
// count_tokens: none).
var endpointMix = []struct {
	endpoint, path, body string
	stream               bool
	n                    int
}{
	{"chat", "/v1/chat/completions", `{"model":"omni","messages":[{"role":"user","content":"hi"}]}`, false, 6},
	{"chat", "/v1/chat/completions", `{"model":"omni","stream":true,"messages":[{"role":"user","content":"hi"}]}`, true, 5},
	{"completions", "/v1/completions", `{"model":"omni","prompt":"def f():","suffix":"return 1"}`, false, 4},
	{"completions", "/v1/completions", `{"model":"omni","stream":true,"prompt":"x"}`, true, 3},
	{"embeddings", "/v1/embeddings", `{"model":"omni","input":["a","b"]}`, false, 7},
	{"rerank", "/v1/rerank", `{"model":"omni","query":"q","documents":["a","b"]}`, false, 2},
	{"responses", "/v1/responses", `{"model":"omni","input":"hi"}`, false, 3},
	{"responses", "/v1/responses", `{"model":"omni","stream":true,"input":"hi"}`, true, 2},
	{"messages", "/v1/messages", `{"model":"omni","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}`, false, 3},
	{"messages", "/v1/messages", `{"model":"omni","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, true, 2},
	{"count_tokens", "/v1/messages/count_tokens", `{"model":"omni","messages":[{"role":"user","content":"hi"}]}`, false, 2},
}

// TestMetricsAllEndpoints sends a mix of every endpoint and checks exact
// counts per endpoint in /metrics, /v1/stats and a real Prometheus, with
// the seed's families unchanged.
func TestMetricsAllEndpoints(t *testing.T) {
	t.Parallel()
	omni := nexustest.NewBackend(t, nexustest.Models("omni"), nexustest.Usage(3, 4))
	cfg := testConfig(nexus.BackendConfig{Name: "omni", URL: omni.URL(), Type: "vllm", Priority: 1})
	gw, url := startGateway(t, cfg)
	prom := promtest.Start(t, strings.TrimPrefix(url, "http://"))
	prom.WaitFor(t, "first scrape", `up{job="nexus"}`, 1)

	want := map[string]int{}
	total, streams, generative := 0, 0, 0
	var wg sync.WaitGroup
	for _, m := range endpointMix {
		want[m.endpoint] += m.n
		total += m.n
		if m.stream {
			streams += m.n
		}
		if m.endpoint != "embeddings" && m.endpoint != "rerank" && m.endpoint != "count_tokens" {
			generative += m.n
		}
		for range m.n {
			wg.Go(func() {
				resp, body := postPath(t, url, m.path, m.body)
				assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", m.path, body)
			})
		}
	}
	wg.Wait()
	withUsage := total - want["count_tokens"]

	text, f := promtest.Scrape(t, http.DefaultClient, url+"/metrics")
	L := promtest.L
	assert.EqualValues(t, total, f.Counter("nexus_requests_total", L("model", "omni", "backend", "omni", "status", "200")), text)
	assert.Equal(t, 1, f.Count("nexus_requests_total"), "the seed's labels are unchanged: no endpoint label")
	for ep, n := range want {
		assert.EqualValues(t, n, f.Counter("nexus_endpoint_requests_total", L("endpoint", ep, "status", "200")), ep)
	}
	n, sum := f.HistogramCount("nexus_tokens_total", L("model", "omni", "backend", "omni", "type", "prompt"))
	assert.EqualValues(t, withUsage, n)
	assert.EqualValues(t, withUsage*3, sum)
	_, sum = f.HistogramCount("nexus_tokens_total", L("model", "omni", "backend", "omni", "type", "completion"))
	assert.EqualValues(t, generative*4, sum, "completion tokens from each endpoint's usage shape")
	n, _ = f.HistogramCount("nexus_time_to_first_token_seconds", L("model", "omni", "backend", "omni"))
	assert.EqualValues(t, streams, n, "TTFT for every stream, whatever its dialect")

	st, err := gw.Metrics().Stats(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, total, st.Requests.Total)
	assert.EqualValues(t, withUsage*3, st.Tokens.Prompt)
	assert.EqualValues(t, generative*4, st.Tokens.Completion)
	assert.EqualValues(t, streams, st.TimeToFirstToken.Count)
	got := map[string]metrics.EndpointStats{}
	for _, e := range st.Endpoints {
		got[e.Name] = e
	}
	for ep, n := range want {
		assert.EqualValues(t, n, got[ep].Requests, ep)
		assert.Zero(t, got[ep].Errors, ep)
	}
	assert.EqualValues(t, want["embeddings"]*3, got["embeddings"].PromptTokens)
	assert.Zero(t, got["embeddings"].CompletionTokens)
	assert.EqualValues(t, want["messages"]*4, got["messages"].CompletionTokens)

	// The history and the log show the endpoint.
	var hist []struct {
		Endpoint string `json:"endpoint"`
	}
	resp, err := http.Get(url + "/v1/history")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&hist))
	resp.Body.Close()
	seen := map[string]int{}
	for _, h := range hist {
		seen[h.Endpoint]++
	}
	for ep, n := range want {
		assert.Equal(t, n, seen[ep], ep)
	}

	prom.WaitFor(t, "requests", "sum(nexus_requests_total)", float64(total))
	for ep, n := range want {
		prom.WaitFor(t, ep, `sum(nexus_endpoint_requests_total{endpoint="`+ep+`"})`, float64(n))
	}
}
