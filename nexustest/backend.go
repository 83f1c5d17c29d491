package nexustest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ErrClosed is returned by Restart after Close.
var ErrClosed = errors.New("nexustest: backend closed")

// Backend is a running fake LLM server on loopback. All its methods are safe
// for concurrent use, also while requests are being served.
type Backend struct {
	cfg  config
	addr string // host:port, fixed at first listen so URL survives Restart
	url  string
	tag  string // the port: makes stored response ids unique among backends

	// Runtime behaviour, changed by the Set* methods.
	reqFail    atomic.Int64
	probeFail  atomic.Int64
	delay      atomic.Int64 // time.Duration
	probeDelay atomic.Int64 // time.Duration
	content    atomic.Pointer[content]
	models     atomic.Pointer[modelSet]

	ids atomic.Int64 // id sequence of replies (chat, completions, messages, ...)

	rec    recorder
	stored responseStore
	routes routeTable

	mu     sync.Mutex // guards gen and closed
	gen    *generation
	closed bool
}

// generation is one listen-and-serve period between Start/Restart and Stop.
// An http.Server cannot be restarted, so every Restart builds a fresh one.
type generation struct {
	srv    *http.Server
	ctx    context.Context // parent of every request context
	cancel context.CancelFunc
	served chan struct{} // closed when Serve has returned

	mu       sync.Mutex // guards stopping and the Add side of handlers
	stopping bool
	handlers sync.WaitGroup
}

type genKey struct{}

// modelSet is an immutable list of served models with an index.
type modelSet struct {
	ids []string
	has map[string]bool
}

func newModelSet(ids []string) *modelSet {
	ms := &modelSet{ids: append([]string(nil), ids...), has: make(map[string]bool, len(ids))}
	for _, id := range ids {
		ms.has[id] = true
	}
	return ms
}

// NewBackend starts a Backend on 127.0.0.1 (a free port) and closes it when
// the test ends. It fails the test if the server cannot start.
func NewBackend(t testing.TB, opts ...Option) *Backend {
	t.Helper()
	b, err := Start(opts...)
	if err != nil {
		t.Fatalf("nexustest: start backend: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Start starts a Backend without a testing.TB, for programs such as
// `nexus demo` and the examples. The caller must Close it.
func Start(opts ...Option) (*Backend, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := prepare(&cfg); err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg}
	b.reqFail.Store(int64(cfg.fail))
	b.delay.Store(int64(cfg.delay))
	b.probeDelay.Store(int64(cfg.probeDelay))
	b.content.Store(newContent(&cfg))
	b.models.Store(newModelSet(cfg.models))
	b.rec.init(cfg.noRecord)
	b.stored.init()
	b.routes = b.newRouteTable()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("nexustest: listen on %s: %w", cfg.addr, err)
	}
	b.addr = ln.Addr().String()
	b.url = "http://" + b.addr
	_, b.tag, _ = net.SplitHostPort(b.addr)
	b.mu.Lock()
	b.gen = b.serve(ln)
	b.mu.Unlock()
	return b, nil
}

// URL returns the base URL, such as http://127.0.0.1:41234, without /v1. It
// stays the same across Stop and Restart.
func (b *Backend) URL() string { return b.url }

// Addr returns the host:port the backend listens on.
func (b *Backend) Addr() string { return b.addr }

// Name returns the backend's label (see the Name option).
func (b *Backend) Name() string { return b.cfg.name }

// serve starts a fresh http.Server on ln.
func (b *Backend) serve(ln net.Listener) *generation {
	g := &generation{served: make(chan struct{})}
	base, cancel := context.WithCancel(context.Background())
	g.ctx = context.WithValue(base, genKey{}, g)
	g.cancel = cancel
	g.srv = &http.Server{
		Handler:           http.HandlerFunc(b.route),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return g.ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(g.served)
		_ = g.srv.Serve(ln) // always returns ErrServerClosed after Stop
	}()
	return g
}

// enter registers a handler with its generation. It reports false if the
// generation is stopping, in which case the handler must not run.
func (g *generation) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		return false
	}
	g.handlers.Add(1)
	return true
}

func (g *generation) exit() { g.handlers.Done() }

// stop closes the listener and every connection, cancels running requests
// and waits until their handlers and the accept loop have returned.
func (g *generation) stop() {
	g.mu.Lock()
	g.stopping = true
	g.mu.Unlock()
	// Close the connections before cancelling the handlers, so that a
	// handler returning early cannot complete its response: the client must
	// see a cut, not an empty 200 or a cleanly ended stream.
	_ = g.srv.Close()
	g.cancel()
	<-g.served
	g.handlers.Wait()
}

// stopped reports whether ctx belongs to a generation being stopped, so that
// cancellations caused by Stop or Close are not counted as client cancels.
func stopped(ctx context.Context) bool {
	g, _ := ctx.Value(genKey{}).(*generation)
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stopping
}

// Stop closes the listener and all connections, cutting requests in flight.
// Connections are refused until Restart. Stop returns once every handler has
// returned. It is a no-op on a stopped backend.
func (b *Backend) Stop() {
	b.mu.Lock()
	g := b.gen
	b.gen = nil
	b.mu.Unlock()
	if g != nil {
		g.stop()
	}
}

// Restart listens again on the same address and serves, after Stop. It is a
// no-op on a running backend and returns ErrClosed after Close.
func (b *Backend) Restart() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.gen != nil {
		return nil
	}
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return fmt.Errorf("nexustest: listen again on %s: %w", b.addr, err)
	}
	b.gen = b.serve(ln)
	return nil
}

// Running reports whether the backend currently accepts connections.
func (b *Backend) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gen != nil
}

// Close stops the server for good: it closes the listener and all client
// connections and waits for every handler and goroutine it started. It is
// idempotent.
func (b *Backend) Close() {
	b.mu.Lock()
	b.closed = true
	g := b.gen
	b.gen = nil
	b.mu.Unlock()
	if g != nil {
		g.stop()
	}
}

// SetFail makes every inference endpoint and the probe endpoints
// (/v1/models, /api/tags, /api/show, /health) answer status with an error
// envelope; 0 makes the backend healthy again.
func (b *Backend) SetFail(status int) {
	b.reqFail.Store(int64(status))
	b.probeFail.Store(int64(status))
}

// SetInferenceFail is SetFail for the inference endpoints only (chat,
// completions, embeddings, rerank, responses, messages): probes stay
// healthy. It is the runtime form of the Fail option.
func (b *Backend) SetInferenceFail(status int) { b.reqFail.Store(int64(status)) }

// SetChatFail is the former name of SetInferenceFail, kept for existing
// callers: despite its name it applies to every inference endpoint.
func (b *Backend) SetChatFail(status int) { b.SetInferenceFail(status) }

// SetModels replaces the served models. Later requests and probes see the
// new list.
func (b *Backend) SetModels(ids ...string) { b.models.Store(newModelSet(ids)) }

// SetDelay changes the wait before inference response headers (see Delay).
func (b *Backend) SetDelay(d time.Duration) { b.delay.Store(int64(d)) }

// SetProbeDelay changes the wait before probe answers (see ProbeDelay).
func (b *Backend) SetProbeDelay(d time.Duration) { b.probeDelay.Store(int64(d)) }

// SetReply changes the reply content; streamed replies send it split into
// words, replacing any Stream chunks.
func (b *Backend) SetReply(text string) {
	b.content.Store(&content{reply: text, chunks: splitWords(text)})
}

// route records the request and dispatches it by path (see routes.go).
func (b *Backend) route(w http.ResponseWriter, r *http.Request) {
	if g, _ := r.Context().Value(genKey{}).(*generation); g != nil {
		if !g.enter() {
			// Stop is closing this connection; abort so that net/http does
			// not complete an empty response on it.
			panic(http.ErrAbortHandler)
		}
		defer g.exit()
	}
	w.Header().Set("X-Nexustest-Backend", b.cfg.name)
	body, err := b.rec.record(r)
	d := openAIDialect
	if b.cfg.anthropic {
		d = anthropicDialect
	}
	if err != nil {
		b.badRequest(w, d, "", fmt.Sprintf("reading request body: %v", err))
		return
	}
	rt, ok := b.lookup(r.URL.Path)
	if !ok {
		code := "not_found"
		b.notFound(w, d, code, fmt.Sprintf("nexustest %s: no route for %s %s", b.cfg.name, r.Method, r.URL.Path))
		return
	}
	if b.allow(w, r, rt.dialect, rt.methods...) && b.admit(w, r, rt) {
		rt.serve(w, r, body)
	}
}

// allow answers 405 in dialect d unless r uses one of methods.
func (b *Backend) allow(w http.ResponseWriter, r *http.Request, d dialect, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	b.fail(w, d, http.StatusMethodNotAllowed, "invalid_request_error", nil, nil,
		fmt.Sprintf("nexustest: method %s not allowed on %s", r.Method, r.URL.Path))
	return false
}

// wait sleeps d, or less if ctx is done first. It reports whether the full
// wait elapsed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
