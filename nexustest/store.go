package nexustest

import "sync"

// MaxStoredResponses is how many responses a backend keeps for GET
// /v1/responses/{id} and previous_response_id; past it the oldest is
// forgotten, so that a load test cannot grow memory without bound.
const MaxStoredResponses = 10000

// responseStore keeps the responses created with store (the default), by id.
type responseStore struct {
	mu    sync.Mutex
	byID  map[string]responseObject
	order []string // ids in creation order; deleted ones are skipped lazily
}

func (s *responseStore) init() { s.byID = make(map[string]responseObject) }

func (s *responseStore) put(r responseObject) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[r.ID] = r
	s.order = append(s.order, r.ID)
	for len(s.byID) > MaxStoredResponses && len(s.order) > 0 {
		delete(s.byID, s.order[0])
		s.order = s.order[1:]
	}
	if len(s.order) > 2*MaxStoredResponses {
		s.compact()
	}
}

func (s *responseStore) get(id string) (responseObject, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	return r, ok
}

func (s *responseStore) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
	if len(s.order) > 2*len(s.byID)+64 {
		s.compact()
	}
}

// compact drops deleted ids from order. s.mu must be held.
func (s *responseStore) compact() {
	kept := make([]string, 0, len(s.byID))
	for _, id := range s.order {
		if _, ok := s.byID[id]; ok {
			kept = append(kept, id)
		}
	}
	s.order = kept
}

// ResponseIDs returns the ids of the stored responses (POST /v1/responses
// without "store": false, not yet deleted), oldest first. Ids have the form
// resp_<port>_<n>, so no two running backends share one.
func (b *Backend) ResponseIDs() []string {
	s := &b.stored
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byID))
	for _, id := range s.order {
		if _, ok := s.byID[id]; ok {
			out = append(out, id)
		}
	}
	return out
}
