package metrics

import (
	"math"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// hist accumulates the histogram data points of one instrument (or a
// subset of its series) from a ManualReader collection. The ManualReader
// aggregates histograms as base-2 exponential histograms (see
// statsAggregation), which give quantiles within a few percent; explicit
// bucket points are still understood, interpolated as PromQL's
// histogram_quantile does. Either estimate is clamped to the recorded
// minimum and maximum. The zero value is empty.
type hist struct {
	count uint64
	sum   float64

	// min and max are the extrema of the points that reported them;
	// hasMinMax is false until one did.
	min, max  float64
	hasMinMax bool

	// bounds and buckets hold merged explicit-bucket points (all points
	// of one instrument share bounds); buckets has len(bounds)+1 entries,
	// the last is +Inf. Nil when no explicit point was added.
	bounds  []float64
	buckets []uint64

	exp expBuckets
}

// histPoint is one histogram data point of either kind, converted to
// float64. Its slices belong to the collection and are copied by hist.add.
type histPoint struct {
	attrs     attribute.Set
	count     uint64
	sum       float64
	min, max  float64
	hasMinMax bool

	bounds  []float64 // explicit points
	buckets []uint64

	exponential bool // exponential points
	scale       int32
	zeroCount   uint64
	offset      int32
	counts      []uint64
}

// eachHistPoint calls fn for every data point of a histogram of either
// kind and number type, and reports whether data was a histogram at all.
func eachHistPoint(data metricdata.Aggregation, fn func(*histPoint)) bool {
	switch d := data.(type) {
	case metricdata.ExponentialHistogram[float64]:
		eachExp(d.DataPoints, fn)
	case metricdata.ExponentialHistogram[int64]:
		eachExp(d.DataPoints, fn)
	case metricdata.Histogram[float64]:
		eachExplicit(d.DataPoints, fn)
	case metricdata.Histogram[int64]:
		eachExplicit(d.DataPoints, fn)
	default:
		return false
	}
	return true
}

func eachExp[N int64 | float64](dps []metricdata.ExponentialHistogramDataPoint[N], fn func(*histPoint)) {
	var p histPoint
	for i := range dps {
		dp := &dps[i]
		p = histPoint{
			attrs: dp.Attributes, count: dp.Count, sum: float64(dp.Sum),
			exponential: true, scale: dp.Scale, offset: dp.PositiveBucket.Offset, counts: dp.PositiveBucket.Counts,
			// Negative values are never recorded (durations and token
			// counts are clamped at 0); were any present they would
			// count as zeros.
			zeroCount: dp.ZeroCount + sumCounts(dp.NegativeBucket.Counts),
		}
		setExtrema(&p, dp.Min, dp.Max)
		fn(&p)
	}
}

func eachExplicit[N int64 | float64](dps []metricdata.HistogramDataPoint[N], fn func(*histPoint)) {
	var p histPoint
	for i := range dps {
		dp := &dps[i]
		p = histPoint{attrs: dp.Attributes, count: dp.Count, sum: float64(dp.Sum), bounds: dp.Bounds, buckets: dp.BucketCounts}
		setExtrema(&p, dp.Min, dp.Max)
		fn(&p)
	}
}

func setExtrema[N int64 | float64](p *histPoint, lo, hi metricdata.Extrema[N]) {
	if v, ok := lo.Value(); ok {
		if w, ok := hi.Value(); ok {
			p.min, p.max, p.hasMinMax = float64(v), float64(w), true
		}
	}
}

// add merges a point: count and sum always, then its extrema and buckets.
// With summary set it merges count and sum only.
func (h *hist) add(p *histPoint, summary bool) {
	h.count += p.count
	h.sum += p.sum
	if summary || p.count == 0 {
		return
	}
	if p.hasMinMax {
		if !h.hasMinMax {
			h.min, h.max, h.hasMinMax = p.min, p.max, true
		} else {
			h.min, h.max = min(h.min, p.min), max(h.max, p.max)
		}
	}
	if p.exponential {
		h.exp.add(p.scale, p.zeroCount, p.offset, p.counts)
		return
	}
	h.addBuckets(p.bounds, p.buckets)
}

// addBuckets merges explicit buckets. A point whose bounds differ from
// earlier ones, or that is malformed, is left out of the quantiles.
func (h *hist) addBuckets(bounds []float64, buckets []uint64) {
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
// milliseconds.
func (h *hist) quantileMs(q float64) float64 {
	return round1(h.quantile(q) * 1000)
}

// quantile estimates the q-quantile: from the exponential buckets when
// there are any, else from the explicit buckets, clamped to [min, max].
func (h *hist) quantile(q float64) float64 {
	var v float64
	switch {
	case h.exp.total() > 0:
		v = h.exp.quantile(q)
	case sumCounts(h.buckets) > 0:
		v = explicitQuantile(h.bounds, h.buckets, q)
	default:
		return 0
	}
	if h.hasMinMax {
		v = min(max(v, h.min), h.max)
	}
	return v
}

// explicitQuantile follows PromQL's histogram_quantile: linear
// interpolation inside the bucket holding the rank, 0 as the lower edge of
// the first bucket, and the highest finite bound for ranks in the +Inf
// bucket.
func explicitQuantile(bounds []float64, buckets []uint64, q float64) float64 {
	total := sumCounts(buckets)
	if total == 0 || len(bounds) == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum uint64
	for i, c := range buckets {
		prev := cum
		cum += c
		if float64(cum) < rank || c == 0 {
			continue
		}
		if i == len(bounds) { // +Inf bucket
			return bounds[len(bounds)-1]
		}
		lower := 0.0
		if i > 0 {
			lower = bounds[i-1]
		}
		upper := bounds[i]
		return lower + (upper-lower)*(rank-float64(prev))/float64(c)
	}
	return bounds[len(bounds)-1]
}

func sumCounts(c []uint64) uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// round1 rounds to one decimal place.
func round1(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*10) / 10
}
