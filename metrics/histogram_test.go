package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHistQuantile(t *testing.T) {
	t.Parallel()
	bounds := []float64{0.1, 0.5, 1}
	tests := []struct {
		name    string
		buckets []uint64
		q, want float64
	}{
		{"empty", []uint64{0, 0, 0, 0}, 0.5, 0},
		{"first bucket interpolates from 0", []uint64{4, 0, 0, 0}, 0.5, 0.05},
		{"middle bucket", []uint64{1, 2, 1, 0}, 0.5, 0.3},
		{"upper edge of a bucket", []uint64{2, 2, 0, 0}, 0.5, 0.1},
		{"rank in +Inf returns the highest bound", []uint64{0, 0, 1, 9}, 0.95, 1},
		{"skips empty buckets", []uint64{0, 0, 2, 0}, 0.5, 0.75},
		{"q=0 gives the lower edge of the first non-empty bucket", []uint64{0, 3, 0, 0}, 0, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h hist
			h.add(0, 0, bounds, tt.buckets)
			assert.InDelta(t, tt.want, h.quantile(tt.q), 1e-12)
		})
	}
}

func TestHistAddMismatchedBounds(t *testing.T) {
	t.Parallel()
	var h hist
	h.add(2, 3, []float64{1, 2}, []uint64{1, 1, 0})
	h.add(1, 10, []float64{5}, []uint64{0, 1})   // different bounds: count and sum only
	h.add(4, 4, nil, nil)                        // no buckets: count and sum only
	h.add(1, 1, []float64{1, 2}, []uint64{1, 0}) // malformed: count and sum only
	assert.Equal(t, uint64(8), h.count)
	assert.Equal(t, 18.0, h.sum)
	assert.Equal(t, []uint64{1, 1, 0}, h.buckets)
	assert.Equal(t, 2250.0, h.avgMs())
}

func TestRound1(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 1234.6, round1(1234.5678))
	assert.Equal(t, 0.0, round1(math.NaN()))
	assert.Equal(t, 0.0, round1(math.Inf(1)))
}
