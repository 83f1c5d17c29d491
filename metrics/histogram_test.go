package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExplicitQuantile(t *testing.T) {
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
			h.add(&histPoint{count: sumCounts(tt.buckets), bounds: bounds, buckets: tt.buckets}, false)
			assert.InDelta(t, tt.want, h.quantile(tt.q), 1e-12)
		})
	}
}

// TestExplicitQuantileClampedToExtrema: one 1.1 ms sample in a 0–100 ms
// bucket interpolates to 50 ms; the recorded min and max pull it back.
func TestExplicitQuantileClampedToExtrema(t *testing.T) {
	t.Parallel()
	var h hist
	h.add(&histPoint{count: 1, sum: 0.0011, bounds: []float64{0.1, 1}, buckets: []uint64{1, 0, 0},
		min: 0.0011, max: 0.0011, hasMinMax: true}, false)
	assert.InDelta(t, 0.0011, h.quantile(0.5), 1e-12)
	assert.InDelta(t, 0.0011, h.quantile(0.95), 1e-12)
}

func TestHistAddMismatchedBounds(t *testing.T) {
	t.Parallel()
	var h hist
	h.add(&histPoint{count: 2, sum: 3, bounds: []float64{1, 2}, buckets: []uint64{1, 1, 0}}, false)
	h.add(&histPoint{count: 1, sum: 10, bounds: []float64{5}, buckets: []uint64{0, 1}}, false)   // different bounds
	h.add(&histPoint{count: 4, sum: 4}, true)                                                    // summary only
	h.add(&histPoint{count: 1, sum: 1, bounds: []float64{1, 2}, buckets: []uint64{1, 0}}, false) // malformed
	assert.Equal(t, uint64(8), h.count)
	assert.Equal(t, 18.0, h.sum)
	assert.Equal(t, []uint64{1, 1, 0}, h.buckets)
	assert.Equal(t, 2250.0, h.avgMs())
}

// expIndex returns the bucket index of v at scale (v in (base^i, base^(i+1)]).
func expIndex(v float64, scale int32) int32 {
	return int32(math.Ceil(math.Log2(v)*math.Exp2(float64(scale)))) - 1
}

func TestExpBucketsMergeAcrossScales(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		points    [][2]float64 // value, scale: one single-sample point each
		wantScale int32
	}{
		{"same scale", [][2]float64{{1.5, 4}, {1.6, 4}}, 4},
		{"lower scale wins", [][2]float64{{1.5, 6}, {3, 2}}, 2},
		{"wide range drops the scale", [][2]float64{{1e-6, 20}, {100, 20}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e expBuckets
			for _, p := range tt.points {
				s := int32(p[1])
				e.add(s, 0, expIndex(p[0], s), []uint64{1})
			}
			assert.Equal(t, tt.wantScale, e.scale)
			assert.LessOrEqual(t, len(e.counts), expMaxSize)
			assert.Equal(t, uint64(len(tt.points)), e.total())
			// Each value still lies in the bucket its merged index names.
			base := math.Exp2(math.Exp2(-float64(e.scale)))
			for _, p := range tt.points {
				i := expIndex(p[0], e.scale) - e.offset
				assert.Positive(t, e.counts[i], "value %v", p[0])
				assert.Greater(t, p[0], math.Pow(base, float64(e.offset+i))*(1-1e-9))
			}
		})
	}
}

func TestExpBucketsQuantile(t *testing.T) {
	t.Parallel()
	var e expBuckets
	assert.Zero(t, e.quantile(0.5), "empty")
	e.add(0, 2, 0, []uint64{0, 0, 0, 0}) // zeros only: no buckets
	assert.Zero(t, e.quantile(0.5))
	// Scale 0: bucket i is (2^i, 2^(i+1)]. Two zeros, then 2 in (1,2] and 4 in (4,8].
	e.add(0, 0, 0, []uint64{2, 0, 4})
	assert.Zero(t, e.quantile(0.25), "rank among the zeros")
	assert.InDelta(t, math.Exp2(0.5), e.quantile(0.375), 1e-12, "halfway through (1,2] in log space")
	assert.InDelta(t, 8, e.quantile(1), 1e-12)
}

func TestRound1(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 1234.6, round1(1234.5678))
	assert.Equal(t, 0.0, round1(math.NaN()))
	assert.Equal(t, 0.0, round1(math.Inf(1)))
}
