package metrics

import (
	"math"
	"slices"
)

// hist accumulates explicit-bucket histogram data points that share bucket
// bounds (all points of one instrument do).
type hist struct {
	count   uint64
	sum     float64
	bounds  []float64
	buckets []uint64 // len(bounds)+1, the last is +Inf
}

// add merges one data point. A point whose bounds differ from earlier ones
// (only possible if a view changed them mid-flight) adds to count and sum
// only.
func (h *hist) add(count uint64, sum float64, bounds []float64, buckets []uint64) {
	h.count += count
	h.sum += sum
	if len(buckets) != len(bounds)+1 {
		return
	}
	if h.buckets == nil {
		h.bounds = slices.Clone(bounds)
		h.buckets = make([]uint64, len(buckets))
	} else if !slices.Equal(h.bounds, bounds) {
		return
	}
	for i, c := range buckets {
		h.buckets[i] += c
	}
}

// avgMs returns the mean of values recorded in seconds, in milliseconds.
func (h *hist) avgMs() float64 {
	if h.count == 0 {
		return 0
	}
	return round1(h.sum / float64(h.count) * 1000)
}

// quantileMs estimates the q-quantile of values recorded in seconds, in
// milliseconds, by PromQL's histogram_quantile rules: linear interpolation
// inside the bucket holding the rank, 0 as the lower edge of the first
// bucket, and the highest finite bound for ranks in the +Inf bucket.
func (h *hist) quantileMs(q float64) float64 {
	return round1(h.quantile(q) * 1000)
}

func (h *hist) quantile(q float64) float64 {
	var total uint64
	for _, c := range h.buckets {
		total += c
	}
	if total == 0 || len(h.bounds) == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum uint64
	for i, c := range h.buckets {
		prev := cum
		cum += c
		if float64(cum) < rank || c == 0 {
			continue
		}
		if i == len(h.bounds) { // +Inf bucket
			return h.bounds[len(h.bounds)-1]
		}
		lower := 0.0
		if i > 0 {
			lower = h.bounds[i-1]
		}
		upper := h.bounds[i]
		return lower + (upper-lower)*(rank-float64(prev))/float64(c)
	}
	return h.bounds[len(h.bounds)-1]
}

// round1 rounds to one decimal place.
func round1(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*10) / 10
}
