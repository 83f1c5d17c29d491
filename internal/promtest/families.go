package promtest

import (
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families is a parsed text exposition, by family name.
type Families map[string]*dto.MetricFamily

// Scrape GETs url (a /metrics endpoint) and returns the body and its parse.
func Scrape(t testing.TB, client *http.Client, url string) (string, Families) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: HTTP %d", url, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return string(b), Parse(t, string(b))
}

// Parse parses a classic text exposition with Prometheus's own parser.
func Parse(t testing.TB, text string) Families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, text)
	}
	return mfs
}

// Series returns the metric of family name whose labels are exactly want,
// or nil.
func (f Families) Series(name string, want map[string]string) *dto.Metric {
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

// Counter returns a counter series value (0 when absent).
func (f Families) Counter(name string, labels map[string]string) float64 {
	if m := f.Series(name, labels); m != nil {
		return m.GetCounter().GetValue()
	}
	return 0
}

// Gauge returns a gauge series value (-1 when absent).
func (f Families) Gauge(name string, labels map[string]string) float64 {
	if m := f.Series(name, labels); m != nil {
		return m.GetGauge().GetValue()
	}
	return -1
}

// HistogramCount returns a histogram series' sample count and sum (zeros
// when absent).
func (f Families) HistogramCount(name string, labels map[string]string) (count uint64, sum float64) {
	if m := f.Series(name, labels); m != nil {
		return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
	}
	return 0, 0
}

// SumCounter adds all series of a counter family.
func (f Families) SumCounter(name string) float64 {
	var s float64
	if mf := f[name]; mf != nil {
		for _, m := range mf.GetMetric() {
			s += m.GetCounter().GetValue()
		}
	}
	return s
}

// Count returns the number of series in a family.
func (f Families) Count(name string) int {
	if mf := f[name]; mf != nil {
		return len(mf.GetMetric())
	}
	return 0
}

// L builds a label map from name, value pairs.
func L(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
