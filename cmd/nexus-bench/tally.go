package main

import "time"

// tally is the raw outcome of driving one target in one scenario; the
// rounds of a scenario add up.
type tally struct {
	requests  int64 // measured: started in the window and completed
	completed int64 // every completed request, warm-up included
	errors    int64
	firstErr  string
	elapsed   time.Duration // measured window (plus the tail of the last requests)
	mallocs   uint64        // whole-process heap allocations during the round
	bytes     uint64
	latency   *histogram
	chunk     *histogram // nil unless stream
	total     *histogram // nil unless stream
}

func newTally(stream bool) *tally {
	t := &tally{latency: new(histogram)}
	if stream {
		t.chunk, t.total = new(histogram), new(histogram)
	}
	return t
}

// add sums o into t.
func (t *tally) add(o *tally) {
	t.requests += o.requests
	t.completed += o.completed
	if t.errors == 0 {
		t.firstErr = o.firstErr
	}
	t.errors += o.errors
	t.elapsed += o.elapsed
	t.mallocs += o.mallocs
	t.bytes += o.bytes
	t.latency.merge(o.latency)
	if t.chunk != nil && o.chunk != nil {
		t.chunk.merge(o.chunk)
		t.total.merge(o.total)
	}
}

// result is the outcome of one scenario against one target.
type result struct {
	Scenario    string   `json:"scenario"`
	Target      string   `json:"target"`
	Endpoint    string   `json:"endpoint"` // chat or embeddings
	Stream      bool     `json:"stream"`
	Concurrency int      `json:"concurrency"`
	Requests    int64    `json:"requests"`
	Errors      int64    `json:"errors"`
	FirstError  string   `json:"first_error,omitempty"`
	Seconds     float64  `json:"seconds"`
	RPS         float64  `json:"requests_per_second"`
	Latency     summary  `json:"latency"` // plain: request latency; stream: time to first event
	Chunk       *summary `json:"time_per_chunk,omitempty"`
	Total       *summary `json:"stream_total,omitempty"`
	// AllocsPerReq and BytesPerReq are whole-process heap allocations per
	// completed request (in-process mode only): load generator, backend and
	// hop together. Compare targets to see what a hop adds.
	AllocsPerReq float64 `json:"allocs_per_request,omitempty"`
	BytesPerReq  float64 `json:"bytes_per_request,omitempty"`
}

// result digests t.
func (t *tally) result(sc scenario, tgt target) result {
	res := result{
		Scenario: sc.Name, Target: tgt.Name, Endpoint: sc.Endpoint, Stream: sc.Stream, Concurrency: sc.Concurrency,
		Requests: t.requests, Errors: t.errors, FirstError: t.firstErr,
		Seconds: t.elapsed.Seconds(), Latency: t.latency.summarize(),
	}
	if res.Seconds > 0 {
		res.RPS = float64(res.Requests) / res.Seconds
	}
	if t.chunk != nil {
		c, tot := t.chunk.summarize(), t.total.summarize()
		res.Chunk, res.Total = &c, &tot
	}
	if t.completed > 0 && t.mallocs > 0 {
		res.AllocsPerReq = float64(t.mallocs) / float64(t.completed)
		res.BytesPerReq = float64(t.bytes) / float64(t.completed)
	}
	return res
}
