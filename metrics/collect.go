package metrics

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// fold is one ManualReader collection summed up by label value (sanitised
// labels; OverflowLabel for the SDK's overflow series).
type fold struct {
	req       RequestStats
	duration  hist
	ttft      hist
	backends  map[string]*backendAgg
	models    map[string]*modelAgg
	errors    map[string]uint64
	fallbacks map[[2]string]uint64
	tokens    TokenStats

	endpoints     map[string]*endpointAgg
	keys          map[string]*keyAgg
	rateLimited   map[string]uint64 // by limit
	logSuppressed map[string]uint64 // by kind
	reloads       ReloadStats
	queue         QueueStats
	queueWait     hist
}

// labels reads a data point's label values; overflow reports the SDK's
// overflow point, which carries no other attribute.
func labels(s attribute.Set, keys ...attribute.Key) (vals [3]string, overflow bool) {
	if v, ok := s.Value(keyOverflow); ok && v.AsBool() {
		return vals, true
	}
	for i, k := range keys {
		v, _ := s.Value(k)
		vals[i] = v.AsString()
	}
	return vals, false
}

// collect runs one ManualReader collection and folds it.
func (m *Metrics) collect(ctx context.Context) (*fold, error) {
	rm, _ := m.rmPool.Get().(*metricdata.ResourceMetrics)
	if rm == nil {
		rm = new(metricdata.ResourceMetrics)
	}
	defer m.rmPool.Put(rm)
	if err := m.manual.Collect(ctx, rm); err != nil {
		return nil, err
	}
	f := &fold{
		backends:  map[string]*backendAgg{},
		models:    map[string]*modelAgg{},
		errors:    map[string]uint64{},
		fallbacks: map[[2]string]uint64{},

		endpoints:     map[string]*endpointAgg{},
		keys:          map[string]*keyAgg{},
		rateLimited:   map[string]uint64{},
		logSuppressed: map[string]uint64{},
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != meterName {
			continue // an embedder's own instruments
		}
		for _, mt := range sm.Metrics {
			f.add(mt)
		}
	}
	return f, nil
}

// add folds one instrument; the checked type switches make an unexpected
// data type count as absent.
func (f *fold) add(mt metricdata.Metrics) {
	switch mt.Name {
	case NameRequests:
		eachSum(mt.Data, f.addRequests)
	case NameRequestDuration:
		eachHistPoint(mt.Data, func(p *histPoint) {
			f.duration.add(p, false)
			if v, over := labels(p.attrs, keyModel, keyBackend); !over {
				f.model(v[0]).duration.add(p, false)
				f.backend(v[1]).duration.add(p, true)
			}
		})
	case NameTimeToFirstToken:
		eachHistPoint(mt.Data, func(p *histPoint) {
			f.ttft.add(p, false)
			if v, over := labels(p.attrs, keyModel); !over {
				f.model(v[0]).ttft.add(p, true)
			}
		})
	case NameBackendLatency:
		eachHistPoint(mt.Data, func(p *histPoint) {
			if v, over := labels(p.attrs, keyBackend); !over {
				f.backend(v[0]).probe.add(p, true)
			}
		})
	case NameTokens:
		eachHistPoint(mt.Data, f.addTokens)
	case NameErrors:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			f.errors[labelOr(a, keyErrorType)] += n
		})
	case NameFallbacks:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			v, over := labels(a, keyFromModel, keyToModel)
			if over {
				v[0], v[1] = OverflowLabel, OverflowLabel
			}
			f.fallbacks[[2]string{v[0], v[1]}] += n
		})
	default:
		f.addGateway(mt)
	}
}

// eachSum calls fn for every point of an int64 sum with its value (negative
// values count as 0).
func eachSum(data metricdata.Aggregation, fn func(attribute.Set, uint64)) {
	if d, ok := data.(metricdata.Sum[int64]); ok {
		for _, dp := range d.DataPoints {
			fn(dp.Attributes, uint64(max(dp.Value, 0)))
		}
	}
}

// labelOr returns the value of key, or OverflowLabel for the SDK's
// overflow point.
func labelOr(a attribute.Set, key attribute.Key) string {
	v, over := labels(a, key)
	if over {
		return OverflowLabel
	}
	return v[0]
}

// orOverflow maps the empty value labels returns for the overflow point to
// OverflowLabel.
func orOverflow(v string) string {
	if v == "" {
		return OverflowLabel
	}
	return v
}

// success reports whether a status label is 2xx.
func success(status string) bool {
	n, err := strconv.Atoi(status)
	return err == nil && n >= 200 && n <= 299
}

// build turns a fold into Stats, joining it with the live registry and
// restoring original names.
func (m *Metrics) build(f *fold) Stats {
	s := Stats{
		UptimeSeconds: m.uptime(),
		Requests:      f.req,
		Errors:        f.errors,
		Tokens:        f.tokens,
		Fallbacks:     make([]FallbackStats, 0, len(f.fallbacks)),
		TimeToFirstToken: LatencyStats{
			Count:     f.ttft.count,
			AverageMs: f.ttft.avgMs(),
			P50Ms:     f.ttft.quantileMs(0.5),
			P95Ms:     f.ttft.quantileMs(0.95),
		},
	}
	s.Requests.AverageDurationMs = f.duration.avgMs()
	s.Requests.P50DurationMs = f.duration.quantileMs(0.5)
	s.Requests.P95DurationMs = f.duration.quantileMs(0.95)
	s.Backends = m.buildBackends(f)
	s.Models = m.buildModels(f)
	m.buildGateway(f, &s)
	for k, n := range f.fallbacks {
		s.Fallbacks = append(s.Fallbacks, FallbackStats{From: m.models.originalOf(k[0]), To: m.models.originalOf(k[1]), Count: n})
	}
	slices.SortFunc(s.Fallbacks, func(a, b FallbackStats) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return s
}

func (m *Metrics) buildBackends(f *fold) []BackendStats {
	reg := m.reg.Backends()
	out := make([]BackendStats, 0, len(reg)+len(f.backends))
	claimed := make(map[string]bool, len(reg))
	loads := m.backendLoads()
	for _, b := range reg {
		label := SanitizeLabel(b.ID)
		claimed[label] = true
		bs := backendStats(f.backends[label])
		bs.ID, bs.Name, bs.Status, bs.Pending = b.ID, b.Name, b.Status().String(), b.Pending()
		if l, ok := loads[b.ID]; ok {
			bs.ReportedRunning, bs.ReportedWaiting, bs.KVCacheUsage = l[0], l[1], l[2]
		}
		out = append(out, bs)
	}
	for label, a := range f.backends {
		if claimed[label] {
			continue
		}
		bs := backendStats(a)
		bs.ID = m.backends.originalOf(label)
		bs.Name = bs.ID
		out = append(out, bs)
	}
	slices.SortFunc(out, func(a, b BackendStats) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func backendStats(a *backendAgg) BackendStats {
	if a == nil {
		return BackendStats{}
	}
	return BackendStats{
		Requests:         a.requests,
		Errors:           a.errors,
		AverageLatencyMs: a.duration.avgMs(),
		ProbeLatencyMs:   a.probe.avgMs(),
	}
}

func (m *Metrics) buildModels(f *fold) []ModelStats {
	reg := m.reg.Models()
	out := make([]ModelStats, 0, len(reg)+len(f.models))
	claimed := make(map[string]bool, len(reg))
	for _, name := range reg {
		label := SanitizeLabel(name)
		claimed[label] = true
		ms := modelStats(f.models[label])
		ms.Name = name
		out = append(out, ms)
	}
	for label, a := range f.models {
		if claimed[label] {
			continue
		}
		ms := modelStats(a)
		ms.Name = m.models.originalOf(label)
		out = append(out, ms)
	}
	slices.SortFunc(out, func(a, b ModelStats) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func modelStats(a *modelAgg) ModelStats {
	if a == nil {
		return ModelStats{}
	}
	return ModelStats{
		Requests:          a.requests,
		Errors:            a.errors,
		AverageDurationMs: a.duration.avgMs(),
		P50DurationMs:     a.duration.quantileMs(0.5),
		P95DurationMs:     a.duration.quantileMs(0.95),
		PromptTokens:      a.prompt,
		CompletionTokens:  a.completion,
		AverageTTFTMs:     a.ttft.avgMs(),
	}
}
