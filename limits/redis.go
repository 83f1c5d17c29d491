package limits

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of RedisConfig.
const (
	// DefaultRedisPrefix is put before each key's name to make its Redis key.
	DefaultRedisPrefix = "nexus:limits:"
	// DefaultRedisTimeout bounds each call to Redis on the request path.
	DefaultRedisTimeout = 50 * time.Millisecond
	// DefaultRedisProbeInterval is how often an unanswering Redis is pinged.
	DefaultRedisProbeInterval = time.Second
)

// RedisConfig configures NewRedis and OpenRedis. The zero value uses the
// defaults.
type RedisConfig struct {
	// Prefix is put before each key's name to make its Redis key (one hash
	// per key); "" means DefaultRedisPrefix. Gateways that share budgets
	// must use the same prefix and the same key names.
	Prefix string
	// Timeout bounds each call to Redis, on the request path and when
	// probing; 0 means DefaultRedisTimeout. A call that takes longer counts
	// as an outage.
	Timeout time.Duration
	// ProbeInterval is how often Redis is pinged while it is not
	// answering; 0 means DefaultRedisProbeInterval.
	ProbeInterval time.Duration
	// Logger receives one warning when Redis stops answering and one
	// info line when it answers again; nil discards them.
	Logger *slog.Logger
}

// Redis keeps the request and token budgets of keys in a Redis server, so
// that every gateway using the same server and key names enforces them
// together: a key limited to 100 requests per minute gets 100 across the
// fleet, not 100 per gateway. Its Store method is a WithStore constructor;
// several keyrings (a reload) may share one Redis.
//
// Each decision is one Lua script run (EVALSHA), atomic in Redis, bounded
// by RedisConfig.Timeout. While Redis does not answer — an error or a
// timeout — decisions fall back to in-memory budgets of this gateway
// (which have counted this gateway's own requests all along, so a key gets
// its full limit per gateway during an outage), one warning is logged, and
// Redis is pinged every ProbeInterval until it answers; then decisions are
// shared again. Budgets used during the outage are not replayed into Redis.
//
// Redis counts time in milliseconds, from the clock of the gateway that
// calls it, so gateways' clocks should be synchronised (NTP); a skew of d
// lets through at most d's worth of refill extra. The concurrency limit is
// never shared: it is always per gateway.
type Redis struct {
	client redis.UniversalClient
	owned  bool // close client on Close
	cfg    RedisConfig
	log    *slog.Logger

	down    atomic.Bool  // Redis is not answering: decide locally
	outages atomic.Int64 // times Redis stopped answering
	local   atomic.Int64 // decisions taken locally because of an outage

	ctx    context.Context // canceled by Close: ends calls and the prober
	cancel context.CancelFunc

	mu      sync.Mutex
	probing bool // a prober goroutine runs
	closed  bool
	wg      sync.WaitGroup
}

// NewRedis returns a Redis using client, which the caller keeps: Close does
// not close it. Give the client timeouts no longer than cfg.Timeout, or
// set its ContextTimeoutEnabled, so a slow server cannot hold a request
// longer than that. NewRedis does not contact the server and starts no
// goroutine; a prober runs only while Redis is not answering.
func NewRedis(client redis.UniversalClient, cfg RedisConfig) *Redis {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = DefaultRedisProbeInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Redis{client: client, cfg: cfg, log: log, ctx: ctx, cancel: cancel}
}

// OpenRedis returns a Redis with a client of its own for rawURL (see
// RedisOptions), closed by Close.
func OpenRedis(rawURL string, cfg RedisConfig) (*Redis, error) {
	opts, err := RedisOptions(rawURL, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	r := NewRedis(redis.NewClient(opts), cfg)
	r.owned = true
	return r, nil
}

// Shared reports whether budgets are currently shared: true unless Redis
// stopped answering and has not answered a probe since. It is true before
// the first call.
func (r *Redis) Shared() bool { return !r.down.Load() }

// Outages returns how many times Redis stopped answering.
func (r *Redis) Outages() int64 { return r.outages.Load() }

// LocalDecisions returns how many decisions (Take and Charge) were taken
// in memory because Redis was not answering.
func (r *Redis) LocalDecisions() int64 { return r.local.Load() }

// Close stops the prober and waits for it, and closes the client if
// OpenRedis made it. Stores keep working afterwards, in memory only.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	if r.owned {
		return r.client.Close()
	}
	return nil
}

// Store returns a Store for limits kept in Redis, under Prefix plus each
// key's name; pass it to WithStore. It never fails; the error is for
// WithStore's signature.
func (r *Redis) Store(limits []Limit) (Store, error) {
	s := &redisStore{r: r, local: NewMemoryStore(limits, time.Unix(0, 0)), keys: make([]redisKey, len(limits))}
	for i, l := range limits {
		s.keys[i] = redisKey{
			key:      []string{r.cfg.Prefix + l.Name},
			requests: l.RequestsPerMinute,
			tokens:   l.TokensPerMinute,
		}
	}
	return s, nil
}

// fail records that a call failed with err: the first failure of an
// outage logs a warning and starts the prober.
func (r *Redis) fail(err error) {
	if r.ctx.Err() != nil { // closed: in memory from now on, silently
		r.down.Store(true)
		return
	}
	if !r.down.CompareAndSwap(false, true) {
		return
	}
	r.outages.Add(1)
	r.log.Warn("limits: Redis is not answering; each gateway enforces per-key limits on its own until it does",
		"error", err.Error(), "probe_interval", r.cfg.ProbeInterval.String())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.probing {
		return
	}
	r.probing = true
	r.wg.Add(1)
	go r.probe()
}

// probe pings Redis every ProbeInterval until it answers or Close.
func (r *Redis) probe() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.Timeout)
		err := r.client.Ping(ctx).Err()
		cancel()
		if err != nil {
			continue
		}
		// Clear probing before down, so that a failure right after the
		// recovery starts a new prober.
		r.mu.Lock()
		r.probing = false
		r.mu.Unlock()
		r.down.Store(false)
		r.log.Info("limits: Redis answers again; per-key limits are shared across gateways")
		return
	}
}

// redisKey is one key's Redis key and budgets.
type redisKey struct {
	key              []string // KEYS of the scripts
	requests, tokens int64    // per minute; 0 = unlimited
}

// redisStore is the Store of one keyring in a Redis, with the in-memory
// store it falls back to. The in-memory store also counts every request
// Redis admits and every charge, so that it holds this gateway's own use
// when an outage begins.
type redisStore struct {
	r     *Redis
	local *MemoryStore
	keys  []redisKey
}

// Redis keeps each bucket as a level in units and the time it was current,
// in milliseconds; a token is a minute's worth of milliseconds, so a bucket
// of L per minute refills exactly L units per millisecond (see bucket).
// Levels stay below 2^53 for every limit up to MaxPerMinute, so Lua's
// doubles hold them exactly.
const redisUnits = int64(time.Minute / time.Millisecond)

// redisTTL is how long an unused key's hash is kept: after two minutes any
// bucket is full again, and a missing hash means full buckets.
const redisTTL = 3 * time.Minute

// refillLua refills one bucket (level, last) of limit per minute up to now,
// as bucket.advance does; a missing bucket is full.
const refillLua = `
local U = 60000
local now = tonumber(ARGV[1])
local function refill(level, last, limit)
  local cap = limit * U
  if not level then return cap, now end
  level = math.max(math.min(level, cap), -cap)
  local dt = now - last
  if dt > 0 then
    last = now
    level = math.min(level + limit * math.min(dt, 2 * U), cap)
  end
  return level, last
end
local function n(x) return string.format('%.0f', x) end
`

// takeScript: KEYS[1] the key's hash; ARGV now (ms), requests and tokens
// per minute, TTL (ms). It refills both buckets; if each used one holds a
// whole unit it takes one request, stores the buckets and returns
// {1, requests level, tokens level}; otherwise it stores nothing and
// returns {0, levels}. An unused budget's level is 0.
var takeScript = redis.NewScript(refillLua + `
local rl, tl = tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'r', 'rt', 't', 'tt')
local r, rt, t, tt = 0, 0, 0, 0
if rl > 0 then r, rt = refill(tonumber(s[1]), tonumber(s[2]), rl) end
if tl > 0 then t, tt = refill(tonumber(s[3]), tonumber(s[4]), tl) end
if (rl > 0 and r < U) or (tl > 0 and t < U) then return {0, r, t} end
if rl > 0 then
  r = math.max(r - U, -rl * U)
  redis.call('HSET', KEYS[1], 'r', n(r), 'rt', n(rt))
end
if tl > 0 then redis.call('HSET', KEYS[1], 't', n(t), 'tt', n(tt)) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, r, t}
`)

// chargeScript: KEYS[1] the key's hash; ARGV now (ms), tokens per minute,
// tokens to charge, TTL (ms). It refills the token bucket and takes the
// tokens (at most a minute's budget, down to minus one), as bucket.take.
var chargeScript = redis.NewScript(refillLua + `
local tl, c = tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 't', 'tt')
local t, tt = refill(tonumber(s[1]), tonumber(s[2]), tl)
t = math.max(t - math.min(c, tl) * U, -tl * U)
redis.call('HSET', KEYS[1], 't', n(t), 'tt', n(tt))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// Take implements Store: one takeScript run, or the in-memory store while
// Redis is not answering.
func (s *redisStore) Take(key int, now time.Time) Decision {
	if !s.r.Shared() {
		s.r.local.Add(1)
		return s.local.Take(key, now)
	}
	k := &s.keys[key]
	ctx, cancel := context.WithTimeout(s.r.ctx, s.r.cfg.Timeout)
	levels, err := takeScript.Run(ctx, s.r.client, k.key,
		now.UnixMilli(), k.requests, k.tokens, redisTTL.Milliseconds()).Int64Slice()
	cancel()
	if err == nil && len(levels) != 3 {
		err = errors.New("limits: unexpected reply from the take script")
	}
	if err != nil {
		s.r.fail(err)
		s.r.local.Add(1)
		return s.local.Take(key, now)
	}
	d := redisDecision(levels[0] == 1, k.requests, levels[1], k.tokens, levels[2])
	if d.Allowed {
		s.local.Take(key, now) // count this gateway's own use
	}
	return d
}

// Charge implements Store: one chargeScript run, or only the in-memory
// store while Redis is not answering.
func (s *redisStore) Charge(key int, tokens int64, now time.Time) {
	s.local.Charge(key, tokens, now)
	k := &s.keys[key]
	if tokens <= 0 || k.tokens == 0 {
		return
	}
	if !s.r.Shared() {
		s.r.local.Add(1)
		return
	}
	ctx, cancel := context.WithTimeout(s.r.ctx, s.r.cfg.Timeout)
	err := chargeScript.Run(ctx, s.r.client, k.key,
		now.UnixMilli(), k.tokens, tokens, redisTTL.Milliseconds()).Err()
	cancel()
	if err != nil {
		s.r.fail(err)
		s.r.local.Add(1)
	}
}

// redisDecision builds a Store decision from the levels takeScript
// returned, as MemoryStore.Take does from its buckets.
func redisDecision(allowed bool, reqLimit, reqLevel, tokLimit, tokLevel int64) Decision {
	d := Decision{
		Allowed:  allowed,
		Requests: redisWindow(reqLimit, reqLevel),
		Tokens:   redisWindow(tokLimit, tokLevel),
	}
	if allowed {
		return d
	}
	var reqWait, tokWait int64
	if reqLimit > 0 {
		reqWait = ceilDiv(redisUnits-reqLevel, reqLimit)
	}
	if tokLimit > 0 {
		tokWait = ceilDiv(redisUnits-tokLevel, tokLimit)
	}
	d.Reason, d.RetryAfter = ReasonRequests, time.Duration(reqWait)*time.Millisecond
	if tokWait > reqWait {
		d.Reason, d.RetryAfter = ReasonTokens, time.Duration(tokWait)*time.Millisecond
	}
	return d
}

// redisWindow is bucket.window for a level in Redis's units.
func redisWindow(limit, level int64) Window {
	if limit == 0 {
		return Window{}
	}
	capacity := limit * redisUnits
	return Window{
		Limit:     limit,
		Remaining: max(level, 0) / redisUnits,
		Reset:     time.Duration(ceilDiv(capacity-level, limit)) * time.Millisecond,
	}
}
