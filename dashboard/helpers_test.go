package dashboard

import (
	"github.com/nexusllm/nexus/api"

	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/require"
)

// Secrets that must never reach the page.
const (
	secretKey      = "sk-test-SECRET-key-123"
	secretPassword = "hunter2-password"
	secretQuery    = "query-token-456"
)

// fixture is a dashboard over a small registry, served on loopback.
type fixture struct {
	reg        *registry.Registry
	hist       *History
	dash       *Dashboard
	srv        *httptest.Server
	statsCalls atomic.Int64
	statsErr   atomic.Pointer[error]
}

type fixtureOption func(*Config)

func newFixture(t *testing.T, opts ...fixtureOption) *fixture {
	t.Helper()
	f := &fixture{reg: registry.New(), hist: NewHistory(0)}
	_, err := f.reg.Add(registry.Config{
		Name: "gpu-1", URL: "http://user:" + secretPassword + "@127.0.0.1:9?token=" + secretQuery,
		Type: registry.TypeVLLM, APIKey: secretKey, Status: registry.StatusHealthy, Priority: 1,
		Models: []registry.Model{
			{ID: "llama3", ContextLength: 8192, Vision: registry.CapNo, Tools: registry.CapYes, JSONMode: registry.CapUnknown},
			{ID: "qwen", ContextLength: 32768, Vision: registry.CapYes},
		},
	})
	require.NoError(t, err)
	_, err = f.reg.Add(registry.Config{Name: "laptop", URL: "http://127.0.0.1:10", Type: registry.TypeOllama,
		Models: []registry.Model{{ID: "llama3"}}})
	require.NoError(t, err)

	cfg := Config{
		Backends: func() []api.Backend { return backendsOf(f.reg) },
		History:  f.hist,
		Stats: func(ctx context.Context) (any, error) {
			n := f.statsCalls.Add(1)
			if p := f.statsErr.Load(); p != nil {
				return nil, *p
			}
			return map[string]any{
				"uptime_seconds": 42,
				"requests":       map[string]any{"total": n, "success": n, "errors": 0},
				"calls":          n,
			}, nil
		},
		Models: func() any { return map[string]any{"object": "list", "data": []any{}} },
		Health: func() any { return map[string]any{"status": "degraded", "models": 2} },
	}
	for _, o := range opts {
		o(&cfg)
	}
	f.dash = New(cfg)
	f.srv = httptest.NewServer(f.dash.Handler())
	// Cleanups run last-in first-out: the dashboard closes (ending event
	// streams) before the server waits for its handlers.
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.dash.Close)
	return f
}

func (f *fixture) failStats(err error) { f.statsErr.Store(&err) }

var errStats = errors.New("collector closed")

// get performs a request against the fixture's server.
func (f *fixture) do(t *testing.T, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// initialJSON extracts the data embedded in the page.
func initialJSON(t *testing.T, page string) string {
	t.Helper()
	const open = `<script id="initial-data" type="application/json">`
	i := strings.Index(page, open)
	require.GreaterOrEqual(t, i, 0, "page has no initial data")
	rest := page[i+len(open):]
	j := strings.Index(rest, "</script>")
	require.GreaterOrEqual(t, j, 0)
	return rest[:j]
}

func mustURL(t *testing.T, path string) *url.URL {
	t.Helper()
	u, err := url.Parse(path)
	require.NoError(t, err)
	return u
}

// backendsOf stands in for the gateway's admin view of the backends: the
// dashboard shows whatever list it is handed.
func backendsOf(reg *registry.Registry) []api.Backend {
	out := []api.Backend{}
	for _, b := range reg.Backends() {
		ab := api.Backend{ID: b.ID, Name: b.Name, URL: "http://127.0.0.1", Type: string(b.Type),
			Status: b.Status().String(), Pending: b.Pending(), Models: []api.BackendModel{}}
		if e := b.LastError(); e != "" {
			ab.LastError = &e
		}
		for _, m := range b.Models() {
			ab.Models = append(ab.Models, api.BackendModel{ID: m.ID, ContextLength: m.ContextLength,
				Capabilities: api.Capabilities{Vision: m.Vision.Bool(), Tools: m.Tools.Bool(), JSONMode: m.JSONMode.Bool()}})
		}
		out = append(out, ab)
	}
	return out
}
