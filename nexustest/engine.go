package nexustest

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Engine types an Engine can imitate (EngineConfig.Type).
const (
	EngineVLLM     = "vllm"
	EngineSGLang   = "sglang"
	EngineLlamaCpp = "llamacpp"
	EngineOllama   = "ollama"
)

// Defaults of EngineConfig.
const (
	DefaultEngineSlots           = 4
	DefaultEngineDecodeTime      = 5 * time.Millisecond
	DefaultEnginePrefillPerToken = 200 * time.Microsecond
	DefaultEngineOutputTokens    = 16
	DefaultEngineContextLength   = 4096
)

// EngineBlockTokens is the size, in tokens, of one prefix-cache block.
const EngineBlockTokens = 16

// EngineConfig describes a simulated inference engine. The zero value of
// every field means its documented default.
//
// Durations are simulated time: the engine sleeps them multiplied by
// TimeScale, and reports them unscaled in EngineStats.
type EngineConfig struct {
	// Type is the engine imitated: "vllm", "sglang", "llamacpp" or
	// "ollama". It chooses the signal endpoints and their format. "" means
	// "vllm".
	Type string
	// Name labels the engine in replies (system_fingerprint). "" means Type.
	Name string
	// Models the engine can serve; at least one is required. vLLM and
	// SGLang label their metrics with the first.
	Models []string
	// Slots is how many sequences are decoded at once; requests beyond
	// wait in one FIFO queue. 0 means 4.
	Slots int
	// DecodeTime is the time per output token. 0 means 5ms; negative means
	// none.
	DecodeTime time.Duration
	// PrefillPerToken is the time per uncached prompt token. 0 means
	// 0.2ms; negative means none.
	PrefillPerToken time.Duration
	// CacheBlocks is the capacity of the prompt-prefix cache in blocks of
	// EngineBlockTokens tokens, evicted least recently used first. Cached
	// prefix tokens cost nothing to prefill. 0 means no prefix cache.
	CacheBlocks int
	// LoadTime is the time to load a model on its first use (or after its
	// eviction). With LoadTime and MaxLoaded both 0 every model is loaded
	// from the start; otherwise models start unloaded.
	LoadTime time.Duration
	// MaxLoaded is how many models are resident at once; loading another
	// evicts the least recently used one that no request is using (or the
	// least recently used one if all are busy). 0 means unlimited.
	MaxLoaded int
	// OutputTokens is the length of every reply; a request's max_tokens
	// (or max_completion_tokens) caps it. 0 means 16.
	OutputTokens int
	// ContextLength is the per-slot context size the signals report. 0
	// means 4096.
	ContextLength int
	// TimeScale multiplies every duration actually waited, so benchmarks
	// can run a simulation faster (0.01 is 100 times faster). 0 means 1.
	TimeScale float64
	// Addr is the listen address. "" means 127.0.0.1 on a free port.
	Addr string
}

// engineSettings is an EngineConfig with its defaults applied.
type engineSettings struct {
	EngineConfig
	kvBlocks int // KV capacity in blocks, the denominator of usage
}

func (c EngineConfig) settings() (engineSettings, error) {
	if c.Type == "" {
		c.Type = EngineVLLM
	}
	switch c.Type {
	case EngineVLLM, EngineSGLang, EngineLlamaCpp, EngineOllama:
	default:
		return engineSettings{}, fmt.Errorf("nexustest: unknown engine type %q (want vllm, sglang, llamacpp or ollama)", c.Type)
	}
	if len(c.Models) == 0 {
		return engineSettings{}, errors.New("nexustest: engine needs at least one model")
	}
	c.Models = append([]string(nil), c.Models...)
	if c.Name == "" {
		c.Name = c.Type
	}
	if c.Slots <= 0 {
		c.Slots = DefaultEngineSlots
	}
	c.DecodeTime = engineDefaultDuration(c.DecodeTime, DefaultEngineDecodeTime)
	c.PrefillPerToken = engineDefaultDuration(c.PrefillPerToken, DefaultEnginePrefillPerToken)
	c.LoadTime = max(c.LoadTime, 0)
	c.CacheBlocks = max(c.CacheBlocks, 0)
	c.MaxLoaded = max(c.MaxLoaded, 0)
	if c.OutputTokens <= 0 {
		c.OutputTokens = DefaultEngineOutputTokens
	}
	if c.ContextLength <= 0 {
		c.ContextLength = DefaultEngineContextLength
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	s := engineSettings{EngineConfig: c, kvBlocks: c.CacheBlocks}
	if s.kvBlocks == 0 {
		s.kvBlocks = c.Slots * engineBlocks(c.ContextLength)
	}
	return s, nil
}

// engineDefaultDuration maps 0 to def and negative values to 0.
func engineDefaultDuration(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// scaled is the wall time to wait for the simulated duration d.
func (s *engineSettings) scaled(d time.Duration) time.Duration {
	if s.TimeScale == 1 {
		return d
	}
	return time.Duration(float64(d) * s.TimeScale)
}

// Engine is a fake inference engine on loopback that behaves like a real
// one under load: a fixed number of slots with a FIFO queue before them,
// model loading and eviction, a prompt-prefix cache that shortens prefill,
// and a steady decode rate. It answers POST /v1/chat/completions (plain and
// streamed) and GET /v1/models for every type, and reports its live state
// on the signal endpoints of the engine it imitates:
//
//   - vllm: GET /metrics (vllm:num_requests_running, vllm:num_requests_waiting,
//     vllm:kv_cache_usage_perc, prefix-cache and token counters);
//   - sglang: GET /metrics (sglang:num_running_reqs, sglang:num_queue_reqs,
//     sglang:token_usage, ...);
//   - llamacpp: GET /slots, /props, /metrics and /health;
//   - ollama: GET /api/ps, /api/tags and POST /api/show.
//
// All its methods are safe for concurrent use.
//
// Prompt tokens are estimated, not tokenized: the prompt is the text
// "<role>\n<content>\n" of every message in order, and each 4 bytes of it
// (rounded up) is one token; a prefix-cache block is 16 tokens, 64 bytes.
type Engine struct {
	cfg    engineSettings
	url    string
	labels engineLabels // of the Prometheus series

	srv    *http.Server
	ctx    context.Context // parent of every request context
	cancel context.CancelFunc
	served chan struct{} // closed when Serve has returned

	hmu      sync.Mutex // guards closing and the Add side of handlers
	closing  bool
	handlers sync.WaitGroup

	seed    maphash.Seed // of the prefix-cache hashes
	ids     atomic.Int64 // chat completion id sequence
	started time.Time

	mu     sync.Mutex // guards everything below
	slots  []*engineSlot
	queue  []*engineWaiter
	busy   int
	tasks  int64 // id_task sequence; a task id is given when a slot is granted
	models map[string]*engineModel
	order  []string // model names in configuration order
	tick   uint64   // model LRU clock
	cache  *engineBlockLRU
	st     engineCounters
}

// NewEngine starts an Engine and closes it when the test ends. It fails the
// test if the engine cannot start.
func NewEngine(t testing.TB, cfg EngineConfig) *Engine {
	t.Helper()
	e, err := StartEngine(cfg)
	if err != nil {
		t.Fatalf("nexustest: start engine: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// StartEngine starts an Engine without a testing.TB, for programs such as
// benchmarks, demos and examples. The caller must Close it.
func StartEngine(cfg EngineConfig) (*Engine, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("nexustest: listen on %s: %w", s.Addr, err)
	}
	e := &Engine{
		cfg:     s,
		url:     "http://" + ln.Addr().String(),
		served:  make(chan struct{}),
		started: time.Now(),
		seed:    maphash.MakeSeed(),
		models:  make(map[string]*engineModel, len(s.Models)),
	}
	e.initSlots()
	e.initModels()
	if s.CacheBlocks > 0 {
		e.cache = newEngineBlockLRU(s.CacheBlocks)
	}
	e.labels = newEngineLabels(&e.cfg, e.cache != nil)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.srv = &http.Server{
		Handler:           http.HandlerFunc(e.route),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return e.ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(e.served)
		_ = e.srv.Serve(ln) // returns ErrServerClosed after Close
	}()
	return e, nil
}

// URL returns the base URL, such as http://127.0.0.1:41234, without /v1.
func (e *Engine) URL() string { return e.url }

// Type returns the engine type imitated ("vllm", "sglang", ...).
func (e *Engine) Type() string { return e.cfg.Type }

// Name returns the engine's label (EngineConfig.Name).
func (e *Engine) Name() string { return e.cfg.Name }

// Close closes the listener and every connection, cancels requests in
// flight and waits until every handler and goroutine of the engine has
// returned. It is idempotent.
func (e *Engine) Close() {
	e.hmu.Lock()
	already := e.closing
	e.closing = true
	e.hmu.Unlock()
	if already {
		e.handlers.Wait()
		<-e.served
		return
	}
	_ = e.srv.Close()
	e.cancel()
	<-e.served
	e.handlers.Wait()
}

// enter registers a handler; false means the engine is closing.
func (e *Engine) enter() bool {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	if e.closing {
		return false
	}
	e.handlers.Add(1)
	return true
}

// closed reports whether Close has begun, so that requests it cuts are not
// counted as client cancels.
func (e *Engine) closed() bool {
	e.hmu.Lock()
	defer e.hmu.Unlock()
	return e.closing
}

// engineRoute is one endpoint: its methods and handler.
type engineRoute struct {
	methods []string
	h       func(e *Engine, w http.ResponseWriter, r *http.Request)
}

// engineRoutes maps engine type to path to endpoint. "" holds the
// endpoints every type serves.
var engineRoutes = map[string]map[string]engineRoute{
	"": {
		"/v1/chat/completions": {[]string{http.MethodPost}, (*Engine).chat},
		"/v1/models":           {[]string{http.MethodGet, http.MethodHead}, (*Engine).openAIModels},
	},
	EngineVLLM: {
		"/metrics": {[]string{http.MethodGet, http.MethodHead}, (*Engine).vllmMetrics},
		"/health":  {[]string{http.MethodGet, http.MethodHead}, (*Engine).emptyHealth},
	},
	EngineSGLang: {
		"/metrics": {[]string{http.MethodGet, http.MethodHead}, (*Engine).sglangMetrics},
		"/health":  {[]string{http.MethodGet, http.MethodHead}, (*Engine).emptyHealth},
	},
	EngineLlamaCpp: {
		"/metrics": {[]string{http.MethodGet, http.MethodHead}, (*Engine).llamaMetrics},
		"/slots":   {[]string{http.MethodGet, http.MethodHead}, (*Engine).llamaSlots},
		"/props":   {[]string{http.MethodGet, http.MethodHead}, (*Engine).llamaProps},
		"/health":  {[]string{http.MethodGet, http.MethodHead}, (*Engine).llamaHealth},
	},
	EngineOllama: {
		"/api/ps":   {[]string{http.MethodGet, http.MethodHead}, (*Engine).ollamaPS},
		"/api/tags": {[]string{http.MethodGet, http.MethodHead}, (*Engine).ollamaTags},
		"/api/show": {[]string{http.MethodPost}, (*Engine).ollamaShow},
	},
}

// route dispatches a request by engine type and path.
func (e *Engine) route(w http.ResponseWriter, r *http.Request) {
	if !e.enter() {
		panic(http.ErrAbortHandler) // Close is cutting this connection
	}
	defer e.handlers.Done()
	rt, ok := engineRoutes[""][r.URL.Path]
	if !ok {
		rt, ok = engineRoutes[e.cfg.Type][r.URL.Path]
	}
	if !ok {
		code := "not_found"
		engineWriteError(w, http.StatusNotFound, "NotFoundError", &code,
			fmt.Sprintf("nexustest engine %s: no route for %s %s", e.cfg.Name, r.Method, r.URL.Path))
		return
	}
	for _, m := range rt.methods {
		if r.Method == m {
			rt.h(e, w, r)
			return
		}
	}
	w.Header().Set("Allow", engineJoinMethods(rt.methods))
	engineWriteError(w, http.StatusMethodNotAllowed, "invalid_request_error", nil,
		fmt.Sprintf("nexustest engine %s: method %s not allowed on %s", e.cfg.Name, r.Method, r.URL.Path))
}

func engineJoinMethods(ms []string) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += ", "
		}
		out += m
	}
	return out
}

// emptyHealth answers GET /health the way vLLM and SGLang do: 200 with an
// empty body.
func (e *Engine) emptyHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
