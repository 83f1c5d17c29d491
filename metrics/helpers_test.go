package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nexusllm/nexus/internal/promtest"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newMetrics returns a Metrics over reg, closed when the test ends.
func newMetrics(t testing.TB, reg *registry.Registry, opts ...metrics.Option) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(reg, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	return m
}

// addBackend adds a backend serving models to reg.
func addBackend(t testing.TB, reg *registry.Registry, id string, status registry.Status, models ...string) *registry.Backend {
	t.Helper()
	ms := make([]registry.Model, 0, len(models))
	for _, name := range models {
		ms = append(ms, registry.Model{ID: name})
	}
	b, err := reg.Add(registry.Config{ID: id, Name: id + " name", URL: "http://127.0.0.1:1", Models: ms, Status: status})
	require.NoError(t, err)
	return b
}

// scrapeText GETs the handler over real loopback HTTP and returns the body.
func scrapeText(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// families is a parsed scrape.
type families = promtest.Families

// scrape GETs and parses the classic text exposition.
func scrape(t testing.TB, h http.Handler) families {
	t.Helper()
	return promtest.Parse(t, scrapeText(t, h))
}

// L builds a label map from pairs.
func L(kv ...string) map[string]string { return promtest.L(kv...) }

func ptr[T any](v T) *T { return &v }
