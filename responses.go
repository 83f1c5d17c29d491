package nexus

import (
	"container/list"
	"net/http"
	"sync"
	"time"

	"github.com/nexusllm/nexus/internal/openai"
	"github.com/nexusllm/nexus/metrics"
	"github.com/nexusllm/nexus/proxy"
	"github.com/nexusllm/nexus/registry"
	"github.com/nexusllm/nexus/routing"
)

// Bounds of the memory of which backend created which response.
const (
	responseMemorySize = 50_000
	responseMemoryTTL  = 6 * time.Hour
	maxResponseIDBytes = 256
)

// responseOwner is the backend that created a response, and its model.
type responseOwner struct {
	id      string
	backend string // registry ID
	model   string
	at      time.Time
}

// responseMemory remembers, for the Responses API, which backend created
// which response, so that previous_response_id, GET and DELETE reach the
// backend that holds the state. It is bounded in size (least recently used
// out first) and in time. A zero value is not usable; see newResponseMemory.
type responseMemory struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	order *list.List // of *responseOwner, most recent first
	byID  map[string]*list.Element
}

func newResponseMemory(max int, ttl time.Duration) *responseMemory {
	return &responseMemory{max: max, ttl: ttl, now: time.Now, order: list.New(), byID: make(map[string]*list.Element)}
}

// remember records that backend created response id for model.
func (m *responseMemory) remember(id, backend, model string) {
	if id == "" || len(id) > maxResponseIDBytes {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byID[id]; ok {
		o := e.Value.(*responseOwner)
		o.backend, o.model, o.at = backend, model, m.now()
		m.order.MoveToFront(e)
		return
	}
	m.byID[id] = m.order.PushFront(&responseOwner{id: id, backend: backend, model: model, at: m.now()})
	for m.order.Len() > m.max {
		m.drop(m.order.Back())
	}
}

// lookup returns the owner of response id, if it is remembered and fresh.
func (m *responseMemory) lookup(id string) (responseOwner, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[id]
	if !ok {
		return responseOwner{}, false
	}
	o := e.Value.(*responseOwner)
	if m.now().Sub(o.at) > m.ttl {
		m.drop(e)
		return responseOwner{}, false
	}
	m.order.MoveToFront(e)
	return *o, true
}

// forget drops response id.
func (m *responseMemory) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byID[id]; ok {
		m.drop(e)
	}
}

// len returns the number of responses remembered.
func (m *responseMemory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

func (m *responseMemory) drop(e *list.Element) {
	delete(m.byID, e.Value.(*responseOwner).id)
	m.order.Remove(e)
}

// owner finds the live backend holding response id. On failure it has
// answered 404 (unknown id, or its backend is gone) and reports false.
func (c *call) owner(id, param string) (*registry.Backend, responseOwner, bool) {
	o, ok := c.g.responses.lookup(id)
	if !ok {
		c.reject(http.StatusNotFound, metrics.ErrorInvalidRequest, openai.TypeInvalidRequest,
			"Response with id '"+id+"' not found: the gateway has no record of it (it was not created through this gateway, or too long ago).",
			param, "response_not_found")
		return nil, o, false
	}
	b, ok := c.g.reg.Get(o.backend)
	if !ok {
		c.g.responses.forget(id)
		c.reject(http.StatusNotFound, metrics.ErrorInvalidRequest, openai.TypeInvalidRequest,
			"Response with id '"+id+"' not found: the backend that created it is no longer configured.",
			param, "response_not_found")
		return nil, o, false
	}
	return b, o, true
}

// serveResponseByID serves GET and DELETE /v1/responses/{id}: forwarded to
// the backend that created the response, with no failover (the state lives
// there).
func (g *Gateway) serveResponseByID(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	c := g.newCall(w, r, ep)
	rid := r.PathValue("id")
	b, o, ok := c.owner(rid, "")
	if !ok {
		return
	}
	c.req.Model = o.model
	if !b.Healthy() {
		c.w.Header().Set("Retry-After", "5")
		c.reject(http.StatusServiceUnavailable, metrics.ErrorNoHealthyBackend, openai.TypeServer,
			"The backend '"+b.Name+"' that holds response '"+rid+"' is not available right now.", "", openai.CodeServiceUnavailable)
		return
	}
	att := routing.Attempt{Backend: b, Model: o.model, Reason: routing.ReasonPinned, Number: 1}
	c.att = &att
	setAttemptHeaders(w.Header(), att)
	u := *b.EndpointURL(registry.EndpointResponses)
	u.Path += "/" + rid
	u.RawPath = ""
	preq := &proxy.Request{Method: r.Method, Target: &u, APIKey: b.APIKey(), RequestID: c.id,
		Dialect: proxy.DialectResponses, Header: forwardHeaders(r.Header)}
	b.Begin()
	res, err := g.fwd.Forward(r.Context(), w, preq)
	b.End()
	g.fleet.freed()
	c.res = res
	if err == nil {
		if r.Method == http.MethodDelete {
			g.responses.forget(rid)
		}
		c.done(res.Status)
		return
	}
	pe, _ := proxy.AsError(err)
	g.noteFailure(r.Context(), b, att, pe)
	c.err = pe.Error()
	c.done(c.writeUpstreamError(pe))
}
