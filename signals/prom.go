package signals

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nexusllm/nexus/registry"
)

// Metric names read from the engines' Prometheus pages.
const (
	vllmRunning    = "vllm:num_requests_running"
	vllmWaiting    = "vllm:num_requests_waiting"
	vllmKVUsage    = "vllm:kv_cache_usage_perc"
	vllmGPUKVUsage = "vllm:gpu_cache_usage_perc" // before vLLM 0.9

	sglangRunning = "sglang:num_running_reqs"
	sglangWaiting = "sglang:num_queue_reqs"
	sglangKVUsage = "sglang:token_usage"

	llamaProcessing = "llamacpp:requests_processing"
	llamaDeferred   = "llamacpp:requests_deferred"
)

// sglangRankLabels are the labels that tell apart the ranks of one SGLang
// scheduler: every tensor/pipeline-parallel rank reports the same state, so
// series differing only in these are counted once.
var sglangRankLabels = []string{"tp_rank", "pp_rank"}

// errNoMetrics: a page parsed but carried none of the engine's load metrics.
var errNoMetrics = errors.New("no load metrics on the page")

// ParseVLLM reads a vLLM /metrics page. Running and Waiting are summed over
// every series (one per model_name and engine); KVCacheUsage is the highest
// vllm:kv_cache_usage_perc (or, from releases before 0.9,
// vllm:gpu_cache_usage_perc) of any series. A metric the page lacks stays
// -1; a page with none of them is an error. UpdatedAt is left zero.
func ParseVLLM(page []byte) (*registry.Load, error) {
	fams, err := parseProm(page, vllmRunning, vllmWaiting, vllmKVUsage, vllmGPUKVUsage)
	if err != nil {
		return nil, err
	}
	l := registry.NewLoad(time.Time{})
	l.Running = count(fams[vllmRunning])
	l.Waiting = count(fams[vllmWaiting])
	l.KVCacheUsage = fraction(fams[vllmKVUsage])
	if l.KVCacheUsage < 0 {
		l.KVCacheUsage = fraction(fams[vllmGPUKVUsage])
	}
	return result(l)
}

// ParseSGLang reads an SGLang /metrics page: sglang:num_running_reqs,
// sglang:num_queue_reqs and sglang:token_usage (the KV pool's use).
// Series of one scheduler that differ only in tp_rank or pp_rank are
// counted once; data-parallel ranks and models are summed, and the usage
// is the highest of any series. Missing metrics stay -1; a page with none
// of them is an error.
func ParseSGLang(page []byte) (*registry.Load, error) {
	fams, err := parseProm(page, sglangRunning, sglangWaiting, sglangKVUsage)
	if err != nil {
		return nil, err
	}
	l := registry.NewLoad(time.Time{})
	l.Running = count(fams[sglangRunning], sglangRankLabels...)
	l.Waiting = count(fams[sglangWaiting], sglangRankLabels...)
	l.KVCacheUsage = fraction(fams[sglangKVUsage])
	return result(l)
}

// ParseLlamaCppMetrics reads a llama.cpp server /metrics page (served with
// --metrics): llamacpp:requests_processing becomes Running and SlotsBusy,
// llamacpp:requests_deferred Waiting. SlotsTotal and KVCacheUsage stay -1
// (current builds export no KV gauge). A page with neither is an error.
func ParseLlamaCppMetrics(page []byte) (*registry.Load, error) {
	fams, err := parseProm(page, llamaProcessing, llamaDeferred)
	if err != nil {
		return nil, err
	}
	l := registry.NewLoad(time.Time{})
	l.Running = count(fams[llamaProcessing])
	l.SlotsBusy = l.Running
	l.Waiting = count(fams[llamaDeferred])
	return result(l)
}

// result returns l, or errNoMetrics when it carries nothing.
func result(l *registry.Load) (*registry.Load, error) {
	if l.Running < 0 && l.Waiting < 0 && l.KVCacheUsage < 0 && l.SlotsTotal < 0 && l.SlotsBusy < 0 {
		return nil, errNoMetrics
	}
	return l, nil
}

// parseProm parses the lines of a Prometheus text page that belong to the
// named metrics with Prometheus's own parser. Selecting the lines first
// keeps the cost independent of the engine's many histograms; a page that
// is broken elsewhere does not matter.
func parseProm(page []byte, names ...string) (map[string]*dto.MetricFamily, error) {
	sel := selectLines(page, names)
	if len(sel) == 0 {
		return nil, errNoMetrics
	}
	// The legacy text format allows ':' in metric names. UTF-8 validation
	// accepts every name the legacy one does and more, and is set on this
	// parser only, never through model.NameValidationScheme.
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(sel))
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return fams, nil
}

// selectLines returns the lines of page (samples and HELP/TYPE comments)
// whose metric name is one of names, each ending in a newline (a CRLF
// line end becomes LF).
func selectLines(page []byte, names []string) []byte {
	var out []byte
	for len(page) > 0 {
		line := page
		if i := bytes.IndexByte(page, '\n'); i >= 0 {
			line, page = page[:i], page[i+1:]
		} else {
			page = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r")) // the parser rejects CRLF
		name := lineMetric(line)
		if name == nil {
			continue
		}
		for _, n := range names {
			if string(name) == n { // no allocation: compiler-optimised comparison
				out = append(out, line...)
				out = append(out, '\n')
				break
			}
		}
	}
	return out
}

// lineMetric returns the metric name a line of the text format is about:
// the name of a sample, or of a "# HELP" or "# TYPE" comment; nil for
// other comments and blank lines.
func lineMetric(line []byte) []byte {
	line = bytes.TrimLeft(line, " \t")
	if len(line) == 0 {
		return nil
	}
	if line[0] == '#' {
		rest := bytes.TrimLeft(line[1:], " \t")
		var ok bool
		if rest, ok = bytes.CutPrefix(rest, []byte("HELP")); !ok {
			if rest, ok = bytes.CutPrefix(rest, []byte("TYPE")); !ok {
				return nil
			}
		}
		if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
			return nil
		}
		line = bytes.TrimLeft(rest, " \t")
	}
	if i := bytes.IndexAny(line, "{ \t"); i >= 0 {
		return line[:i]
	}
	return line
}

// value returns a sample's value whatever the family's type (engines
// without TYPE lines produce untyped samples).
func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return math.NaN()
}

// count sums a family's series as a count of requests, rounded and never
// negative; -1 when the family is absent or has no finite sample. Series
// that differ only in the ignore labels are duplicates of one another:
// only the largest of them counts.
func count(mf *dto.MetricFamily, ignore ...string) int {
	groups := map[string]float64{}
	for _, m := range mf.GetMetric() {
		v := value(m)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		k := groupKey(m, ignore)
		if old, ok := groups[k]; !ok || v > old {
			groups[k] = v
		}
	}
	if len(groups) == 0 {
		return -1
	}
	var sum float64
	for _, v := range groups {
		sum += max(v, 0)
	}
	return int(math.Round(min(sum, math.MaxInt32)))
}

// fraction returns the largest finite sample of a family clamped to 0..1,
// -1 when there is none.
func fraction(mf *dto.MetricFamily) float64 {
	best := -1.0
	for _, m := range mf.GetMetric() {
		v := value(m)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		best = max(best, min(max(v, 0), 1))
	}
	return best
}

// groupKey identifies a series by its labels other than ignore.
func groupKey(m *dto.Metric, ignore []string) string {
	if len(ignore) == 0 && len(m.GetLabel()) == 0 {
		return ""
	}
	pairs := make([]*dto.LabelPair, 0, len(m.GetLabel()))
	for _, lp := range m.GetLabel() {
		if !slices.Contains(ignore, lp.GetName()) {
			pairs = append(pairs, lp)
		}
	}
	slices.SortFunc(pairs, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	var b strings.Builder
	for _, lp := range pairs {
		b.WriteString(lp.GetName())
		b.WriteByte(0)
		b.WriteString(lp.GetValue())
		b.WriteByte(0)
	}
	return b.String()
}
