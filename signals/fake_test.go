package signals

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nexusllm/nexus/registry"
)

// engine is a loopback inference engine serving recorded load pages; tests
// switch its behaviour with atomics.
type engine struct {
	srv *httptest.Server

	fail    atomic.Int32 // non-zero: every path answers this status
	garbage atomic.Bool  // every path answers 200 with a body no parser takes
	hang    atomic.Bool  // every request blocks until its client gives up

	mu       sync.Mutex
	pages    map[string][]byte // path -> body; absent paths answer 404
	lastAuth string

	hits        atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
}

// newEngine serves pages (path -> body) on a loopback server closed at the
// end of the test.
func newEngine(t testing.TB, pages map[string][]byte) *engine {
	t.Helper()
	e := &engine{pages: pages}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// engineFor returns an engine serving the fixtures of a backend type.
func engineFor(t testing.TB, typ registry.Type) *engine {
	t.Helper()
	pages := map[string][]byte{}
	switch typ {
	case registry.TypeVLLM:
		pages["/metrics"] = fixture(t, "vllm_metrics.txt")
	case registry.TypeSGLang:
		pages["/metrics"] = fixture(t, "sglang_metrics.txt")
	case registry.TypeLlamaCpp:
		pages["/slots"] = fixture(t, "llamacpp_slots.json")
		pages["/metrics"] = fixture(t, "llamacpp_metrics.txt")
		pages["/props"] = fixture(t, "llamacpp_props.json")
	case registry.TypeOllama:
		pages["/api/ps"] = fixture(t, "ollama_ps.json")
	}
	return newEngine(t, pages)
}

func (e *engine) URL() string { return e.srv.URL }

func (e *engine) setPage(path string, body []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if body == nil {
		delete(e.pages, path)
		return
	}
	e.pages[path] = body
}

func (e *engine) auth() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastAuth
}

func (e *engine) serve(w http.ResponseWriter, r *http.Request) {
	e.hits.Add(1)
	n := e.inflight.Add(1)
	defer e.inflight.Add(-1)
	for {
		m := e.maxInflight.Load()
		if n <= m || e.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	e.mu.Lock()
	e.lastAuth = r.Header.Get("Authorization")
	body, ok := e.pages[r.URL.Path]
	e.mu.Unlock()
	switch {
	case e.hang.Load():
		<-r.Context().Done()
	case e.fail.Load() != 0:
		http.Error(w, "engine failure", int(e.fail.Load()))
	case e.garbage.Load():
		_, _ = w.Write([]byte("<html>\x00\xff not a load page {"))
	case !ok || r.Method != http.MethodGet:
		http.NotFound(w, r)
	default:
		_, _ = w.Write(body)
	}
}
