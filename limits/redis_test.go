package limits

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/nexusllm/nexus/internal/replicatest"
)

// msStart is a millisecond-aligned start for clocks compared with Redis,
// which counts milliseconds.
var msStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testRedis opens a Redis for t on srv, under a prefix of its own, with a
// short probe interval; it is closed when the test ends.
func testRedis(t *testing.T, srv *replicatest.Redis, log *slog.Logger) *Redis {
	t.Helper()
	r, err := OpenRedis(srv.URL(), RedisConfig{
		Prefix:        "test:" + t.Name() + ":",
		Timeout:       time.Second, // generous under -race; TestRedisSlowServer shows the bound
		ProbeInterval: 10 * time.Millisecond,
		Logger:        log,
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	return r
}

// redisRing builds a keyring whose store is r.
func redisRing(t *testing.T, r *Redis, c func() time.Time, keys ...Key) *Keyring {
	t.Helper()
	ring, err := New(keys, WithClock(c), WithStore(r.Store))
	require.NoError(t, err)
	return ring
}

// TestRedisStoreMatchesMemory: the Lua buckets decide as MemoryStore does,
// step by step, to the millisecond Redis counts in.
func TestRedisStoreMatchesMemory(t *testing.T) {
	t.Parallel()
	srv := replicatest.StartRedis(t)
	for _, tc := range []struct {
		name  string
		limit Limit
		use   int64 // tokens charged after each allowed request
	}{
		{"rpm 7", Limit{RequestsPerMinute: 7}, 0},
		{"tpm 1000 overdrawn", Limit{TokensPerMinute: 1000}, 777},
		{"both", Limit{RequestsPerMinute: 13, TokensPerMinute: 333}, 50},
		{"huge debt", Limit{TokensPerMinute: 100}, 1 << 62},
		{"max limits", Limit{RequestsPerMinute: MaxPerMinute, TokensPerMinute: MaxPerMinute}, MaxPerMinute / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.limit.Name = "k"
			mem := NewMemoryStore([]Limit{tc.limit}, msStart)
			rs, err := testRedis(t, srv, nil).Store([]Limit{tc.limit})
			require.NoError(t, err)
			now := msStart
			for step := range 300 {
				now = now.Add(time.Duration(step%7) * 1237 * time.Millisecond / 100) // uneven, whole ms
				now = now.Truncate(time.Millisecond)
				want, got := mem.Take(0, now), rs.Take(0, now)
				require.Equal(t, want.Allowed, got.Allowed, "step %d", step)
				require.Equal(t, want.Reason, got.Reason, "step %d", step)
				assertWindowsAgree(t, want.Requests, got.Requests, "step %d requests", step)
				assertWindowsAgree(t, want.Tokens, got.Tokens, "step %d tokens", step)
				assert.InDelta(t, want.RetryAfter, got.RetryAfter, float64(time.Millisecond), "step %d", step)
				assert.GreaterOrEqual(t, got.RetryAfter, want.RetryAfter, "rounded up, never down")
				if got.Allowed && tc.use > 0 {
					mem.Charge(0, tc.use, now)
					rs.Charge(0, tc.use, now)
				}
			}
		})
	}
}

// assertWindowsAgree: the same limit and remaining; a reset rounded up to
// the millisecond.
func assertWindowsAgree(t *testing.T, want, got Window, msgAndArgs ...any) {
	t.Helper()
	assert.Equal(t, want.Limit, got.Limit, msgAndArgs...)
	assert.Equal(t, want.Remaining, got.Remaining, msgAndArgs...)
	assert.GreaterOrEqual(t, got.Reset, want.Reset, msgAndArgs...)
	assert.Less(t, got.Reset-want.Reset, time.Millisecond, msgAndArgs...)
}

// TestRedisSharedAcrossKeyrings: two keyrings (two gateways) on one Redis
// share each key's budgets: N requests per minute in total, and the tokens
// one charges are missing for the other.
func TestRedisSharedAcrossKeyrings(t *testing.T) {
	t.Parallel()
	srv := replicatest.StartRedis(t)
	c := &fakeClock{}
	clock := func() time.Time { return msStart.Add(time.Duration(c.ns.Load())) }
	keys := []Key{
		{Name: "team-a", Secret: "sk-a", RequestsPerMinute: 10},
		{Name: "team-b", Secret: "sk-b", TokensPerMinute: 1000},
	}
	r1, r2 := testRedis(t, srv, nil), testRedis(t, srv, nil) // same prefix: t.Name()
	rings := []*Keyring{redisRing(t, r1, clock, keys...), redisRing(t, r2, clock, keys...)}

	allowed := 0
	for i := range 30 {
		tk, d := principal(t, rings[i%2], "sk-a").Acquire(clock())
		if d.Allowed {
			allowed++
			tk.Done(0)
		} else {
			assert.Equal(t, ReasonRequests, d.Reason)
			assert.Equal(t, 6*time.Second, d.RetryAfter, "10 per minute: one per 6 s")
		}
	}
	assert.Equal(t, 10, allowed, "10 per minute across both keyrings, not 10 each")

	tk, d := principal(t, rings[0], "sk-b").Acquire(clock())
	require.True(t, d.Allowed)
	tk.Done(600)
	_, d = principal(t, rings[1], "sk-b").Acquire(clock())
	require.True(t, d.Allowed)
	assert.Equal(t, int64(400), d.Tokens.Remaining, "the other keyring's 600 tokens are gone")

	c.Advance(6 * time.Second)
	_, d = principal(t, rings[1], "sk-a").Acquire(clock())
	assert.True(t, d.Allowed, "a retry after RetryAfter succeeds")
	assert.True(t, r1.Shared() && r2.Shared())
	assert.Zero(t, r1.LocalDecisions()+r2.LocalDecisions())
}

// TestRedisOutage: with Redis stopped, decisions are taken in memory (each
// keyring with its own use so far), one warning is logged per outage, and
// once Redis answers again the budgets are shared again.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	srv := replicatest.StartRedis(t)
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r1, r2 := testRedis(t, srv, log), testRedis(t, srv, nil)
	clock := func() time.Time { return msStart } // no refill at all
	key := Key{Name: "team", Secret: "sk", RequestsPerMinute: 10}
	a, b := principal(t, redisRing(t, r1, clock, key), "sk"), principal(t, redisRing(t, r2, clock, key), "sk")
	take := func(p *Principal, n int) (allowed int) {
		for range n {
			if tk, d := p.Acquire(clock()); d.Allowed {
				allowed++
				tk.Done(0)
			}
		}
		return allowed
	}
	require.Equal(t, 4, take(a, 4))
	require.Equal(t, 4, take(b, 4))
	require.Equal(t, 2, take(a, 5), "8 of the shared 10 were used")

	srv.Stop()
	assert.Equal(t, 4, take(a, 10), "in memory, a has used 6 of its own 10")
	assert.Equal(t, 6, take(b, 10), "in memory, b has used 4 of its own 10")
	assert.False(t, r1.Shared())
	assert.Equal(t, int64(1), r1.Outages())
	assert.Equal(t, int64(10), r1.LocalDecisions(), "every decision of the outage")
	assert.Equal(t, 1, strings.Count(logs.String(), "Redis is not answering"), "one warning per outage:\n%s", logs.String())

	srv.Start() // empty: full buckets
	waitFor(t, "shared again", func() bool { return r1.Shared() && r2.Shared() })
	assert.Equal(t, 10, take(a, 6)+take(b, 6), "shared again: 10 in total")
	assert.Equal(t, 1, strings.Count(logs.String(), "Redis answers again"), logs.String())
	assert.Equal(t, int64(1), r1.Outages())
}

// TestRedisSlowServer: a server that accepts connections and never answers
// costs each decision at most the timeout; the store falls back and keeps
// probing until Close, which stops the prober.
func TestRedisSlowServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.WaitGroup // the accept loop and each connection
	done := make(chan struct{})
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { // read, never answer
				<-done
				c.Close()
			})
		}
	})
	t.Cleanup(func() { ln.Close(); close(done); conns.Wait() })

	r, err := OpenRedis("redis://"+ln.Addr().String()+"/0", RedisConfig{Timeout: 50 * time.Millisecond, ProbeInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	ring := redisRing(t, r, time.Now, Key{Name: "k", Secret: "sk", RequestsPerMinute: 2})
	p := principal(t, ring, "sk")

	decided := make(chan Decision, 3)
	go func() {
		for range 3 {
			_, d := p.Acquire(time.Now())
			decided <- d
		}
	}()
	for i, want := range []bool{true, true, false} {
		select {
		case d := <-decided:
			assert.Equal(t, want, d.Allowed, "decision %d, in memory", i+1)
		case <-time.After(30 * time.Second):
			t.Fatal("a decision did not return: the timeout does not bound it")
		}
	}
	assert.False(t, r.Shared())
	assert.Equal(t, int64(1), r.Outages())
	require.NoError(t, r.Close())
	_, d := p.Acquire(time.Now())
	assert.False(t, d.Allowed, "after Close, decisions stay in memory")
}

func TestRedisOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, addr, err string
		db             int
	}{
		{url: "redis://127.0.0.1:6379/0", addr: "127.0.0.1:6379"},
		{url: "redis://:s3cret@cache.internal/2", addr: "cache.internal:6379", db: 2},
		{url: "rediss://user:s3cret@cache:6380", addr: "cache:6380"},
		{url: "unix:///run/redis.sock?db=1", addr: "/run/redis.sock", db: 1},
		{url: "", err: "required"},
		{url: "http://:s3cret@cache:6379", err: "invalid URL scheme"},
		{url: "redis://:s3cret@cache:6379/x", err: "invalid database"},
		{url: "redis://:s3cret@[::1", err: "not a valid URL"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			o, err := RedisOptions(tc.url, 0)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				assert.NotContains(t, err.Error(), "s3cret")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.addr, o.Addr)
			assert.Equal(t, tc.db, o.DB)
			assert.Equal(t, DefaultRedisTimeout, o.ReadTimeout)
			assert.Equal(t, DefaultRedisTimeout, o.DialTimeout)
			assert.True(t, o.ContextTimeoutEnabled)
			assert.Equal(t, -1, o.MaxRetries)
		})
	}
	assert.Equal(t, "redis://:xxxxx@cache:6379/0", RedactRedisURL("redis://:s3cret@cache:6379/0"))
	assert.Equal(t, "redis://cache:6379/0", RedactRedisURL("redis://cache:6379/0"))
	assert.Equal(t, "[REDACTED]", RedactRedisURL("redis://:s3cret@[::1"))
	assert.Empty(t, RedactRedisURL(""))
}

// TestNewRedisDefaults: the zero RedisConfig means the defaults, and a
// caller's client is not closed by Close.
func TestNewRedisDefaults(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	defer client.Close()
	r := NewRedis(client, RedisConfig{})
	assert.Equal(t, RedisConfig{Prefix: DefaultRedisPrefix, Timeout: DefaultRedisTimeout, ProbeInterval: DefaultRedisProbeInterval}, r.cfg)
	assert.True(t, r.Shared(), "shared until a call fails")
	require.NoError(t, r.Close())
	assert.NotErrorIs(t, client.Ping(t.Context()).Err(), redis.ErrClosed, "the caller's client stays open")
}

// BenchmarkRedisTake is one shared decision: a Lua script run on a local
// redis-server, the round trip included.
func BenchmarkRedisTake(b *testing.B) {
	srv := replicatest.StartRedis(b)
	r, err := OpenRedis(srv.URL(), RedisConfig{Prefix: "bench:", Timeout: time.Second})
	require.NoError(b, err)
	defer r.Close()
	s, _ := r.Store([]Limit{{Name: "k", RequestsPerMinute: MaxPerMinute, TokensPerMinute: MaxPerMinute}})
	b.ReportAllocs()
	for b.Loop() {
		if !s.Take(0, time.Now()).Allowed {
			b.Fatal("refused")
		}
	}
	if !r.Shared() {
		b.Fatal("fell back to memory")
	}
}

// waitFor polls ok until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		require.True(t, time.Now().Before(deadline), "%s: not within 10 s", what)
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuf is a log sink safe for concurrent use.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
