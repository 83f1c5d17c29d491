//go:build !race

package limits

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHotPathAllocations: the per-request path allocates nothing, for
// limited and unlimited keys and for a refusal. (Not under -race, which
// changes allocation.)
func TestHotPathAllocations(t *testing.T) {
	keys := benchKeys(8)
	keys = append(keys, Key{Name: "legacy", Secret: "sk-legacy"},
		Key{Name: "tight", Secret: "sk-tight-0123456789abcdefghijklmnopqrstuvwxyz", RequestsPerMinute: 1, Models: []string{"*llama*"}})
	ring, err := New(keys)
	require.NoError(t, err)
	now := time.Now()
	for _, secret := range []string{keys[3].Secret, "sk-legacy", "sk-tight-0123456789abcdefghijklmnopqrstuvwxyz", "unknown"} {
		allocs := testing.AllocsPerRun(100, func() { hotPath(ring, secret) })
		assert.Zero(t, allocs, "secret %.12q…", secret)
	}
	p := principal(t, ring, "sk-tight-0123456789abcdefghijklmnopqrstuvwxyz")
	allocs := testing.AllocsPerRun(100, func() { _, _ = p.Acquire(now) })
	assert.Zero(t, allocs, "refusal")
}
