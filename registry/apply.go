package registry

import (
	"fmt"
	"strings"
)

// Apply changes several backends at once and publishes the result as one
// snapshot, so a reader sees either none of the changes or all of them:
// the backends with the ids in remove are removed, then each Config of put
// is added, replacing in place (same position) a backend with the same id.
// It returns the backends built from put, in order. Nothing changes when
// an error is returned: ErrUnknownBackend for an id of remove that is not
// registered, ErrInvalidBackend for a bad Config, ErrDuplicateBackend when
// two Configs of put have the same id.
//
// A replaced or removed backend keeps its live state for the requests
// already using it; new requests see only its successor.
func (r *Registry) Apply(remove []string, put []Config) ([]*Backend, error) {
	built := make([]*Backend, len(put))
	ids := make(map[string]int, len(put))
	for i, c := range put {
		if strings.TrimSpace(c.Name) == "" {
			return nil, fmt.Errorf("%w: empty name", ErrInvalidBackend)
		}
		c.URL = NormalizeURL(c.URL)
		if c.URL == "" {
			return nil, fmt.Errorf("%w: backend %q has an empty url", ErrInvalidBackend, c.Name)
		}
		b := newBackend(c)
		if _, dup := ids[b.ID]; dup {
			return nil, fmt.Errorf("%w: %q given twice", ErrDuplicateBackend, b.ID)
		}
		ids[b.ID] = i
		built[i] = b
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load()
	gone := make(map[string]bool, len(remove))
	for _, id := range remove {
		if _, ok := old.byID[id]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownBackend, id)
		}
		gone[id] = true
	}
	next := make([]*Backend, 0, len(old.backends)+len(put))
	placed := make([]bool, len(put))
	for _, b := range old.backends {
		if i, ok := ids[b.ID]; ok {
			next = append(next, built[i])
			placed[i] = true
			continue
		}
		if !gone[b.ID] {
			next = append(next, b)
		}
	}
	for i, b := range built {
		if !placed[i] {
			next = append(next, b)
		}
	}
	r.publish(next)
	return built, nil
}
