package limits

import (
	"sync/atomic"
	"time"
)

// Principal is the holder of one key: who made a request and what it may
// do. Principals belong to their Keyring and are safe for concurrent use.
type Principal struct {
	name   string
	role   Role
	models []glob // nil = every model
	ring   *Keyring
	id     int   // position in the keyring and its store
	limit  bool  // has a request or token budget: Acquire consults the store
	charge bool  // has a token budget: Done charges the store
	max    int64 // concurrent requests; 0 = unlimited
	_      [64]byte
	active atomic.Int64 // tickets outstanding, counted when max > 0
	_      [56]byte
}

// init sets p up for key i of ring; k has been validated.
func (p *Principal) init(ring *Keyring, i int, k *Key) {
	p.name, p.role, p.ring, p.id = k.Name, k.Role, ring, i
	p.limit = k.RequestsPerMinute > 0 || k.TokensPerMinute > 0
	p.charge = k.TokensPerMinute > 0
	p.max = int64(k.MaxConcurrent)
	if len(k.Models) > 0 {
		p.models = make([]glob, len(k.Models))
		for j, m := range k.Models {
			p.models[j], _ = compileGlob(m)
		}
	}
}

// Name returns the key's name, for logs, metrics and statistics.
func (p *Principal) Name() string { return p.name }

// Role returns the key's role.
func (p *Principal) Role() Role { return p.role }

// AllowsModel reports whether the key may use model: always when its
// allow-list is empty, otherwise when model matches one of its patterns
// ('*' any run of characters, '?' one character, the rest literally). It
// does not allocate.
func (p *Principal) AllowsModel(model string) bool {
	if p.models == nil {
		return true
	}
	for i := range p.models {
		if p.models[i].match(model) {
			return true
		}
	}
	return false
}

// Acquire admits one request at now, or refuses it. It first takes a
// concurrency slot, then asks the store for a request (and at least one
// token); a refusal by either gives everything back, so a refused request
// costs nothing. An allowed request must end with the ticket's Done; a
// refused one returns a zero Ticket, whose Done does nothing.
//
// A refusal for concurrency has RetryAfter one second and no windows.
// Two requests racing for the last slot may both be refused for a moment
// while one of them is being refused by the store.
func (p *Principal) Acquire(now time.Time) (Ticket, Decision) {
	if p.max > 0 && p.active.Add(1) > p.max {
		p.active.Add(-1)
		return Ticket{}, Decision{Reason: ReasonConcurrency, RetryAfter: concurrencyRetry}
	}
	d := Decision{Allowed: true}
	if p.limit {
		if d = p.ring.store.Take(p.id, now); !d.Allowed {
			if p.max > 0 {
				p.active.Add(-1)
			}
			return Ticket{}, d
		}
	}
	return Ticket{p: p}, d
}

// Ticket is an admitted request. Keep it in one variable and call Done
// once the reply is over; a copy is a second handle on the same admission,
// so do not call Done on both.
type Ticket struct {
	p *Principal // nil once done, or for a refusal
}

// Done ends the request: it charges tokens (prompt plus completion as the
// backend reported them; 0 when unknown or the request failed) to the key's
// token budget at the keyring's clock, and frees the concurrency slot. Calls
// after the first do nothing, as does Done on a zero or nil Ticket. A ticket
// must not be used by two goroutines at once.
func (t *Ticket) Done(tokens int64) {
	if t == nil || t.p == nil {
		return
	}
	p := t.p
	t.p = nil
	if p.charge && tokens > 0 {
		p.ring.store.Charge(p.id, tokens, p.ring.clock())
	}
	if p.max > 0 {
		p.active.Add(-1)
	}
}
