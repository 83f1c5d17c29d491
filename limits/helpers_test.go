package limits

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// start is the fake clocks' starting time.
var start = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

// fakeClock is a clock that moves only when told to; safe for concurrent
// use.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock { return &fakeClock{} }

func (c *fakeClock) Now() time.Time          { return start.Add(time.Duration(c.ns.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// newRing builds a keyring on clock c, failing the test on error.
func newRing(t testing.TB, c *fakeClock, keys ...Key) *Keyring {
	t.Helper()
	ring, err := New(keys, WithClock(c.Now))
	require.NoError(t, err)
	return ring
}

// principal returns the principal of secret, failing the test if none.
func principal(t testing.TB, ring *Keyring, secret string) *Principal {
	t.Helper()
	p, ok := ring.Lookup(secret)
	require.True(t, ok, "no key for the secret")
	return p
}
