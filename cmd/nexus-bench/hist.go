package main

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, in the manner of HDR histograms: values below
// 128 ns have a bucket each; above, every power of two is cut into 64 equal
// buckets, so a reported percentile is within 1/128 (0.8 %) of the true
// value. Recording is an index computation and an increment: no allocation,
// no lock (each worker owns its histograms; they are merged at the end).
const (
	subBits  = 6
	subCount = 1 << subBits
	// maxValue caps recorded values at about 18 minutes.
	maxBits     = 40
	maxValue    = 1<<maxBits - 1
	maxShift    = maxBits - subBits - 1
	histBuckets = (maxShift + 2) * subCount
)

// histogram records durations in nanoseconds.
type histogram struct {
	counts   [histBuckets]uint32
	n        uint64
	sum      uint64
	min, max uint64
}

// bucketOf returns the index of the bucket holding v.
func bucketOf(v uint64) int {
	if v > maxValue {
		v = maxValue
	}
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift*subCount + int(v>>shift)
}

// bucketRange returns the half-open range [lo, hi) of values in bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 2*subCount {
		return uint64(i), uint64(i) + 1
	}
	shift := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return m << shift, (m + 1) << shift
}

// record adds one duration.
func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// merge adds every value of o to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile returns the value at quantile q (0 < q <= 1): the middle of the
// bucket holding the ceil(q*n)-th smallest value, kept within [min, max].
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			lo, hi := bucketRange(i)
			mid := lo + (hi-lo)/2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// mean returns the average value.
func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// summary is the printed digest of a histogram.
type summary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	Mean  float64 `json:"mean_us"`
	Max   float64 `json:"max_us"`
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// summarize digests h.
func (h *histogram) summarize() summary {
	return summary{
		Count: h.n,
		P50:   micros(h.quantile(0.50)),
		P90:   micros(h.quantile(0.90)),
		P99:   micros(h.quantile(0.99)),
		Mean:  micros(h.mean()),
		Max:   micros(time.Duration(h.max)),
	}
}
