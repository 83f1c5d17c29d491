package routing

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of QueueConfig, upstream's [queue] defaults.
const (
	DefaultQueueSize    = 100
	DefaultQueueWait    = 30 * time.Second
	DefaultQueueRecheck = time.Second
)

// Errors returned by Queue.Wait.
var (
	// ErrQueueFull: MaxSize requests were already waiting.
	ErrQueueFull = errors.New("routing: queue full")
	// ErrQueueTimeout: no capacity freed within MaxWait.
	ErrQueueTimeout = errors.New("routing: timed out waiting in the queue")
)

// QueueConfig configures a Queue. The zero value is usable: every zero
// field takes its default.
type QueueConfig struct {
	// MaxSize is how many requests may wait at once; 0 means
	// DefaultQueueSize (100).
	MaxSize int
	// MaxWait is the longest a request waits; 0 means DefaultQueueWait
	// (30s).
	MaxWait time.Duration
	// Recheck is how often each waiter checks for room on its own, for
	// capacity that frees without a Release (a backend added or back in
	// rotation, a changed load reading); 0 means DefaultQueueRecheck (1s).
	Recheck time.Duration
}

// Ticket is what a waiting request tells the Queue about itself.
type Ticket struct {
	// Priority orders waiters: every high one goes before any normal one,
	// and normal before low.
	Priority Priority
	// Tenant is the fairness group (the client's key name): within one
	// priority, tenants take turns, and within a tenant requests go in
	// arrival order. "" is one group of its own.
	Tenant string
	// Group names the capacity the request needs (for example its
	// resolved model); Waiting counts waiters by it. Within one dispatch
	// round, once a waiter of a group finds no room, the later waiters of
	// that group are not asked.
	Group string
}

// Queue holds requests until capacity frees: when every backend for a
// request is at capacity, its goroutine waits in Wait, and each Release
// (a request ended) lets the first waiter in order whose ready function
// reports room go on. Order: priority, then tenants in turn, then arrival.
// A waiter whose context ends leaves at once.
//
// It starts no goroutine: waiters are the callers' goroutines, and each
// holds a timer and a ticker only while it waits. All methods are safe for
// concurrent use.
type Queue struct {
	cfg QueueConfig

	mu     sync.Mutex
	levels [3]queueLevel // high, normal, low
	size   int
	// groups counts waiters per Group.
	groups map[string]int
	// interval is an EWMA of the time between two grants, in nanoseconds;
	// 0 until two grants were made.
	interval  time.Duration
	lastGrant time.Time

	depth atomic.Int64
}

// queueLevel is the waiters of one priority, one FIFO per tenant, tenants
// in a ring served in turn from next.
type queueLevel struct {
	tenants []*queueTenant
	next    int
}

type queueTenant struct {
	name    string
	waiters []*queueWaiter
}

type queueWaiter struct {
	t       Ticket
	ready   func() bool
	granted chan struct{} // closed by the grant
	done    bool          // granted or removed; guarded by Queue.mu
}

// NewQueue returns an empty Queue. Zero fields of cfg take their defaults.
func NewQueue(cfg QueueConfig) *Queue {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultQueueSize
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultQueueWait
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultQueueRecheck
	}
	return &Queue{cfg: cfg, groups: map[string]int{}}
}

// MaxWait returns the longest a request waits.
func (q *Queue) MaxWait() time.Duration { return q.cfg.MaxWait }

// Len returns how many requests are waiting now.
func (q *Queue) Len() int64 { return q.depth.Load() }

// Waiting returns how many requests of group are waiting now. A request
// that finds room but sees others of its group waiting should queue
// behind them rather than overtake them.
func (q *Queue) Waiting(group string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.groups[group]
}

// Wait queues the request until ready reports room, ctx ends or MaxWait
// passes, and returns how long it waited. ready is called with the
// queue's lock held, at most once per dispatch round: it must be quick and
// must not call the Queue. A nil error means the request may go now (its
// ready returned true); otherwise it is ErrQueueFull (at once), or
// ErrQueueTimeout, or ctx's error, and the request has left the queue.
func (q *Queue) Wait(ctx context.Context, t Ticket, ready func() bool) (time.Duration, error) {
	start := time.Now()
	w := &queueWaiter{t: t, ready: ready, granted: make(chan struct{})}
	q.mu.Lock()
	if q.size >= q.cfg.MaxSize {
		q.mu.Unlock()
		return 0, ErrQueueFull
	}
	q.push(w)
	q.dispatch(start) // room may have freed meanwhile
	q.mu.Unlock()

	deadline := time.NewTimer(q.cfg.MaxWait)
	defer deadline.Stop()
	recheck := time.NewTicker(q.cfg.Recheck)
	defer recheck.Stop()
	for {
		select {
		case <-w.granted:
			return time.Since(start), nil
		case <-recheck.C:
			q.Release()
			continue
		case <-ctx.Done():
			return time.Since(start), q.leave(w, ctx.Err())
		case <-deadline.C:
			return time.Since(start), q.leave(w, ErrQueueTimeout)
		}
	}
}

// leave takes w out of the queue. If it was granted meanwhile, the room
// it was given passes to the next waiter, and the request may still go:
// leave then returns nil unless err is a context error (the client left).
func (q *Queue) leave(w *queueWaiter, err error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !w.done {
		q.remove(w)
		return err
	}
	if errors.Is(err, ErrQueueTimeout) {
		return nil // granted at the last moment: go
	}
	q.dispatch(time.Now())
	return err
}

// Release tells the queue that capacity may have freed (a request ended):
// the first waiter in order whose ready reports room goes on.
func (q *Queue) Release() {
	if q.depth.Load() == 0 {
		return
	}
	q.mu.Lock()
	q.dispatch(time.Now())
	q.mu.Unlock()
}

// RetryAfter estimates when a request refused now would find room: the
// waiters ahead of it times the recent time between two grants, at least
// one second and at most MaxWait (MaxWait until grants were seen).
func (q *Queue) RetryAfter() time.Duration {
	q.mu.Lock()
	iv, n := q.interval, q.size
	q.mu.Unlock()
	if iv <= 0 {
		return q.cfg.MaxWait
	}
	return min(max(iv*time.Duration(n+1), time.Second), q.cfg.MaxWait)
}

// push appends w to its tenant's FIFO. The caller holds q.mu.
func (q *Queue) push(w *queueWaiter) {
	lv := &q.levels[levelOf(w.t.Priority)]
	var tq *queueTenant
	for _, t := range lv.tenants {
		if t.name == w.t.Tenant {
			tq = t
			break
		}
	}
	if tq == nil {
		tq = &queueTenant{name: w.t.Tenant}
		// A new tenant joins the ring just before the cursor: it is served
		// after those already waiting their turn.
		lv.tenants = append(lv.tenants, nil)
		copy(lv.tenants[lv.next+1:], lv.tenants[lv.next:])
		lv.tenants[lv.next] = tq
		lv.next = (lv.next + 1) % len(lv.tenants)
	}
	tq.waiters = append(tq.waiters, w)
	q.size++
	q.groups[w.t.Group]++
	q.depth.Store(int64(q.size))
}

// remove takes a waiting w out. The caller holds q.mu.
func (q *Queue) remove(w *queueWaiter) {
	lv := &q.levels[levelOf(w.t.Priority)]
	for ti, tq := range lv.tenants {
		if tq.name != w.t.Tenant {
			continue
		}
		for i, x := range tq.waiters {
			if x == w {
				copy(tq.waiters[i:], tq.waiters[i+1:])
				tq.waiters[len(tq.waiters)-1] = nil
				tq.waiters = tq.waiters[:len(tq.waiters)-1]
				break
			}
		}
		if len(tq.waiters) == 0 {
			lv.dropTenant(ti)
		}
		break
	}
	w.done = true
	q.size--
	if q.groups[w.t.Group]--; q.groups[w.t.Group] <= 0 {
		delete(q.groups, w.t.Group)
	}
	q.depth.Store(int64(q.size))
}

// dropTenant removes the empty tenant at index i from the ring, keeping the
// cursor on the same next tenant.
func (lv *queueLevel) dropTenant(i int) {
	lv.tenants = append(lv.tenants[:i], lv.tenants[i+1:]...)
	if i < lv.next {
		lv.next--
	}
	if lv.next >= len(lv.tenants) {
		lv.next = 0
	}
}

// dispatch grants the first waiter in order whose ready reports room. The
// caller holds q.mu.
func (q *Queue) dispatch(now time.Time) {
	if q.size == 0 {
		return
	}
	var full []string // groups found without room in this round
	for li := range q.levels {
		lv := &q.levels[li]
		for depth := 0; ; depth++ {
			found := false
			for k := range lv.tenants {
				ti := (lv.next + k) % len(lv.tenants)
				tq := lv.tenants[ti]
				if depth >= len(tq.waiters) {
					continue
				}
				found = true
				w := tq.waiters[depth]
				if slices.Contains(full, w.t.Group) {
					continue
				}
				if !w.ready() {
					full = append(full, w.t.Group)
					continue
				}
				// Grant w; the tenant after it has the next turn.
				lv.next = (ti + 1) % len(lv.tenants)
				q.remove(w)
				close(w.granted)
				q.noteGrant(now)
				return
			}
			if !found {
				break
			}
		}
	}
}

// noteGrant updates the time between grants. The caller holds q.mu.
func (q *Queue) noteGrant(now time.Time) {
	if !q.lastGrant.IsZero() {
		d := now.Sub(q.lastGrant)
		if q.interval == 0 {
			q.interval = d
		} else {
			q.interval = (d + 4*q.interval) / 5
		}
	}
	q.lastGrant = now
}

// levelOf maps a priority to its level index: 0 high, 1 normal, 2 low.
func levelOf(p Priority) int {
	switch {
	case p > 0:
		return 0
	case p < 0:
		return 2
	}
	return 1
}
