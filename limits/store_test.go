package limits

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestBucketRefill(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := principal(t, newRing(t, c, Key{Name: "a", Secret: "sk-a", RequestsPerMinute: 60}), "sk-a")

	for i := range 60 {
		tk, d := p.Acquire(c.Now())
		require.True(t, d.Allowed, "request %d of a full bucket", i+1)
		assert.Equal(t, int64(59-i), d.Requests.Remaining)
		tk.Done(0)
	}
	_, d := p.Acquire(c.Now())
	assert.Equal(t, Decision{
		Reason:     ReasonRequests,
		RetryAfter: time.Second, // 60 per minute: one per second
		Requests:   Window{Limit: 60, Remaining: 0, Reset: time.Minute},
	}, d)

	c.Advance(999 * time.Millisecond)
	_, d = p.Acquire(c.Now())
	require.False(t, d.Allowed)
	assert.Equal(t, time.Millisecond, d.RetryAfter)

	c.Advance(time.Millisecond)
	_, d = p.Acquire(c.Now())
	require.True(t, d.Allowed, "a second refills one request")
	_, d = p.Acquire(c.Now())
	require.False(t, d.Allowed, "and only one")

	c.Advance(30 * time.Second)
	_, d = p.Acquire(c.Now())
	require.True(t, d.Allowed)
	assert.Equal(t, int64(29), d.Requests.Remaining, "30 s refill 30 requests, one taken")
	assert.Equal(t, 31*time.Second, d.Requests.Reset)

	c.Advance(time.Hour)
	_, d = p.Acquire(c.Now())
	assert.Equal(t, int64(59), d.Requests.Remaining, "the bucket holds at most its limit")
}

// TestRetryAfterIsHonest: a client that waits exactly RetryAfter is served;
// one that comes back a microsecond earlier is not. Limits that do not
// divide a minute evenly are the hard case.
func TestRetryAfterIsHonest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  Key
		use  int64 // tokens each request reports
	}{
		{"rpm 1", Key{RequestsPerMinute: 1}, 0},
		{"rpm 7", Key{RequestsPerMinute: 7}, 0},
		{"rpm 9999", Key{RequestsPerMinute: 9999}, 0},
		{"tpm 7", Key{TokensPerMinute: 7}, 3},
		{"tpm 1000 overdrawn", Key{TokensPerMinute: 1000}, 777},
		{"both", Key{RequestsPerMinute: 13, TokensPerMinute: 333}, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			tc.key.Name, tc.key.Secret = "k", "sk-k"
			p := principal(t, newRing(t, c, tc.key), "sk-k")
			refusals := 0
			for step := 0; refusals < 25; step++ {
				require.Less(t, step, 100_000, "never refused")
				c.Advance(time.Duration(step%5) * 1237 * time.Microsecond) // uneven gaps, shorter than any refill
				tk, d := p.Acquire(c.Now())
				if d.Allowed {
					tk.Done(tc.use)
					continue
				}
				refusals++
				require.Positive(t, d.RetryAfter)
				c.Advance(d.RetryAfter - time.Microsecond)
				_, early := p.Acquire(c.Now())
				require.False(t, early.Allowed, "a microsecond before RetryAfter")
				c.Advance(time.Microsecond)
				tk, d = p.Acquire(c.Now())
				require.True(t, d.Allowed, "at RetryAfter (refusal %d)", refusals)
				tk.Done(tc.use)
			}
		})
	}
}

func TestTokenOverdraw(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := principal(t, newRing(t, c, Key{Name: "a", Secret: "sk-a", TokensPerMinute: 1000}), "sk-a")

	tk, d := p.Acquire(c.Now())
	require.True(t, d.Allowed)
	assert.Equal(t, Window{Limit: 1000, Remaining: 1000}, d.Tokens, "tokens are charged after the reply")
	tk.Done(600)

	tk, d = p.Acquire(c.Now())
	require.True(t, d.Allowed, "400 tokens left")
	assert.Equal(t, int64(400), d.Tokens.Remaining)
	tk.Done(900) // more than is left: the bucket goes to -500

	_, d = p.Acquire(c.Now())
	require.False(t, d.Allowed)
	assert.Equal(t, ReasonTokens, d.Reason)
	// 1000 per minute is one token per 60 ms; from -500 to 1 is 501 tokens.
	assert.Equal(t, 501*60*time.Millisecond, d.RetryAfter)
	assert.Equal(t, Window{Limit: 1000, Remaining: 0, Reset: 1500 * 60 * time.Millisecond}, d.Tokens)

	c.Advance(d.RetryAfter)
	tk, d = p.Acquire(c.Now())
	require.True(t, d.Allowed)
	tk.Done(1)
}

// TestTokenDebtIsBounded: one request that reports more than the whole
// per-minute budget costs at most one minute of waiting.
func TestTokenDebtIsBounded(t *testing.T) {
	t.Parallel()
	c := newClock()
	p := principal(t, newRing(t, c, Key{Name: "a", Secret: "sk-a", TokensPerMinute: 1000}), "sk-a")
	tk, _ := p.Acquire(c.Now())
	tk.Done(1 << 62)
	_, d := p.Acquire(c.Now())
	require.False(t, d.Allowed)
	assert.Equal(t, 60*time.Millisecond, d.RetryAfter, "from 0 (1000 charged of 1000) to 1 token")

	tk, _ = p.Acquire(c.Now().Add(d.RetryAfter))
	tk.Done(1 << 62) // at 1 token: to -999
	_, d = p.Acquire(c.Now().Add(d.RetryAfter))
	assert.Equal(t, 1000*60*time.Millisecond, d.RetryAfter, "at most one minute of debt plus one token")
}

func TestMemoryStoreClockBackwards(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore([]Limit{{Name: "a", RequestsPerMinute: 2}}, start)
	now := start.Add(time.Hour)
	require.True(t, s.Take(0, now).Allowed)
	require.True(t, s.Take(0, now).Allowed)
	d := s.Take(0, now.Add(-time.Minute))
	assert.False(t, d.Allowed, "a clock that goes back refills nothing")
	assert.Equal(t, 30*time.Second, d.RetryAfter)
	assert.True(t, s.Take(0, now.Add(30*time.Second)).Allowed)
}

func TestMemoryStoreBothBudgets(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore([]Limit{{Name: "a", RequestsPerMinute: 2, TokensPerMinute: 60}}, start)
	d := s.Take(0, start)
	require.True(t, d.Allowed)
	assert.Equal(t, Window{Limit: 2, Remaining: 1, Reset: 30 * time.Second}, d.Requests)
	assert.Equal(t, Window{Limit: 60, Remaining: 60}, d.Tokens)
	s.Charge(0, 70, start) // capped at the limit: 60
	s.Charge(0, 0, start)
	s.Charge(0, -5, start)
	d = s.Take(0, start)
	assert.False(t, d.Allowed)
	assert.Equal(t, ReasonTokens, d.Reason, "the budget with the longer wait names the refusal")
	assert.Equal(t, time.Second, d.RetryAfter)
	assert.Equal(t, Window{Limit: 60, Remaining: 0, Reset: time.Minute}, d.Tokens)
	assert.Equal(t, int64(1), d.Requests.Remaining, "a refusal takes nothing")
}
