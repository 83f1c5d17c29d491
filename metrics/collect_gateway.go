package metrics

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

type endpointAgg struct {
	requests, errors   uint64
	prompt, completion uint64
	duration           hist
}

type keyAgg struct {
	requests, errors   uint64
	prompt, completion uint64
	rateLimited        uint64
}

func (f *fold) endpoint(label string) *endpointAgg {
	a := f.endpoints[label]
	if a == nil {
		a = &endpointAgg{}
		f.endpoints[label] = a
	}
	return a
}

func (f *fold) key(label string) *keyAgg {
	a := f.keys[label]
	if a == nil {
		a = &keyAgg{}
		f.keys[label] = a
	}
	return a
}

type backendAgg struct {
	requests, errors uint64
	duration, probe  hist
}

type modelAgg struct {
	requests, errors   uint64
	prompt, completion uint64
	duration, ttft     hist
}

func (f *fold) backend(label string) *backendAgg {
	a := f.backends[label]
	if a == nil {
		a = &backendAgg{}
		f.backends[label] = a
	}
	return a
}

func (f *fold) model(label string) *modelAgg {
	a := f.models[label]
	if a == nil {
		a = &modelAgg{}
		f.models[label] = a
	}
	return a
}

// addGateway folds the instruments beyond the seed's.
func (f *fold) addGateway(mt metricdata.Metrics) {
	switch mt.Name {
	case NameEndpointRequests:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			v, _ := labels(a, keyEndpoint, keyStatus)
			f.endpoint(orOverflow(v[0])).count(n, v[1])
		})
	case NameEndpointDuration:
		eachHistPoint(mt.Data, func(p *histPoint) {
			f.endpoint(labelOr(p.attrs, keyEndpoint)).duration.add(p, false)
		})
	case NameEndpointTokens:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			v, _ := labels(a, keyEndpoint, keyType)
			tokensByType(n, v[1], &f.endpoint(orOverflow(v[0])).prompt, &f.endpoint(orOverflow(v[0])).completion)
		})
	case NameKeyRequests:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			v, _ := labels(a, keyKey, keyStatus)
			ka := f.key(orOverflow(v[0]))
			ka.requests += n
			if !success(v[1]) {
				ka.errors += n
			}
		})
	case NameKeyTokens:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			v, _ := labels(a, keyKey, keyType)
			ka := f.key(orOverflow(v[0]))
			tokensByType(n, v[1], &ka.prompt, &ka.completion)
		})
	case NameRateLimited:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			v, _ := labels(a, keyKey, keyLimit)
			f.key(orOverflow(v[0])).rateLimited += n
			f.rateLimited[orOverflow(v[1])] += n
		})
	case NameLogSuppressed:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			f.logSuppressed[labelOr(a, keyKind)] += n
		})
	case NameConfigReloads:
		eachSum(mt.Data, func(a attribute.Set, n uint64) {
			switch labelOr(a, keyResult) {
			case ReloadSuccess:
				f.reloads.Success += n
			case ReloadFailure:
				f.reloads.Failure += n
			}
		})
	case NameQueueDepth:
		if d, ok := mt.Data.(metricdata.Gauge[int64]); ok {
			for _, dp := range d.DataPoints {
				f.queue.Depth += dp.Value
			}
		}
	case NameQueueWait:
		eachHistPoint(mt.Data, func(p *histPoint) {
			f.queueWait.add(p, false)
			q := &f.queue
			switch labelOr(p.attrs, keyOutcome) {
			case QueueServed:
				q.Served += p.count
			case QueueTimeout:
				q.Timeouts += p.count
			case QueueRejected:
				q.Rejected += p.count
			case QueueCancelled:
				q.Cancelled += p.count
			}
		})
	}
}

func (a *endpointAgg) count(n uint64, status string) {
	a.requests += n
	if !success(status) {
		a.errors += n
	}
}

func tokensByType(n uint64, typ string, prompt, completion *uint64) {
	switch typ {
	case tokenPrompt:
		*prompt += n
	case tokenCompletion:
		*completion += n
	}
}

func (f *fold) addRequests(a attribute.Set, n uint64) {
	f.req.Total += n
	v, over := labels(a, keyModel, keyBackend, keyStatus)
	if over {
		f.req.Overflow += n
		return
	}
	ok := success(v[2])
	if ok {
		f.req.Success += n
	} else {
		f.req.Errors += n
	}
	ma, ba := f.model(v[0]), f.backend(v[1])
	ma.requests += n
	ba.requests += n
	if !ok {
		ma.errors += n
		ba.errors += n
	}
}

func (f *fold) addTokens(p *histPoint) {
	n := uint64(max(p.sum, 0))
	f.tokens.Total += n
	v, over := labels(p.attrs, keyModel, keyType)
	if over {
		return
	}
	ma := f.model(v[0])
	switch v[1] {
	case tokenPrompt:
		f.tokens.Prompt += n
		ma.prompt += n
	case tokenCompletion:
		f.tokens.Completion += n
		ma.completion += n
	}
}
