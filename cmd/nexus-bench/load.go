package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// scenario is one load shape.
type scenario struct {
	Name        string
	Endpoint    string // endpointChat or endpointEmbeddings; "" means chat
	Stream      bool   // chat only
	Concurrency int
}

// The endpoints a scenario can drive.
const (
	endpointChat       = "chat"
	endpointEmbeddings = "embeddings"
)

// target is one hop under load.
type target struct {
	Name string // direct, bare-proxy, gateway or url
	URL  string // the full chat completions URL; the other endpoints are beside it
}

// url returns the full URL sc sends its requests to.
func (t target) url(sc scenario) string {
	if sc.Endpoint == endpointEmbeddings {
		return embeddingsURL(t.URL)
	}
	return t.URL
}

// loadSpec says how long and how to drive a target.
type loadSpec struct {
	body    []byte        // the request body
	apiKey  string        // bearer token, optional
	warmup  time.Duration // run but do not measure
	measure time.Duration // measured window
	timeout time.Duration // bound for requests in flight at the end
}

// newLoadClient returns a keep-alive client with an idle pool large enough
// for every worker, and nothing between the worker and the socket.
func newLoadClient(concurrency int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        concurrency + 16,
		MaxIdleConnsPerHost: concurrency + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// The gateway speaks HTTP/1.1 on plain TCP, as clients reach it.
		ForceAttemptHTTP2: false,
	}}
}

// worker is one closed-loop client: it sends a request, reads the whole
// answer, records, and sends the next. It owns its histograms.
type worker struct {
	latency *histogram // plain: whole request; stream: time to first event
	chunk   *histogram // stream: (whole stream - first event) / (events - 1)
	total   *histogram // stream: whole stream
	br      *bufio.Reader
	header  http.Header

	measured atomic.Int64 // requests started in the measured window, completed
	all      atomic.Int64 // every completed request, warm-up included
	errs     atomic.Int64
	firstErr string
	_        [64]byte // keep the counters of two workers off one cache line
}

// errNoDone marks a stream that ended without "data: [DONE]".
var errNoDone = errors.New("stream ended without data: [DONE]")

// errEvent marks a stream that carried an error event.
var errEvent = errors.New("stream carried an error event")

func (w *worker) fail(err error) {
	if w.errs.Add(1) == 1 {
		w.firstErr = err.Error()
	}
}

// loadRun is one scenario against one target, in progress.
type loadRun struct {
	sc      scenario
	tgt     target
	spec    loadSpec
	client  *http.Client
	tmpl    *http.Request
	workers []*worker

	start, measureStart, end time.Time
	lastDone                 atomic.Int64 // unix nanos of the last measured completion
}

// drive runs one round of sc against tgt with client. p, when not nil, is
// told about progress. countAllocs adds whole-process allocation figures.
func drive(ctx context.Context, client *http.Client, sc scenario, tgt target, spec loadSpec, p *progress, countAllocs bool) (*tally, error) {
	run := &loadRun{sc: sc, tgt: tgt, spec: spec, client: client}
	run.start = time.Now()
	run.measureStart = run.start.Add(spec.warmup)
	run.end = run.measureStart.Add(spec.measure)
	rctx, cancel := context.WithDeadline(ctx, run.end.Add(spec.timeout))
	defer cancel()
	tmpl, err := http.NewRequestWithContext(rctx, http.MethodPost, tgt.url(sc), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgt.Name, err)
	}
	body := spec.body
	tmpl.ContentLength = int64(len(body))
	tmpl.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	run.tmpl = tmpl

	for range sc.Concurrency {
		w := &worker{latency: new(histogram), header: http.Header{"Content-Type": {"application/json"}}}
		if spec.apiKey != "" {
			w.header.Set("Authorization", "Bearer "+spec.apiKey)
		}
		if sc.Stream {
			w.header.Set("Accept", "text/event-stream")
			w.chunk, w.total = new(histogram), new(histogram)
			w.br = bufio.NewReaderSize(nil, 32<<10)
		}
		run.workers = append(run.workers, w)
	}
	if p != nil {
		p.begin(sc.Name, tgt.Name, run)
		defer p.finish()
	}
	var before runtime.MemStats
	if countAllocs {
		runtime.ReadMemStats(&before)
	}
	var wg sync.WaitGroup
	for _, w := range run.workers {
		wg.Go(func() { run.loop(ctx, w) })
	}
	wg.Wait()
	t := run.collect()
	if countAllocs {
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		t.mallocs = after.Mallocs - before.Mallocs
		t.bytes = after.TotalAlloc - before.TotalAlloc
	}
	return t, nil
}

// loop sends requests until the measured window ends or ctx is done.
func (r *loadRun) loop(ctx context.Context, w *worker) {
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(r.end) {
			return
		}
		err := r.once(w, t0, !t0.Before(r.measureStart))
		if err != nil && ctx.Err() == nil {
			w.fail(err)
		}
	}
}

// bodyReader is the request body; one small allocation per request.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// once sends one request and reads its whole answer.
func (r *loadRun) once(w *worker, t0 time.Time, measured bool) error {
	req := new(http.Request)
	*req = *r.tmpl // keeps the template's context
	req.Header = w.header
	br := new(bodyReader)
	br.Reset(r.spec.body)
	req.Body = br
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var ttfb, last time.Duration
	var events int
	if r.sc.Stream {
		if ttfb, last, events, err = w.readStream(resp.Body, t0); err != nil {
			return err
		}
	} else if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	t1 := time.Now()
	w.all.Add(1)
	if !measured {
		return nil
	}
	if r.sc.Stream {
		w.latency.record(ttfb)
		w.total.record(t1.Sub(t0))
		if events > 1 {
			w.chunk.record((last - ttfb) / time.Duration(events-1))
		}
	} else {
		w.latency.record(t1.Sub(t0))
	}
	w.measured.Add(1)
	done := t1.UnixNano()
	for {
		last := r.lastDone.Load()
		if done <= last || r.lastDone.CompareAndSwap(last, done) {
			break
		}
	}
	return nil
}

var (
	dataPrefix  = []byte("data:")
	donePayload = []byte("[DONE]")
	errorPrefix = []byte(`{"error"`)
)

// readStream reads server-sent events up to "data: [DONE]" and returns the
// times from t0 to the first and to the last data event (before [DONE]) and
// the number of data events.
func (w *worker) readStream(body io.Reader, t0 time.Time) (first, last time.Duration, events int, err error) {
	w.br.Reset(body)
	partial, sawError := false, false
	for {
		line, err := w.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			partial = true // the rest of an over-long line follows
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = errNoDone
			}
			return first, last, events, err
		}
		wasPartial := partial
		partial = false
		if wasPartial || !bytes.HasPrefix(line, dataPrefix) {
			continue
		}
		payload := bytes.TrimSpace(line[len(dataPrefix):])
		if bytes.Equal(payload, donePayload) {
			if sawError {
				return first, last, events, errEvent
			}
			return first, last, events, nil
		}
		sawError = sawError || bytes.HasPrefix(payload, errorPrefix)
		last = time.Since(t0)
		if events == 0 {
			first = last
		}
		events++
	}
}

// collect merges the workers' figures.
func (r *loadRun) collect() *tally {
	t := newTally(r.sc.Stream)
	for _, w := range r.workers {
		t.requests += w.measured.Load()
		t.completed += w.all.Load()
		if n := w.errs.Load(); n > 0 {
			if t.errors == 0 {
				t.firstErr = w.firstErr
			}
			t.errors += n
		}
		t.latency.merge(w.latency)
		if r.sc.Stream {
			t.chunk.merge(w.chunk)
			t.total.merge(w.total)
		}
	}
	// Requests that started in the window may finish a little after it.
	t.elapsed = r.end.Sub(r.measureStart)
	if last := r.lastDone.Load(); last > 0 {
		t.elapsed = max(t.elapsed, time.Unix(0, last).Sub(r.measureStart))
	}
	return t
}
