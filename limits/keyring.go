package limits

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Keyring is the set of inbound API keys of a gateway. It is immutable after
// New and safe for concurrent use; the methods of a nil *Keyring behave as
// those of an empty one (authentication off).
type Keyring struct {
	digests    []secretDigest // SHA-256 of each secret, in key order
	principals []Principal    // in key order
	store      Store
	clock      func() time.Time
}

// Option configures New.
type Option func(*options)

type options struct {
	clock    func() time.Time
	newStore func(limits []Limit) (Store, error)
}

// WithClock sets the clock of the keyring: the time Ticket.Done charges
// tokens at, and the epoch of the default store. nil means time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.clock = now }
}

// WithStore sets how the keyring's budgets are kept: newStore is called once
// by New with one Limit per key, in key order. nil means NewMemoryStore.
func WithStore(newStore func(limits []Limit) (Store, error)) Option {
	return func(o *options) { o.newStore = newStore }
}

// New validates keys and returns their keyring. It reports every problem at
// once, each naming the key by its position (1-based) and name, never by its
// secret: a missing or duplicate name, an empty, duplicate or space-padded
// secret, an invalid role or model pattern, a negative or too large limit.
// An empty keys gives an empty keyring (authentication off). New keeps no
// reference to keys.
func New(keys []Key, opts ...Option) (*Keyring, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	digests, err := validateKeys(keys)
	if err != nil {
		return nil, err
	}
	limits := make([]Limit, len(keys))
	for i, k := range keys {
		limits[i] = Limit{Name: k.Name, RequestsPerMinute: k.RequestsPerMinute, TokensPerMinute: k.TokensPerMinute}
	}
	var store Store
	if o.newStore != nil {
		if store, err = o.newStore(limits); err != nil {
			return nil, fmt.Errorf("limits store: %w", err)
		}
		if store == nil {
			return nil, errors.New("limits store: nil Store")
		}
	} else {
		store = NewMemoryStore(limits, o.clock())
	}
	ring := &Keyring{
		digests:    digests,
		principals: make([]Principal, len(keys)),
		store:      store,
		clock:      o.clock,
	}
	for i := range keys {
		ring.principals[i].init(ring, i, &keys[i])
	}
	return ring, nil
}

// Len returns the number of keys; 0 means authentication is off.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	return len(k.principals)
}

// Names returns the keys' names in configuration order: the bounded set of
// values a per-key metric label can take.
func (k *Keyring) Names() []string {
	names := make([]string, k.Len())
	for i := range names {
		names[i] = k.principals[i].name
	}
	return names
}

// Lookup returns the principal whose secret is secret. It compares the
// secret's SHA-256 with every key's, always all of them and in constant time
// each, so neither which key matched nor how much of it did shows in its
// timing. It does not allocate for secrets up to 256 bytes.
func (k *Keyring) Lookup(secret string) (*Principal, bool) {
	if k.Len() == 0 {
		return nil, false
	}
	found, _ := match(k.digests, digest(secret))
	if found < 0 {
		return nil, false
	}
	return &k.principals[found], true
}

// match returns the index of got in digests, or -1. It compares got with
// every entry, each in constant time, and selects the index without a
// branch; compared counts the comparisons, for tests.
func match(digests []secretDigest, got secretDigest) (found, compared int) {
	found = -1
	for i := range digests {
		found = subtle.ConstantTimeSelect(got.equal(&digests[i]), i, found)
		compared++
	}
	return found, compared
}
