package limits

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := principal(t, newRing(t, c, Key{Name: "a", Secret: "sk-a", MaxConcurrent: 2, RequestsPerMinute: 10}), "sk-a")

	t1, d := p.Acquire(c.Now())
	require.True(t, d.Allowed)
	t2, d := p.Acquire(c.Now())
	require.True(t, d.Allowed)
	assert.Equal(t, int64(8), d.Requests.Remaining)

	t3, d := p.Acquire(c.Now())
	assert.Equal(t, Decision{Reason: ReasonConcurrency, RetryAfter: time.Second}, d)
	t3.Done(0) // a refused ticket's Done does nothing

	t1.Done(0)
	t1.Done(0) // idempotent: frees one slot, not two
	t4, d := p.Acquire(c.Now())
	require.True(t, d.Allowed)
	assert.Equal(t, int64(7), d.Requests.Remaining, "the concurrency refusal took no request")
	_, d = p.Acquire(c.Now())
	assert.Equal(t, ReasonConcurrency, d.Reason, "t1's second Done did not free a slot")

	t2.Done(0)
	t4.Done(0)
	assert.Zero(t, p.active.Load())
	var nilTicket *Ticket
	nilTicket.Done(5)
}

// TestRefusalReleasesSlot: a request refused by its rate does not keep the
// concurrency slot it took first.
func TestRefusalReleasesSlot(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := principal(t, newRing(t, c, Key{Name: "a", Secret: "sk-a", MaxConcurrent: 1, RequestsPerMinute: 1}), "sk-a")
	tk, d := p.Acquire(c.Now())
	require.True(t, d.Allowed)
	tk.Done(0)
	_, d = p.Acquire(c.Now())
	assert.Equal(t, ReasonRequests, d.Reason)
	assert.Zero(t, p.active.Load())
}

// TestConcurrentUse hammers one key from many goroutines with a frozen
// clock: the concurrency limit holds at every moment, exactly the request
// budget is admitted, every admitted request's tokens are charged, and no
// slot leaks.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	const (
		maxConcurrent = 3
		rpm           = 2000
		tpm           = 1_000_000
		perRequest    = 7
		workers       = 16
	)
	c := newClock()
	ring := newRing(t, c,
		Key{Name: "busy", Secret: "sk-busy", MaxConcurrent: maxConcurrent, RequestsPerMinute: rpm, TokensPerMinute: tpm},
		Key{Name: "free", Secret: "sk-free"},
	)
	var inFlight, peak, admitted, freeAdmitted atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			secret := "sk-busy"
			if w%4 == 0 {
				secret = "sk-free"
			}
			p := principal(t, ring, secret)
			for {
				tk, d := p.Acquire(c.Now())
				if !d.Allowed {
					if d.Reason == ReasonRequests {
						return
					}
					continue // concurrency: try again
				}
				if p.Name() == "free" {
					tk.Done(perRequest)
					if freeAdmitted.Add(1) >= rpm {
						return
					}
					continue
				}
				n := inFlight.Add(1)
				for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
				}
				admitted.Add(1)
				inFlight.Add(-1)
				tk.Done(perRequest)
				tk.Done(perRequest) // idempotent under load too
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(rpm), admitted.Load(), "exactly the request budget is admitted")
	assert.LessOrEqual(t, peak.Load(), int64(maxConcurrent))
	busy := principal(t, ring, "sk-busy")
	assert.Zero(t, busy.active.Load(), "every slot was released")
	_, d := busy.Acquire(c.Now())
	assert.Equal(t, ReasonRequests, d.Reason)
	assert.Equal(t, int64(tpm-rpm*perRequest), d.Tokens.Remaining, "each admitted request charged once")
}
