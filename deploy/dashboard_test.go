package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/internal/promtest"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
)

const dashboardFile = "grafana/nexus-dashboard.json"

// dashboard is the part of a Grafana dashboard JSON the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			Current struct {
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d))
	return d
}

// defaultDatasource is the datasource variable's default uid.
func (d dashboard) defaultDatasource() string {
	for _, v := range d.Templating.List {
		if v.Type == "datasource" {
			s, _ := v.Current.Value.(string)
			return s
		}
	}
	return ""
}

// query is one PromQL expression of the dashboard.
type query struct {
	panel, expr string
}

func (d dashboard) queries() []query {
	var qs []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			qs = append(qs, query{panel: p.Title + "/" + tg.RefID, expr: tg.Expr})
		}
	}
	return qs
}

// Grafana's variables in the dashboard's expressions, and what the test
// puts in their place: a fixed rate window, the test's scrape job, every
// replica. An expression with any other variable fails the test.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "1m",
	"$job", "nexus",
	"$instance", ".*",
)

var metricName = regexp.MustCompile(`\b(nexus_[a-z_]+|up)\b`)

// TestDashboardStructure checks the dashboard without a Prometheus: valid
// JSON, unique panel ids, panels inside the 24-column grid on the
// datasource variable, only known variables, only metric names the gateway
// exports, and a panel for every metric the operator needs.
func TestDashboardStructure(t *testing.T) {
	t.Parallel()
	d := loadDashboard(t)
	assert.NotEmpty(t, d.UID)
	assert.NotEmpty(t, d.defaultDatasource())
	known := map[string]bool{"up": true}
	for _, n := range []string{metrics.NameRequests, metrics.NameRequestDuration, metrics.NameErrors,
		metrics.NameFallbacks, metrics.NameTokens, metrics.NameBackendLatency, metrics.NameTimeToFirstToken,
		metrics.NameBackendsTotal, metrics.NameBackendsHealthy, metrics.NameModelsAvailable,
		metrics.NamePendingRequests, metrics.NameQueueDepth, metrics.NameQueueWait} {
		known[n] = true
	}
	histograms := []string{metrics.NameRequestDuration, metrics.NameTokens, metrics.NameBackendLatency,
		metrics.NameTimeToFirstToken, metrics.NameQueueWait}
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d used twice", p.ID)
		ids[p.ID] = true
		assert.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, p.Title)
		if p.Type == "row" {
			continue
		}
		require.NotNil(t, p.Datasource, p.Title)
		assert.Equal(t, "${datasource}", p.Datasource.UID, p.Title)
		assert.NotEmpty(t, p.Targets, p.Title)
	}
	for _, q := range d.queries() {
		expr := grafanaVars.Replace(q.expr)
		assert.NotContains(t, expr, "$", "%s: unknown variable in %s", q.panel, q.expr)
		for _, name := range metricName.FindAllString(expr, -1) {
			family := name
			for _, h := range histograms {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if name == h+suffix {
						family = h
					}
				}
			}
			assert.True(t, known[family], "%s: unknown metric %s", q.panel, name)
			used[name] = true
		}
	}
	for _, need := range []string{"nexus_requests_total", "nexus_request_duration_seconds_bucket",
		"nexus_tokens_total_sum", "nexus_fallbacks_total", "nexus_errors_total", "nexus_backends_healthy",
		"nexus_pending_requests", "nexus_time_to_first_token_seconds_bucket", "nexus_queue_depth",
		"nexus_queue_wait_seconds_bucket"} {
		assert.True(t, used[need], "no panel shows %s", need)
	}
}

// TestDashboardQueriesAgainstPrometheus runs every expression of the
// dashboard on a real Prometheus that scraped a real gateway under traffic
// (plain and streamed requests, a fallback, backend errors, unknown models,
// malformed bodies, queue waits), and requires each to succeed and return
// at least one sample with a finite value.
func TestDashboardQueriesAgainstPrometheus(t *testing.T) {
	t.Parallel()
	qs := loadDashboard(t).queries()
	promtest.RequireTool(t, "prometheus")

	alpha := nexustest.NewBackend(t, nexustest.Models("llama3"), nexustest.Usage(10, 5))
	beta := nexustest.NewBackend(t, nexustest.Models("qwen"), nexustest.Usage(20, 7), nexustest.Stream("a", "b", "c"))
	broken := nexustest.NewBackend(t, nexustest.Models("big"))
	broken.SetInferenceFail(http.StatusInternalServerError)
	doomed := nexustest.NewBackend(t, nexustest.Models("doomed"))
	doomed.SetInferenceFail(http.StatusInternalServerError)

	cfg := nexus.DefaultConfig()
	cfg.Server.Host = "127.0.0.1"
	cfg.Discovery.Enabled = false
	cfg.HealthCheck.IntervalSeconds = 1 // probe latency gets samples between scrapes
	cfg.HealthCheck.PassiveFailureThreshold = 1000
	for _, b := range []struct {
		name string
		be   *nexustest.Backend
	}{{"alpha", alpha}, {"beta", beta}, {"broken", broken}, {"doomed", doomed}} {
		cfg.Backends = append(cfg.Backends, nexus.BackendConfig{Name: b.name, URL: b.be.URL(), Type: "openai", Priority: 10})
	}
	cfg.Routing.Fallbacks = map[string][]string{"big": {"llama3"}}

	// The gateway has no queue of its own yet: stand in for one through the
	// Metrics hooks an embedder's queue uses.
	reg := registry.New()
	var depth atomic.Int64
	depth.Store(3)
	m, err := metrics.New(reg, metrics.WithQueueDepth(depth.Load))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	gw, err := nexus.New(cfg, nexus.WithRegistry(reg), nexus.WithMetrics(m))
	require.NoError(t, err)
	require.NoError(t, gw.Start(context.Background()))
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(func() {
		srv.Close()
		assert.NoError(t, gw.Close())
	})
	client := &http.Client{Timeout: 10 * time.Second}

	// Two waves of the same traffic around the first scrape, so every
	// counter exists at the first scrape and has grown by the next: rates
	// and quantiles have real values, not NaN.
	sendTraffic(t, client, srv.URL, m)
	prom := promtest.Start(t, srv.Listener.Addr().String())
	prom.WaitFor(t, "first scrape", `up{job="nexus"}`, 1)
	sendTraffic(t, client, srv.URL, m)
	_, f := promtest.Scrape(t, client, srv.URL+"/metrics")
	prom.WaitFor(t, "second wave scraped", "sum(nexus_requests_total)", f.SumCounter("nexus_requests_total"))
	prom.WaitFor(t, "second wave of queue waits scraped", "sum(nexus_queue_wait_seconds_count)", 4)

	for _, q := range qs {
		expr := grafanaVars.Replace(q.expr)
		samples, err := instantQuery(client, prom, expr)
		if !assert.NoError(t, err, "%s: %s", q.panel, expr) {
			continue
		}
		if !assert.NotEmpty(t, samples, "%s returned no data: %s", q.panel, expr) {
			continue
		}
		assert.True(t, slices.ContainsFunc(samples, func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }),
			"%s: no finite value in %v: %s", q.panel, samples, expr)
	}
}

// sendTraffic sends one wave: plain and streamed requests, requests whose
// model falls back, requests a backend fails, unknown models and malformed
// bodies; and records two queue waits.
func sendTraffic(t *testing.T, client *http.Client, base string, m *metrics.Metrics) {
	t.Helper()
	chat := func(model string, stream bool) string {
		if stream {
			return fmt.Sprintf(`{"model":%q,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, model)
		}
		return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, model)
	}
	cases := []struct {
		body   string
		status int
		n      int
	}{
		{chat("llama3", false), http.StatusOK, 12},
		{chat("qwen", true), http.StatusOK, 8},
		{chat("big", false), http.StatusOK, 3}, // broken fails, llama3 serves
		{chat("doomed", false), http.StatusBadGateway, 2},
		{chat("invented", false), http.StatusNotFound, 3},
		{`{"model":`, http.StatusBadRequest, 2},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		for range c.n {
			wg.Go(func() {
				resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(c.body))
				if !assert.NoError(t, err) {
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				assert.Equal(t, c.status, resp.StatusCode, "%s: %s", c.body, body)
			})
		}
	}
	wg.Wait()
	m.RecordQueueWait(context.Background(), 300*time.Millisecond, metrics.QueueServed)
	m.RecordQueueWait(context.Background(), 2*time.Second, metrics.QueueTimeout)
}

// instantQuery runs expr through Prometheus's HTTP API and returns the
// values of the samples (or the scalar) it yields.
func instantQuery(client *http.Client, prom *promtest.Server, expr string) ([]float64, error) {
	resp, err := client.Get("http://" + prom.Addr() + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("HTTP %d: %s: %s", resp.StatusCode, body.ErrorType, body.Error)
	}
	var values [][2]any
	switch body.Data.ResultType {
	case "vector":
		var vec []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(body.Data.Result, &vec); err != nil {
			return nil, err
		}
		for _, s := range vec {
			values = append(values, s.Value)
		}
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(body.Data.Result, &s); err != nil {
			return nil, err
		}
		values = append(values, s)
	default:
		return nil, fmt.Errorf("unexpected result type %q", body.Data.ResultType)
	}
	out := make([]float64, 0, len(values))
	for _, v := range values {
		s, _ := v[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("sample value %v: %w", v[1], err)
		}
		out = append(out, f)
	}
	return out, nil
}
