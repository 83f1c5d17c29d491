// Package registry keeps the set of inference backends, the models each one
// serves and each backend's live state (status, in-flight requests, latency).
//
// Reads on the request path are lock-free: the backend list and the
// model→backends index live in an immutable snapshot behind an atomic
// pointer, and per-backend state is atomic. Writers (adding or removing a
// backend, replacing its models) serialise on a mutex and publish a new
// snapshot.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Errors returned by Registry methods; match them with errors.Is.
var (
	ErrDuplicateBackend = errors.New("registry: backend already exists")
	ErrUnknownBackend   = errors.New("registry: no such backend")
	ErrInvalidBackend   = errors.New("registry: invalid backend")
)

// Registry is the set of backends. The zero value is not usable; call New.
// All methods are safe for concurrent use.
type Registry struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[snapshot]
	subs atomic.Pointer[[]*subscriber]
}

type snapshot struct {
	backends []*Backend
	byID     map[string]*Backend
	byModel  map[string][]*Backend
	models   []string // sorted distinct model ids
}

// New returns an empty Registry.
func New() *Registry {
	r := &Registry{}
	r.snap.Store(buildSnapshot(nil))
	return r
}

func buildSnapshot(backends []*Backend) *snapshot {
	s := &snapshot{
		backends: backends,
		byID:     make(map[string]*Backend, len(backends)),
		byModel:  make(map[string][]*Backend),
	}
	for _, b := range backends {
		s.byID[b.ID] = b
		for _, m := range b.Models() {
			s.byModel[m.ID] = append(s.byModel[m.ID], b)
		}
	}
	s.models = make([]string, 0, len(s.byModel))
	for m := range s.byModel {
		s.models = append(s.models, m)
	}
	slices.Sort(s.models)
	return s
}

// OnChange registers f to be called (synchronously, after the change is
// visible) whenever a backend is added or removed or its models change.
// f must be quick and must not call back into a Registry writer. The
// returned function unsubscribes f; calling it again does nothing.
func (r *Registry) OnChange(f func()) (unsubscribe func()) {
	s := &subscriber{f: f}
	r.mu.Lock()
	defer r.mu.Unlock()
	var next []*subscriber
	if p := r.subs.Load(); p != nil {
		next = append(next, *p...)
	}
	next = append(next, s)
	r.subs.Store(&next)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		p := r.subs.Load()
		if p == nil {
			return
		}
		next := make([]*subscriber, 0, len(*p))
		for _, x := range *p {
			if x != s {
				next = append(next, x)
			}
		}
		r.subs.Store(&next)
	}
}

// subscriber is one OnChange registration; its identity makes
// unsubscribing exact even when the same function is registered twice.
type subscriber struct{ f func() }

func (r *Registry) publish(backends []*Backend) {
	r.snap.Store(buildSnapshot(backends))
	if p := r.subs.Load(); p != nil {
		for _, s := range *p {
			s.f()
		}
	}
}

// Add creates a backend from c and adds it. It returns ErrDuplicateBackend
// if the id is taken and ErrInvalidBackend if the name or URL is empty.
func (r *Registry) Add(c Config) (*Backend, error) {
	if strings.TrimSpace(c.Name) == "" {
		return nil, fmt.Errorf("%w: empty name", ErrInvalidBackend)
	}
	c.URL = NormalizeURL(c.URL)
	if c.URL == "" {
		return nil, fmt.Errorf("%w: backend %q has an empty url", ErrInvalidBackend, c.Name)
	}
	b := newBackend(c)
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	if _, dup := old.byID[b.ID]; dup {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateBackend, b.ID)
	}
	next := make([]*Backend, 0, len(old.backends)+1)
	next = append(next, old.backends...)
	next = append(next, b)
	r.publish(next)
	return b, nil
}

// Remove removes the backend with the given id.
func (r *Registry) Remove(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	if _, ok := old.byID[id]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownBackend, id)
	}
	next := make([]*Backend, 0, len(old.backends))
	for _, b := range old.backends {
		if b.ID != id {
			next = append(next, b)
		}
	}
	r.publish(next)
	return nil
}

// SetModels atomically replaces the models of the backend with the given id
// and updates the model index.
func (r *Registry) SetModels(id string, models []Model) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	b, ok := old.byID[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownBackend, id)
	}
	b.models.Store(newModelSet(models))
	r.publish(old.backends)
	return nil
}

// Get returns the backend with the given id.
func (r *Registry) Get(id string) (*Backend, bool) {
	b, ok := r.snap.Load().byID[id]
	return b, ok
}

// Backends returns every backend in the order they were added. The slice is
// shared and must not be modified.
func (r *Registry) Backends() []*Backend { return r.snap.Load().backends }

// Lookup returns the backends that list the model id, whatever their status,
// in the order they were added. The slice is shared and must not be modified.
func (r *Registry) Lookup(model string) []*Backend { return r.snap.Load().byModel[model] }

// Models returns the sorted distinct model ids of all backends, whatever
// their status. The slice is shared and must not be modified.
func (r *Registry) Models() []string { return r.snap.Load().models }

// HasModel reports whether any backend lists the model id.
func (r *Registry) HasModel(model string) bool {
	_, ok := r.snap.Load().byModel[model]
	return ok
}

// HasURL reports whether a backend with the same base URL exists (compared
// after NormalizeURL).
func (r *Registry) HasURL(url string) bool {
	url = NormalizeURL(url)
	for _, b := range r.snap.Load().backends {
		if b.URL == url {
			return true
		}
	}
	return false
}

// Counts returns the number of backends, how many are healthy, and how many
// distinct models the healthy ones serve.
func (r *Registry) Counts() (total, healthy, healthyModels int) {
	s := r.snap.Load()
	for _, b := range s.backends {
		if b.Healthy() {
			healthy++
		}
	}
	for _, bs := range s.byModel {
		for _, b := range bs {
			if b.Healthy() {
				healthyModels++
				break
			}
		}
	}
	return len(s.backends), healthy, healthyModels
}

// NormalizeURL trims white space and trailing slashes from a base URL, and a
// trailing "/v1", which Nexus adds itself.
func NormalizeURL(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	u = strings.TrimSuffix(u, "/v1")
	return strings.TrimRight(u, "/")
}
