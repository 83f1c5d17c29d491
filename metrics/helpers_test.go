package metrics_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/registry"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
type families map[string]*dto.MetricFamily

// scrape GETs and parses the classic text exposition.
func scrape(t testing.TB, h http.Handler) families {
	t.Helper()
	return parse(t, scrapeText(t, h))
}

func parse(t testing.TB, text string) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	require.NoError(t, err)
	return mfs
}

// series returns the metric of family name whose labels are exactly want,
// or nil.
func (f families) series(name string, want map[string]string) *dto.Metric {
	mf := f[name]
	if mf == nil {
		return nil
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if maps.Equal(got, want) {
			return m
		}
	}
	return nil
}

// counter returns a counter series value (0 when absent).
func (f families) counter(name string, labels map[string]string) float64 {
	if m := f.series(name, labels); m != nil {
		return m.GetCounter().GetValue()
	}
	return 0
}

// gauge returns a gauge series value (-1 when absent).
func (f families) gauge(name string, labels map[string]string) float64 {
	if m := f.series(name, labels); m != nil {
		return m.GetGauge().GetValue()
	}
	return -1
}

// sumCounter adds all series of a counter family.
func (f families) sumCounter(name string) float64 {
	var s float64
	if mf := f[name]; mf != nil {
		for _, m := range mf.GetMetric() {
			s += m.GetCounter().GetValue()
		}
	}
	return s
}

// count returns the number of series in a family.
func (f families) count(name string) int {
	if mf := f[name]; mf != nil {
		return len(mf.GetMetric())
	}
	return 0
}

// L builds a label map from pairs.
func L(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
