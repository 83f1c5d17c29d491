package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBucketsAreContiguous(t *testing.T) {
	t.Parallel()
	prevHi := uint64(0)
	for i := range histBuckets {
		lo, hi := bucketRange(i)
		require.Equal(t, prevHi, lo, "bucket %d starts where %d ended", i, i-1)
		require.Greater(t, hi, lo)
		require.Equal(t, i, bucketOf(lo), "lowest value of bucket %d", i)
		require.Equal(t, i, bucketOf(hi-1), "highest value of bucket %d", i)
		prevHi = hi
	}
	assert.Equal(t, uint64(maxValue+1), prevHi)
	assert.Equal(t, histBuckets-1, bucketOf(1<<62), "huge values clamp to the last bucket")
}

func TestQuantilesMatchExact(t *testing.T) {
	t.Parallel()
	// Each generator gets its own source: the subtests run in parallel.
	tests := []struct {
		name string
		gen  func(rng *rand.Rand) time.Duration
	}{
		{"uniform 50-500µs", func(rng *rand.Rand) time.Duration {
			return 50*time.Microsecond + time.Duration(rng.Int64N(int64(450*time.Microsecond)))
		}},
		{"exponential mean 2ms", func(rng *rand.Rand) time.Duration {
			return time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond))
		}},
		{"tiny 0-100ns", func(rng *rand.Rand) time.Duration { return time.Duration(rng.IntN(100)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(1, 2))
			var h histogram
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = tt.gen(rng)
				h.record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.5, 0.9, 0.99} {
				exact := vals[int(q*float64(len(vals)))-1]
				got := h.quantile(q)
				assert.InEpsilon(t, float64(exact)+1, float64(got)+1, 0.01, "q=%v exact=%v got=%v", q, exact, got)
			}
			assert.Equal(t, uint64(len(vals)), h.n)
			assert.Equal(t, vals[len(vals)-1], time.Duration(h.max))
		})
	}
}

func TestHistogramMerge(t *testing.T) {
	t.Parallel()
	var a, b, all histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.record(d)
		if i%2 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
	}
	var m histogram
	m.merge(&a)
	m.merge(&b)
	m.merge(&histogram{})
	assert.Equal(t, all, m)
	assert.Equal(t, time.Duration(0), (&histogram{}).quantile(0.5))
}

func TestParseMemStatus(t *testing.T) {
	t.Parallel()
	status := "Name:\tnexus-bench\nVmPeak:\t 1300000 kB\nVmHWM:\t   30000 kB\nVmRSS:\t   14000 kB\nThreads:\t7\n"
	m := parseMemStatus([]byte(status))
	assert.Equal(t, memStatus{RSS: 14000 << 10, Peak: 30000 << 10}, m)
	assert.Equal(t, memStatus{}, parseMemStatus([]byte("garbage")))
	assert.Equal(t, "n/a", mib(0))
	assert.Equal(t, "13.7 MiB", mib(14000<<10))
}
