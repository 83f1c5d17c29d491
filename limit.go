package nexus

import (
	"sync/atomic"
)

// CodeOverloaded is the error code of the 503 a gateway answers when it is
// already handling server.max_concurrent_requests inference requests.
const CodeOverloaded = "overloaded"

// limiter bounds the inference requests routed and forwarded at once. It never queues: a
// request over the limit is refused at once, so that under overload the
// gateway answers quickly and clients back off instead of piling up. A nil
// limiter admits everything.
type limiter struct {
	max    int64
	active atomic.Int64
}

// newLimiter returns nil for max <= 0 (no limit).
func newLimiter(max int) *limiter {
	if max <= 0 {
		return nil
	}
	return &limiter{max: int64(max)}
}

// acquire takes a slot if one is free. Every true result must be paired
// with one release.
func (l *limiter) acquire() bool {
	if l == nil {
		return true
	}
	if l.active.Add(1) > l.max {
		l.active.Add(-1)
		return false
	}
	return true
}

func (l *limiter) release() {
	if l != nil {
		l.active.Add(-1)
	}
}
