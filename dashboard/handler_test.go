package dashboard

import (
	"github.com/nexusllm/nexus/api"

	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndexEmbedsTheInitialData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.hist.Add(api.HistoryEntry{RequestID: "r-1", Model: "llama3", ActualModel: "llama3", Backend: "gpu-1", Status: 200, DurationMS: 12.5})
	f.hist.Add(api.HistoryEntry{RequestID: "r-2", Model: "nope", Status: 404, Error: "</script><script>alert(1)</script>"})

	res, page := f.do(t, http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'")
	for _, id := range []string{`id="total-requests"`, `id="backends"`, `id="models-matrix"`, `id="history"`,
		`id="connection"`, `id="chart-rate"`, `id="chart-latency"`, `src="assets/dashboard.js"`, `href="assets/styles.css"`} {
		assert.Contains(t, page, id)
	}

	var data struct {
		Stats           map[string]any     `json:"stats"`
		Models          map[string]any     `json:"models"`
		Health          map[string]any     `json:"health"`
		Backends        []map[string]any   `json:"backends"`
		History         []api.HistoryEntry `json:"history"`
		StatsIntervalMS int64              `json:"stats_interval_ms"`
		HistoryCapacity int                `json:"history_capacity"`
	}
	require.NoError(t, json.Unmarshal([]byte(initialJSON(t, page)), &data))
	assert.EqualValues(t, 42, data.Stats["uptime_seconds"])
	assert.Equal(t, "list", data.Models["object"])
	assert.Equal(t, "degraded", data.Health["status"])
	require.Len(t, data.Backends, 2)
	assert.Equal(t, "gpu-1", data.Backends[0]["name"])
	assert.Equal(t, "laptop", data.Backends[1]["name"])
	require.Len(t, data.History, 2)
	assert.Equal(t, "r-1", data.History[0].RequestID)
	assert.Equal(t, "</script><script>alert(1)</script>", data.History[1].Error, "the JSON round-trips the text")
	assert.EqualValues(t, DefaultStatsInterval.Milliseconds(), data.StatsIntervalMS)
	assert.Equal(t, DefaultHistoryCapacity, data.HistoryCapacity)

	// The hostile error text cannot close the data element or inject markup.
	assert.NotContains(t, page, "<script>alert(1)")
	assert.Equal(t, 2, strings.Count(page, "<script"), "only the page's own two script elements")
	// The no-script view lists the request, escaped.
	assert.Contains(t, page, "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Contains(t, page, `<meta http-equiv="refresh" content="5">`)

	for _, secret := range []string{secretKey, secretPassword, secretQuery} {
		assert.NotContains(t, page, secret)
	}
}

func TestIndexWithoutStatistics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		setup  func(*fixture)
		opts   []fixtureOption
		errMsg string
	}{
		{name: "stats fail", setup: func(f *fixture) { f.failStats(errStats) }, errMsg: errStats.Error()},
		{name: "no sources", opts: []fixtureOption{func(c *Config) { c.Stats, c.Models, c.Health, c.Backends = nil, nil, nil, nil }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts...)
			if tc.setup != nil {
				tc.setup(f)
			}
			res, page := f.do(t, http.MethodGet, "/", nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			var data map[string]any
			require.NoError(t, json.Unmarshal([]byte(initialJSON(t, page)), &data))
			assert.Nil(t, data["stats"])
			if tc.errMsg != "" {
				assert.Equal(t, tc.errMsg, data["stats_error"])
			} else {
				assert.Nil(t, data["models"])
				assert.Nil(t, data["health"])
				assert.Equal(t, []any{}, data["backends"])
			}
			assert.Equal(t, []any{}, data["history"])
		})
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		method, path string
		status       int
		ctype        string
		allow        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", ""},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/assets/dashboard.js", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/assets/styles.css", 200, "text/css; charset=utf-8", ""},
		{"HEAD", "/assets/styles.css", 200, "text/css; charset=utf-8", ""},
		{"GET", "/assets/index.html", 404, "application/json", ""},
		{"GET", "/assets/nope.js", 404, "application/json", ""},
		{"GET", "/assets/", 404, "application/json", ""},
		{"GET", "/assets/sub/dashboard.js", 404, "application/json", ""},
		{"GET", "/v1/history", 200, "application/json", ""},
		{"GET", "/index.html", 404, "application/json", ""},
		{"POST", "/", 405, "application/json", "GET, HEAD"},
		{"DELETE", "/v1/history", 405, "application/json", "GET, HEAD"},
		{"POST", "/v1/events", 405, "application/json", "GET, HEAD"},
		{"PUT", "/assets/dashboard.js", 405, "application/json", "GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			res, body := f.do(t, tc.method, tc.path, nil)
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Equal(t, tc.ctype, res.Header.Get("Content-Type"))
			assert.Equal(t, tc.allow, res.Header.Get("Allow"))
			if tc.status >= 400 {
				var env struct {
					Error struct {
						Message string `json:"message"`
						Type    string `json:"type"`
					} `json:"error"`
				}
				require.NoError(t, json.Unmarshal([]byte(body), &env), body)
				assert.NotEmpty(t, env.Error.Message)
				assert.Equal(t, "invalid_request_error", env.Error.Type)
			}
			if tc.method == http.MethodHead {
				assert.Empty(t, body)
			}
		})
	}
}

func TestAssetsRevalidate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, name := range []string{"dashboard.js", "styles.css"} {
		res, body := f.do(t, http.MethodGet, "/assets/"+name, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		want, err := assetFS.ReadFile("assets/" + name)
		require.NoError(t, err)
		assert.Equal(t, string(want), body)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
		etag := res.Header.Get("ETag")
		require.NotEmpty(t, etag)
		res, body = f.do(t, http.MethodGet, "/assets/"+name, http.Header{"If-None-Match": {etag}})
		assert.Equal(t, http.StatusNotModified, res.StatusCode)
		assert.Empty(t, body)
	}
}

func TestHistoryEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, body := f.do(t, http.MethodGet, "/v1/history", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `[]`, body)

	at := time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)
	for i := range 105 {
		f.hist.Add(api.HistoryEntry{Time: at.Add(time.Duration(i) * time.Second), RequestID: "r", Model: "alias", ActualModel: "llama3",
			Backend: "gpu-1", Status: 200, DurationMS: 1.5, PromptTokens: 3, CompletionTokens: 4, Stream: true,
			Fallback: true, RouteReason: "fallback", Attempts: 2})
	}
	f.hist.Add(api.HistoryEntry{Time: at.Add(time.Hour), RequestID: "last", Model: "x", Status: 499, Error: "client went away"})

	_, body = f.do(t, http.MethodGet, "/v1/history", nil)
	var raw []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &raw))
	require.Len(t, raw, DefaultHistoryCapacity)
	assert.Equal(t, map[string]any{
		"timestamp": "2025-01-02T03:04:11.0000006Z", "request_id": "r", "endpoint": "", "model": "alias", "actual_model": "llama3",
		"backend": "gpu-1", "status": 200.0, "duration_ms": 1.5, "prompt_tokens": 3.0, "completion_tokens": 4.0,
		"stream": true, "fallback": true, "route_reason": "fallback", "attempts": 2.0,
	}, raw[0], "the oldest kept entry comes first, every field named")
	assert.Equal(t, map[string]any{
		"timestamp": "2025-01-02T04:04:05.0000006Z", "request_id": "last", "endpoint": "", "model": "x", "actual_model": "",
		"backend": "", "status": 499.0, "duration_ms": 0.0, "prompt_tokens": 0.0, "completion_tokens": 0.0,
		"stream": false, "fallback": false, "attempts": 0.0, "error": "client went away",
	}, raw[len(raw)-1])
}

// TestAssetsAreSelfContained checks the page needs nothing from the
// network and inserts no markup from data.
func TestAssetsAreSelfContained(t *testing.T) {
	t.Parallel()
	total := 0
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	err := fs.WalkDir(assetFS, "assets", func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		b, err := assetFS.ReadFile(path)
		require.NoError(t, err)
		total += len(b)
		text := strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", "")
		assert.Empty(t, external.FindAllString(text, -1), "%s refers to an external URL", path)
		if strings.HasSuffix(path, ".js") {
			for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				assert.NotContains(t, text, sink, "%s uses %s", path, sink)
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.LessOrEqual(t, total, 200<<10, "embedded assets must stay within 200 KB")
}

func TestPaths(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	f := newFixture(t)
	for _, p := range Paths() {
		mux.Handle(p, f.dash.Handler())
	}
	for _, p := range []string{"/", "/assets/styles.css", "/v1/history"} {
		_, pattern := mux.Handler(&http.Request{Method: "GET", URL: mustURL(t, p), Host: "x"})
		assert.NotEmpty(t, pattern, p)
	}
	_, pattern := mux.Handler(&http.Request{Method: "GET", URL: mustURL(t, "/other"), Host: "x"})
	assert.Empty(t, pattern, "the page must not swallow other paths")
}

func BenchmarkServeIndex(b *testing.B) {
	r := registry.New()
	for i := range 10 {
		_, _ = r.Add(registry.Config{Name: "b" + string(rune('a'+i)), URL: "http://127.0.0.1:1",
			Models: []registry.Model{{ID: "llama3"}, {ID: "qwen"}}})
	}
	d := New(Config{
		Backends: func() []api.Backend { return backendsOf(r) },
		Stats:    func(context.Context) (any, error) { return map[string]any{"requests": map[string]int{"total": 1}}, nil },
	})
	defer d.Close()
	for i := range DefaultHistoryCapacity {
		d.History().Add(api.HistoryEntry{RequestID: "r", Model: "llama3", Backend: "ba", Status: 200 + i%2*302, Error: "x"})
	}
	h := d.Handler()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
	}
}
