package limits

import (
	"sync"
	"time"
)

// Limit is one key's budgets as a Store sees them.
type Limit struct {
	// Name is the key's name: unique within the keyring and the same on
	// every gateway with the same configuration, so a shared store can key
	// its state by it.
	Name string
	// RequestsPerMinute and TokensPerMinute are the key's budgets; 0 =
	// unlimited.
	RequestsPerMinute, TokensPerMinute int64
}

// Store holds the request and token budgets of a keyring's keys. A key is
// identified by its position in the []Limit the store was made for (the
// order of the keys given to New). The keyring calls the store only for keys
// with at least one budget, and only Charge for tokens > 0 of keys with a
// token budget. Implementations must be safe for concurrent use and should
// not allocate.
type Store interface {
	// Take decides whether key may start a request at now: it may when it
	// has at least one request and one token left (for the budgets it
	// has). If so, Take takes the request; if not, it changes nothing and
	// sets Reason and RetryAfter (see Decision). Either way it reports both
	// windows as they are afterwards.
	Take(key int, now time.Time) Decision
	// Charge takes tokens from key's token budget at now, going negative
	// if it must.
	Charge(key int, tokens int64, now time.Time)
}

// MemoryStore is the in-process Store: one small mutex per key. It is the
// default of a Keyring.
type MemoryStore struct {
	epoch time.Time
	keys  []memoryKey
}

// memoryKey is the state of one key, padded to a cache line of its own so
// that keys used on different cores do not slow each other down.
type memoryKey struct {
	mu       sync.Mutex
	requests bucket
	tokens   bucket
	_        [64 - 8 - 2*24]byte
}

// NewMemoryStore returns a store for limits, all buckets full. Its clock
// counts from epoch, normally the keyring's clock at creation; times before
// epoch are fine as long as they do not go back by centuries.
func NewMemoryStore(limits []Limit, epoch time.Time) *MemoryStore {
	s := &MemoryStore{epoch: epoch, keys: make([]memoryKey, len(limits))}
	for i, l := range limits {
		s.keys[i].requests = newBucket(l.RequestsPerMinute)
		s.keys[i].tokens = newBucket(l.TokensPerMinute)
	}
	return s
}

// micros returns now on the store's clock, in whole microseconds.
func (s *MemoryStore) micros(now time.Time) int64 {
	return int64(now.Sub(s.epoch) / time.Microsecond)
}

// Take implements Store.
func (s *MemoryStore) Take(key int, now time.Time) Decision {
	t := s.micros(now)
	k := &s.keys[key]
	var reqWait, tokWait int64
	k.mu.Lock()
	if k.requests.limit > 0 {
		k.requests.advance(t)
		reqWait = k.requests.wait()
	}
	if k.tokens.limit > 0 {
		k.tokens.advance(t)
		tokWait = k.tokens.wait()
	}
	allowed := reqWait == 0 && tokWait == 0
	if allowed && k.requests.limit > 0 {
		k.requests.take(1)
	}
	d := Decision{Allowed: allowed, Requests: k.requests.window(), Tokens: k.tokens.window()}
	k.mu.Unlock()
	if !allowed {
		d.Reason, d.RetryAfter = ReasonRequests, time.Duration(reqWait)*time.Microsecond
		if tokWait > reqWait {
			d.Reason, d.RetryAfter = ReasonTokens, time.Duration(tokWait)*time.Microsecond
		}
	}
	return d
}

// Charge implements Store.
func (s *MemoryStore) Charge(key int, tokens int64, now time.Time) {
	if tokens <= 0 {
		return
	}
	t := s.micros(now)
	k := &s.keys[key]
	k.mu.Lock()
	if k.tokens.limit > 0 {
		k.tokens.advance(t)
		k.tokens.take(tokens)
	}
	k.mu.Unlock()
}
