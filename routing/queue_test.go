package routing

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// gate is capacity for queue tests: ready takes one token when there is
// one.
type gate struct{ tokens atomic.Int64 }

func (g *gate) ready() bool {
	for {
		n := g.tokens.Load()
		if n <= 0 {
			return false
		}
		if g.tokens.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// waitLen spins until q holds n waiters (no timing assumption: it yields
// until the goroutines have queued).
func waitLen(q *Queue, n int64) {
	for q.Len() != n {
		runtime.Gosched()
	}
}

// enqueue starts one waiter per ticket, in order, each queued before the
// next starts; every granted waiter's name arrives on the returned channel.
func enqueue(t *testing.T, q *Queue, g *gate, tickets []Ticket, names []string) (<-chan string, *sync.WaitGroup) {
	t.Helper()
	out := make(chan string, len(tickets))
	var wg sync.WaitGroup
	for i, tk := range tickets {
		before := q.Len()
		wg.Go(func() {
			if _, err := q.Wait(context.Background(), tk, g.ready); err == nil {
				out <- names[i]
			} else {
				out <- "error: " + err.Error()
			}
		})
		waitLen(q, before+1)
	}
	return out, &wg
}

// release releases one unit of capacity at a time and returns the order in
// which the waiters went.
func release(q *Queue, g *gate, out <-chan string, n int) []string {
	var got []string
	for range n {
		g.tokens.Add(1)
		q.Release()
		got = append(got, <-out)
	}
	return got
}

func TestQueueOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tickets []Ticket
		names   []string
		want    []string
	}{
		{
			name:    "FIFO within a tenant",
			tickets: []Ticket{{}, {}, {}},
			names:   []string{"1", "2", "3"},
			want:    []string{"1", "2", "3"},
		},
		{
			name: "priority first",
			tickets: []Ticket{
				{Priority: PriorityLow}, {}, {Priority: PriorityHigh}, {}, {Priority: PriorityHigh},
			},
			names: []string{"low", "n1", "h1", "n2", "h2"},
			want:  []string{"h1", "h2", "n1", "n2", "low"},
		},
		{
			name: "tenants take turns",
			tickets: []Ticket{
				{Tenant: "a"}, {Tenant: "a"}, {Tenant: "a"}, {Tenant: "b"}, {Tenant: "c"}, {Tenant: "b"},
			},
			names: []string{"a1", "a2", "a3", "b1", "c1", "b2"},
			want:  []string{"a1", "b1", "c1", "a2", "b2", "a3"},
		},
		{
			name: "turns within each priority",
			tickets: []Ticket{
				{Tenant: "a"}, {Tenant: "a"}, {Tenant: "b", Priority: PriorityHigh}, {Tenant: "b"},
			},
			names: []string{"a1", "a2", "bh", "b1"},
			want:  []string{"bh", "a1", "b1", "a2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := NewQueue(QueueConfig{MaxWait: time.Hour, Recheck: time.Hour})
			var g gate
			out, wg := enqueue(t, q, &g, tc.tickets, tc.names)
			assert.Equal(t, tc.want, release(q, &g, out, len(tc.tickets)))
			wg.Wait()
			assert.Zero(t, q.Len())
		})
	}
}

// TestQueueGroups checks that a group without room does not hold up
// another group with room, and Waiting counts by group.
func TestQueueGroups(t *testing.T) {
	t.Parallel()
	q := NewQueue(QueueConfig{MaxWait: time.Hour, Recheck: time.Hour})
	var big, small gate
	done := make(chan string, 2)
	go func() {
		_, _ = q.Wait(context.Background(), Ticket{Group: "big"}, big.ready)
		done <- "big"
	}()
	waitLen(q, 1)
	go func() {
		_, _ = q.Wait(context.Background(), Ticket{Group: "small"}, small.ready)
		done <- "small"
	}()
	waitLen(q, 2)
	assert.Equal(t, 1, q.Waiting("big"))
	assert.Equal(t, 1, q.Waiting("small"))
	small.tokens.Add(1)
	q.Release()
	assert.Equal(t, "small", <-done)
	assert.Zero(t, q.Waiting("small"))
	big.tokens.Add(1)
	q.Release()
	assert.Equal(t, "big", <-done)
}

// TestQueueLimits checks MaxSize, MaxWait and RetryAfter.
func TestQueueLimits(t *testing.T) {
	t.Parallel()
	q := NewQueue(QueueConfig{MaxSize: 2, MaxWait: time.Hour, Recheck: time.Hour})
	var g gate
	out, wg := enqueue(t, q, &g, []Ticket{{}, {}}, []string{"1", "2"})
	_, err := q.Wait(context.Background(), Ticket{}, g.ready)
	require.ErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, time.Hour, q.RetryAfter(), "no grant seen yet: the longest wait")
	assert.Equal(t, []string{"1", "2"}, release(q, &g, out, 2))
	wg.Wait()
	ra := q.RetryAfter()
	assert.GreaterOrEqual(t, ra, time.Second)
	assert.LessOrEqual(t, ra, time.Hour)

	short := NewQueue(QueueConfig{MaxWait: time.Millisecond, Recheck: time.Hour})
	waited, err := short.Wait(context.Background(), Ticket{}, func() bool { return false })
	require.ErrorIs(t, err, ErrQueueTimeout)
	assert.Positive(t, waited)
	assert.Zero(t, short.Len())
	assert.Equal(t, time.Millisecond, short.RetryAfter(), "at most MaxWait")
}

// TestQueueRoomAtOnce checks that a waiter with room goes at once.
func TestQueueRoomAtOnce(t *testing.T) {
	t.Parallel()
	q := NewQueue(QueueConfig{})
	_, err := q.Wait(context.Background(), Ticket{}, func() bool { return true })
	require.NoError(t, err)
	assert.Zero(t, q.Len())
}

// TestQueueRecheck checks that a waiter finds room that freed without a
// Release, on its own recheck.
func TestQueueRecheck(t *testing.T) {
	t.Parallel()
	q := NewQueue(QueueConfig{MaxWait: time.Hour, Recheck: time.Millisecond})
	var g gate
	out, wg := enqueue(t, q, &g, []Ticket{{}}, []string{"1"})
	g.tokens.Add(1)
	assert.Equal(t, "1", <-out)
	wg.Wait()
}

// TestQueueCancel checks that a client that leaves frees its place at once:
// the queue shrinks, and the next waiter goes first.
func TestQueueCancel(t *testing.T) {
	t.Parallel()
	q := NewQueue(QueueConfig{MaxSize: 2, MaxWait: time.Hour, Recheck: time.Hour})
	var g gate
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := q.Wait(ctx, Ticket{}, g.ready)
		errc <- err
	}()
	waitLen(q, 1)
	out, wg := enqueue(t, q, &g, []Ticket{{}}, []string{"second"})
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	assert.Equal(t, int64(1), q.Len())
	assert.Equal(t, []string{"second"}, release(q, &g, out, 1))
	wg.Wait()
}

// TestQueueStorm runs many waiters that are granted, time out or cancel at
// random, and checks the queue ends empty and every goroutine is gone.
func TestQueueStorm(t *testing.T) {
	base := goleak.IgnoreCurrent()
	q := NewQueue(QueueConfig{MaxSize: 50, MaxWait: 20 * time.Millisecond, Recheck: time.Millisecond})
	var g gate
	var wg sync.WaitGroup
	var served, refused atomic.Int64
	for i := range 400 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%7 == 0 {
				cancel()
			}
			tk := Ticket{Priority: Priority(i%3 - 1), Tenant: fmt.Sprint(i % 5), Group: fmt.Sprint(i % 2)}
			if _, err := q.Wait(ctx, tk, g.ready); err == nil {
				served.Add(1)
				g.tokens.Add(1) // done: capacity back
				q.Release()
			} else {
				refused.Add(1)
			}
		})
		if i%10 == 0 {
			g.tokens.Add(1)
			q.Release()
		}
	}
	wg.Wait()
	assert.Equal(t, int64(400), served.Load()+refused.Load())
	assert.Positive(t, served.Load())
	assert.Zero(t, q.Len())
	assert.Empty(t, q.groups)
	for _, lv := range q.levels {
		assert.Empty(t, lv.tenants)
	}
	goleak.VerifyNone(t, base)
}
