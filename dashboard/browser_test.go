//go:build linux

package dashboard_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nexusllm/nexus"
	"github.com/nexusllm/nexus/nexustest"
	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatewayUnderTest is what the browser test needs from a server: its URL,
// a way to send a chat request through it, and a way to stop its event
// stream (to exercise the page's polling fallback).
type gatewayUnderTest struct {
	URL string
	// Send sends one chat completion for model and returns its request id
	// and status.
	Send func(t *testing.T, model string) (id string, status int)
	// StopEvents ends the event streams and refuses new ones, leaving the
	// JSON endpoints up.
	StopEvents func()
	// Registry is the gateway's registry (to publish a load reading).
	Registry *registry.Registry
}

// startServer runs a real gateway on loopback in front of two nexustest
// backends (Ollama style, so capabilities and context lengths are
// discovered), with the dashboard mounted at "/".
func startServer(t *testing.T) gatewayUnderTest {
	t.Helper()
	alpha := nexustest.NewBackend(t, nexustest.Name("alpha"), nexustest.Models("llama3", "qwen2.5"), nexustest.Usage(12, 5),
		nexustest.ModelInfo("llama3", 8192, "completion", "tools"),
		nexustest.ModelInfo("qwen2.5", 32768, "completion", "vision"))
	beta := nexustest.NewBackend(t, nexustest.Name("beta"), nexustest.Models("llama3"),
		nexustest.ModelInfo("llama3", 8192, "completion", "tools"))
	cfg := nexus.DefaultConfig()
	cfg.Discovery.Enabled = false
	cfg.HealthCheck.Enabled = false
	cfg.Routing.Strategy = "priority_only"
	cfg.Backends = []nexus.BackendConfig{
		{Name: "alpha", URL: alpha.URL(), Type: "ollama", Priority: 1, APIKey: "sk-alpha-secret"},
		{Name: "beta", URL: beta.URL(), Type: "ollama", Priority: 2},
	}
	gw, err := nexus.New(cfg)
	require.NoError(t, err)
	require.NoError(t, gw.Start(context.Background()))
	// The dashboard is mounted under a prefix, as an embedder would, and
	// the inference API at the root: the page must work with relative URLs
	// only.
	mux := http.NewServeMux()
	mux.Handle("/llm/", http.StripPrefix("/llm", gw.DashboardHandler()))
	mux.Handle("/", gw)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { require.NoError(t, gw.Close()) })
	t.Cleanup(srv.Close)
	t.Cleanup(gw.Dashboard().Close) // before srv.Close: ends the event streams it waits for

	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	send := func(t *testing.T, model string) (string, int) {
		t.Helper()
		id := "browser-" + rand.Text()[:10]
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/chat/completions",
			bytes.NewReader([]byte(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", id)
		res, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return id, res.StatusCode
	}
	return gatewayUnderTest{URL: srv.URL, Send: send, StopEvents: gw.Dashboard().Close, Registry: gw.Registry()}
}

// TestBrowserDashboard drives headless Chromium against the dashboard: the
// page loads and shows the backends and models; requests sent during the
// test reach the history and counters without a reload, live and then by
// polling once the event stream is gone.
func TestBrowserDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	gw := startServer(t)
	b := startBrowser(t)
	b.navigate(t, gw.URL+"/llm/")

	// The page renders the embedded data and goes live.
	b.waitFor(t, `document.getElementById("connection").dataset.state === "live"`, "the event stream to open")
	var backends []string
	b.eval(t, `[...document.querySelectorAll("[data-backend]")].map(e => e.dataset.backend)`, &backends)
	assert.Equal(t, []string{"alpha", "beta"}, backends)
	var status string
	b.eval(t, `document.querySelector('[data-backend="alpha"] [data-field="status"]').textContent`, &status)
	assert.Equal(t, "healthy", status)
	var matrix [][]string
	b.eval(t, `[...document.querySelectorAll("#models-matrix tbody tr")].map(tr => [...tr.cells].map(td => td.textContent))`, &matrix)
	assert.Equal(t, [][]string{
		{"llama3", "8,192", "tools", "0", "✓", "✓"},
		{"qwen2.5", "32,768", "vision", "0", "✓", "·"},
	}, matrix)
	var summary map[string]string
	b.eval(t, `Object.fromEntries(["total-requests","active-backends","model-count"].map(id => [id, document.getElementById(id).textContent]))`, &summary)
	assert.Equal(t, map[string]string{"total-requests": "0", "active-backends": "2 / 2", "model-count": "2"}, summary)
	var rows int
	b.eval(t, `document.querySelectorAll("#history tbody tr[data-request-id]").length`, &rows)
	assert.Zero(t, rows)
	var page string
	b.eval(t, `document.documentElement.outerHTML`, &page)
	assert.NotContains(t, page, "sk-alpha-secret")

	// A request sent now appears without a reload.
	b.eval(t, `window.__sameDocument = 42`, nil)
	id, code := gw.Send(t, "llama3")
	require.Equal(t, http.StatusOK, code)
	b.waitFor(t, `document.querySelector('#history tbody tr[data-request-id="`+id+`"]') !== null`, "the request in the history")
	b.waitFor(t, `document.getElementById("total-requests").textContent === "1"`, "the request counter")
	var cells []string
	b.eval(t, `[...document.querySelector('#history tbody tr[data-request-id="`+id+`"]').cells].map(td => td.textContent)`, &cells)
	require.Len(t, cells, 6)
	assert.Equal(t, "llama3", cells[1])
	assert.Equal(t, "alpha", cells[2])
	assert.Equal(t, "200", cells[3])
	assert.Equal(t, "17", cells[5], "12 prompt + 5 completion tokens")
	b.waitFor(t, `document.querySelector('[data-backend="alpha"] [data-field="requests"]').textContent === "1"`, "the backend card counter")

	// What an engine reports about its load shows on its card.
	alpha, ok := gw.Registry.Get("alpha")
	require.True(t, ok)
	l := registry.NewLoad(time.Now())
	l.Running, l.Waiting, l.KVCacheUsage = 2, 1, 0.42
	l.LoadedModels = []registry.LoadedModel{{Name: "llama3"}}
	alpha.SetLoad(l)
	b.waitFor(t, `document.querySelector('[data-backend="alpha"] [data-field="load"]').textContent === "Reported load: running 2 · waiting 1 · KV 42% · loaded: llama3"`, "the reported load on the card")

	// The latency figures the page shows are /v1/stats's, and truthful:
	// for one fast request the p95 is that request's duration (the seed's
	// coarse buckets alone would claim 95 ms).
	b.waitFor(t, `document.getElementById("latency-detail").textContent.includes("p95")`, "the latency figures")
	var lat struct {
		Shown             string  `json:"shown"`
		Avg, P50, P95     float64 // from /v1/stats, via the dashboard's snapshot
		ShownAvg, Shown95 float64
	}
	b.eval(t, `(async () => {
		const d = await (await fetch("v1/dashboard")).json();
		const shown = document.getElementById("latency-detail").textContent;
		const m = shown.match(/avg ([0-9.]+) (ms|s) · p95 ([0-9.]+) (ms|s)/);
		const ms = (v, u) => parseFloat(v) * (u === "s" ? 1000 : 1);
		return {shown, Avg: d.stats.requests.average_duration_ms, P50: d.stats.requests.p50_duration_ms,
			P95: d.stats.requests.p95_duration_ms, ShownAvg: m ? ms(m[1], m[2]) : -1, Shown95: m ? ms(m[3], m[4]) : -1};
	})()`, &lat)
	t.Logf("latency on the page: %q; /v1/stats avg %.3f p50 %.3f p95 %.3f ms", lat.Shown, lat.Avg, lat.P50, lat.P95)
	require.Positive(t, lat.Shown95, "the page shows a p95: %q", lat.Shown)
	assert.InDelta(t, lat.P95, lat.Shown95, 0.1+lat.P95*0.1, "the page shows /v1/stats's p95")
	assert.InDelta(t, lat.Avg, lat.ShownAvg, 0.1+lat.Avg*0.1, "the page shows /v1/stats's average")
	assert.InDelta(t, lat.Avg, lat.P95, 0.1+lat.Avg*0.1, "one request: its p95 is its duration")
	assert.InDelta(t, lat.Avg, lat.P50, 0.1+lat.Avg*0.1, "one request: its p50 is its duration")
	if dir := os.Getenv("NEXUS_SCREENSHOT_DIR"); dir != "" {
		var shot struct {
			Data []byte `json:"data"`
		}
		b.must(t, b.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboard.png"), shot.Data, 0o644))
	}

	// A failed request shows its error on demand.
	bad, code := gw.Send(t, "missing-model")
	require.Equal(t, http.StatusNotFound, code)
	row := `document.querySelector('#history tbody tr[data-request-id="` + bad + `"]')`
	b.waitFor(t, row+` !== null`, "the failed request in the history")
	detail := `document.querySelector('#history tbody tr.detail[data-detail-for="' + ` + row + `.dataset.key + '"]')`
	b.waitFor(t, detail+`.hidden`, "the error to start folded")
	b.eval(t, row+`.querySelector("button").click()`, nil)
	var errText string
	b.eval(t, `(() => { const d = `+detail+`; return d.hidden ? "" : d.textContent; })()`, &errText)
	assert.Contains(t, errText, "Model 'missing-model' not found")
	b.eval(t, `document.querySelectorAll("#history tbody tr[data-request-id]").length`, &rows)
	assert.Equal(t, 2, rows)

	// Phone width: nothing overflows the viewport; dark mode applies.
	b.must(t, b.session, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": true}, nil)
	b.must(t, b.session, "Emulation.setEmulatedMedia",
		map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": "dark"}}}, nil)
	var width int
	b.eval(t, `new Promise(r => requestAnimationFrame(() => r(document.documentElement.scrollWidth)))`, &width)
	assert.LessOrEqual(t, width, 320, "the page fits a 320 px screen")
	var bg string
	b.eval(t, `getComputedStyle(document.body).backgroundColor`, &bg)
	assert.Equal(t, "rgb(15, 18, 22)", bg, "dark colours under prefers-color-scheme: dark")

	assert.Empty(t, b.cdp.problems(), "the page reported errors")

	// Without the event stream the page backs off, then polls. The request
	// is sent once the stream is gone, so only polling can show it.
	gw.StopEvents()
	polled, code := gw.Send(t, "qwen2.5")
	require.Equal(t, http.StatusOK, code)
	b.waitFor(t, `document.getElementById("connection").dataset.state === "polling"`, "polling mode after three failures")
	b.waitFor(t, `document.querySelector('#history tbody tr[data-request-id="`+polled+`"]') !== null`, "a polled request in the history")
	b.waitFor(t, `document.getElementById("total-requests").textContent === "2"`, "the polled counter")

	var same int
	b.eval(t, `window.__sameDocument || 0`, &same)
	assert.Equal(t, 42, same, "the page was never reloaded")
	for _, p := range b.cdp.problems() {
		assert.Contains(t, p, "503 (Service Unavailable) "+gw.URL+"/llm/v1/events", "only the refused event streams fail")
	}
}
