package metrics

import (
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// obsCounter is one series of an observable counter: an atomic total added
// to on the hot path (a few nanoseconds, against a few hundred for a
// synchronous instrument with two readers) and observed with its
// precomputed attribute set at each collection.
type obsCounter struct {
	n    atomic.Int64
	opts []metric.ObserveOption
}

func newObsCounter(kv ...attribute.KeyValue) *obsCounter {
	return &obsCounter{opts: []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kv...))}}
}

// add adds n if it is positive (counters only go up).
func (c *obsCounter) add(n int64) {
	if n > 0 {
		c.n.Add(n)
	}
}

func (c *obsCounter) observe(o metric.Observer, inst metric.Int64Observable) {
	o.ObserveInt64(inst, c.n.Load(), c.opts...)
}

// counterVec is a bounded set of obsCounter keyed by normalised label
// values. Two keys with the same label set are summed by the SDK (an
// observable counter's observations of one set within a collection add up),
// so keys may be raw accepted names.
type counterVec[K comparable] struct {
	memo[K, *obsCounter]
}

// get returns the counter for k. The first time, build(k) returns the key
// to keep (with its names cloned, so the memo never pins a caller's
// buffer) and the counter. When the memo is full it returns the counter for
// fallback, a key from a small closed set.
func (v *counterVec[K]) get(k K, fallback K, build func(K) (K, *obsCounter)) *obsCounter {
	if c, ok := v.load(k); ok {
		return c
	}
	if c, ok := v.store(build(k)); ok {
		return c
	}
	if c, ok := v.load(fallback); ok {
		return c
	}
	return v.force(build(fallback))
}

// observe observes every counter of the set.
func (v *counterVec[K]) observe(o metric.Observer, inst metric.Int64Observable) {
	v.m.Range(func(_, c any) bool {
		c.(*obsCounter).observe(o, inst)
		return true
	})
}
