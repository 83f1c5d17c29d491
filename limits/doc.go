// Package limits authenticates the gateway's inbound API keys and applies
// their limits: role, model allow-list, requests and tokens per minute, and
// concurrent requests.
//
// A Keyring is built once from the configured keys and is immutable and safe
// for concurrent use afterwards. Lookup finds the Principal of a secret in
// constant time over all keys (it compares SHA-256 digests, always all of
// them). For each request the gateway then asks the principal whether the
// model is allowed (AllowsModel) and for a Ticket (Acquire), and calls
// Ticket.Done with the tokens the backend reported once the reply is over:
//
//	p, ok := ring.Lookup(token)             // 401 when !ok
//	if !p.AllowsModel(model) { ... }        // 403 or 404
//	t, d := p.Acquire(time.Now())
//	d.WriteHeaders(w.Header())              // x-ratelimit-*, Retry-After
//	if !d.Allowed { ... }                   // 429
//	defer t.Done(usage.TotalTokens)
//
// Requests and tokens are limited by token buckets that refill continuously:
// a bucket holds at most its per-minute limit and regains limit/60 s. A
// request takes one request and needs at least one token in the token
// bucket; its tokens are charged after the reply, from real usage, so the
// token bucket can go negative by the usage of the requests in flight when
// it ran dry, and refuses requests until it has refilled. Refill is lazy (no
// goroutines) and computed in whole microseconds, so a retry after
// Decision.RetryAfter succeeds unless another request took the budget
// first. The buckets live in a Store: in memory by default (MemoryStore),
// or in Redis (Redis.Store), shared by every gateway that uses the same
// server and key names, with one atomic Lua script per decision and a
// fallback to per-gateway memory while Redis does not answer. The
// concurrency limit is never shared: it is always per gateway process.
//
// AdminAllowed decides who may use the admin API: an admin key when keys are
// configured, a loopback client when none are.
package limits
