package health

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/registry"
)

// Flavours of fake server: which routes it serves.
const (
	flavorOllama = "ollama"   // /api/tags, /api/show, /v1/models
	flavorLlama  = "llamacpp" // /health, /v1/models
	flavorOpenAI = "openai"   // /v1/models, and /health with an empty 200 like vLLM
	flavorNone   = "none"     // 404 everywhere
)

// fake is a loopback backend whose behaviour tests switch with atomics.
type fake struct {
	t      testing.TB
	srv    *httptest.Server
	flavor string

	fail        atomic.Int32 // non-zero: the probe path answers this status
	invalid     atomic.Bool  // the probe path answers 200 with broken JSON
	delay       atomic.Int64 // the probe path waits this long (nanoseconds)
	showFail    atomic.Bool  // /api/show answers 500
	showDelay   atomic.Int64 // /api/show waits this long (nanoseconds)
	llamaStatus atomic.Pointer[string]

	mu       sync.Mutex
	models   []string          // listed models
	digests  map[string]string // Ollama digest per model
	lastAuth string

	probes       atomic.Int64 // hits on the probe path
	shows        atomic.Int64 // hits on /api/show
	inflight     atomic.Int64
	maxInflight  atomic.Int64
	showInflight atomic.Int64
	maxShow      atomic.Int64
}

func newFake(t testing.TB, flavor string, models ...string) *fake {
	t.Helper()
	f := &fake{t: t, flavor: flavor, models: models, digests: map[string]string{}}
	ok := "ok"
	f.llamaStatus.Store(&ok)
	mux := http.NewServeMux()
	switch flavor {
	case flavorOllama:
		mux.HandleFunc("GET /api/tags", f.probe(f.tags))
		mux.HandleFunc("POST /api/show", f.show)
		mux.HandleFunc("GET /v1/models", f.openAIModels)
	case flavorLlama:
		mux.HandleFunc("GET /health", f.probe(f.llamaHealth))
		mux.HandleFunc("GET /v1/models", f.openAIModels)
	case flavorOpenAI:
		mux.HandleFunc("GET /v1/models", f.probe(f.openAIModels))
		mux.HandleFunc("GET /health", func(http.ResponseWriter, *http.Request) {})
	}
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) URL() string { return f.srv.URL }

func (f *fake) setModels(models ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.models = models
}

func (f *fake) setDigest(model, digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.digests[model] = digest
}

func (f *fake) auth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastAuth
}

func (f *fake) setLlamaStatus(s string) { f.llamaStatus.Store(&s) }

// sleep waits d or until the client went away.
func sleep(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

func raise(max *atomic.Int64, n int64) {
	for {
		m := max.Load()
		if n <= m || max.CompareAndSwap(m, n) {
			return
		}
	}
}

// probe wraps the handler of the probe path with the switchable faults and
// the counters.
func (f *fake) probe(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.probes.Add(1)
		raise(&f.maxInflight, f.inflight.Add(1))
		defer f.inflight.Add(-1)
		f.mu.Lock()
		f.lastAuth = r.Header.Get("Authorization")
		f.mu.Unlock()
		sleep(r, time.Duration(f.delay.Load()))
		switch {
		case f.fail.Load() != 0:
			w.WriteHeader(int(f.fail.Load()))
		case f.invalid.Load():
			_, _ = w.Write([]byte(`{"models": [`))
		default:
			h(w, r)
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fake) tags(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := make([]map[string]any, 0, len(f.models))
	for _, m := range f.models {
		d := f.digests[m]
		if d == "" {
			d = "sha256-" + m
		}
		list = append(list, map[string]any{"name": m, "model": m, "digest": d, "size": 1234,
			"modified_at": "2025-01-01T00:00:00Z", "details": map[string]any{"family": "x"}})
	}
	writeJSON(w, map[string]any{"models": list})
}

// showTable is what the fake's /api/show says about known models; other
// models are plain completion models with a 2048-token context.
func showBody(model string) map[string]any {
	switch model {
	case "llava:7b":
		return map[string]any{"capabilities": []string{"completion", "vision"},
			"model_info": map[string]any{"general.architecture": "llama", "llama.context_length": 4096,
				"clip.context_length": 77}}
	case "llama3.1:8b":
		return map[string]any{"capabilities": []string{"completion", "tools"},
			"model_info": map[string]any{"general.architecture": "llama", "llama.context_length": 131072}}
	case "old:1b": // an Ollama release that did not report capabilities
		return map[string]any{"model_info": map[string]any{"general.architecture": "qwen2", "qwen2.context_length": 32768}}
	}
	return map[string]any{"capabilities": []string{"completion"},
		"model_info": map[string]any{"general.architecture": "gemma", "gemma.context_length": 2048}}
}

func (f *fake) show(w http.ResponseWriter, r *http.Request) {
	f.shows.Add(1)
	raise(&f.maxShow, f.showInflight.Add(1))
	defer f.showInflight.Add(-1)
	var req struct {
		Model string `json:"model"`
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil || req.Model == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	sleep(r, time.Duration(f.showDelay.Load()))
	if f.showFail.Load() {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	writeJSON(w, showBody(req.Model))
}

func (f *fake) llamaHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]string{"status": *f.llamaStatus.Load()})
}

func (f *fake) openAIModels(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data := make([]map[string]any, 0, len(f.models))
	for _, m := range f.models {
		data = append(data, map[string]any{"id": m, "object": "model", "owned_by": "vllm", "max_model_len": 8192})
	}
	writeJSON(w, map[string]any{"object": "list", "data": data})
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// addBackend registers a backend of type typ at url.
func addBackend(t testing.TB, reg *registry.Registry, name, url string, typ registry.Type, key string) *registry.Backend {
	t.Helper()
	b, err := reg.Add(registry.Config{Name: name, URL: url, Type: typ, APIKey: key})
	require.NoError(t, err)
	return b
}

// modelIDs returns the ids of models.
func modelIDs(models []registry.Model) []string {
	ids := make([]string, 0, len(models))
	for _, m := range models {
		ids = append(ids, m.ID)
	}
	return ids
}

// transitions records OnChange calls.
type transitions struct {
	mu   sync.Mutex
	list []string
}

func (tr *transitions) record(b *registry.Backend, from, to registry.Status) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.list = append(tr.list, fmt.Sprintf("%s:%s->%s", b.Name, from, to))
}

func (tr *transitions) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.list...)
}

// fakeHTTP is a plain loopback server for one-off handlers.
type fakeHTTP = httptest.Server

func startHTTP(t testing.TB, h http.Handler) *fakeHTTP {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
