package limits

import "time"

// unitsPerToken is the fixed-point scale of a bucket's level: the number of
// microseconds in a minute. A bucket with a per-minute limit L then refills
// by exactly L units per microsecond, so levels, waits and reset times are
// exact integers and a wait computed now is exactly enough later.
const unitsPerToken = int64(time.Minute / time.Microsecond)

// bucket is one token bucket with continuous refill: it holds at most limit
// tokens and regains limit tokens per minute. Its level may go negative, by
// at most one full bucket. A bucket is not safe for concurrent use; its
// store locks it.
type bucket struct {
	limit int64 // per minute; 0 = unlimited (the bucket is unused)
	level int64 // in units; within [-capacity, capacity]
	last  int64 // the store's clock, in µs, at which level was current
}

// newBucket returns a full bucket of limit per minute.
func newBucket(limit int64) bucket {
	return bucket{limit: limit, level: limit * unitsPerToken}
}

func (b *bucket) capacity() int64 { return b.limit * unitsPerToken }

// advance refills the bucket up to now (µs). A clock that goes backwards
// refills nothing and leaves last where it was.
func (b *bucket) advance(now int64) {
	dt := now - b.last
	if dt <= 0 {
		return
	}
	b.last = now
	// From the lowest level (-capacity) the bucket is full after two
	// minutes; capping dt there keeps limit*dt from overflowing.
	dt = min(dt, 2*unitsPerToken)
	b.level = min(b.level+b.limit*dt, b.capacity())
}

// wait returns the µs until the bucket holds at least one token; 0 if it
// does.
func (b *bucket) wait() int64 {
	return ceilDiv(unitsPerToken-b.level, b.limit)
}

// take removes n tokens, going negative if it must. n is capped at the
// limit and the level at -capacity, so that one huge request costs at most
// one minute's budget of debt.
func (b *bucket) take(n int64) {
	n = min(n, b.limit)
	b.level = max(b.level-n*unitsPerToken, -b.capacity())
}

// window reports the bucket as a Window; the zero Window for an unused
// bucket.
func (b *bucket) window() Window {
	if b.limit == 0 {
		return Window{}
	}
	return Window{
		Limit:     b.limit,
		Remaining: max(b.level, 0) / unitsPerToken,
		Reset:     time.Duration(ceilDiv(b.capacity()-b.level, b.limit)) * time.Microsecond,
	}
}

// ceilDiv returns ceil(a/b) for b > 0, and 0 for a <= 0.
func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
