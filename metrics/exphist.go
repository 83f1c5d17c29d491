package metrics

import (
	"math"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Exponential histogram settings of the ManualReader. 160 buckets span any
// range of up to 2^(160/2^s) at scale s: a 1 ms–300 s spread keeps scale 3,
// whose buckets are 9% wide, so an interpolated quantile is within about
// 5% of the true value; narrower spreads are finer still.
const (
	expMaxSize  = 160
	expMaxScale = 20
	expMinScale = -10
)

// statsAggregation is the ManualReader's aggregation selector: base-2
// exponential histograms for every histogram, so /v1/stats percentiles are
// accurate, and the SDK default for everything else. The Prometheus
// exporter has its own reader and keeps the contract's explicit buckets.
func statsAggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if k == sdkmetric.InstrumentKindHistogram {
		return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: expMaxSize, MaxScale: expMaxScale}
	}
	return sdkmetric.DefaultAggregationSelector(k)
}

// expBuckets merges the positive buckets of exponential data points. Bucket
// index i at scale s counts values in (2^(i/2^s), 2^((i+1)/2^s)]. Points of
// different scales are merged at the smaller scale, and the scale drops
// further while the merged range would exceed expMaxSize buckets, as the
// SDK does when it records. The zero value is empty.
type expBuckets struct {
	scale     int32
	offset    int32
	counts    []uint64 // dense, counts[0] is index offset; nil when empty
	zeroCount uint64
}

func (e *expBuckets) total() uint64 { return e.zeroCount + sumCounts(e.counts) }

// add merges one point's zero count and positive buckets.
func (e *expBuckets) add(scale int32, zeroCount uint64, offset int32, counts []uint64) {
	e.zeroCount += zeroCount
	lo, hi := 0, len(counts)
	for lo < hi && counts[lo] == 0 {
		lo++
	}
	for hi > lo && counts[hi-1] == 0 {
		hi--
	}
	if lo == hi {
		return
	}
	counts = counts[lo:hi]
	pLo, pHi := int64(offset)+int64(lo), int64(offset)+int64(hi)-1
	if e.counts == nil {
		e.scale = scale
		for pHi-pLo+1 > expMaxSize && e.scale > expMinScale {
			e.scale--
			pLo, pHi = pLo>>1, pHi>>1
		}
		e.counts = make([]uint64, pHi-pLo+1)
		e.offset = int32(pLo)
		e.addAt(scale, offset+int32(lo), counts)
		return
	}
	s := min(e.scale, scale)
	eLo, eHi := int64(e.offset), int64(e.offset)+int64(len(e.counts))-1
	var nLo, nHi int64
	for {
		nLo = min(eLo>>(e.scale-s), pLo>>(scale-s))
		nHi = max(eHi>>(e.scale-s), pHi>>(scale-s))
		if nHi-nLo+1 <= expMaxSize || s <= expMinScale {
			break
		}
		s--
	}
	if s != e.scale || nLo < eLo || nHi > eHi {
		old, oldScale, oldOffset := e.counts, e.scale, e.offset
		e.scale, e.offset = s, int32(nLo)
		e.counts = make([]uint64, nHi-nLo+1)
		e.addAt(oldScale, oldOffset, old)
	}
	e.addAt(scale, offset+int32(lo), counts)
}

// addAt adds counts whose first index is first at scale (>= e.scale) into
// e's range, which must cover them.
func (e *expBuckets) addAt(scale, first int32, counts []uint64) {
	shift := scale - e.scale
	for i, c := range counts {
		idx := (int64(first) + int64(i)) >> shift
		e.counts[idx-int64(e.offset)] += c
	}
}

// quantile returns the q-quantile, interpolated exponentially inside the
// bucket holding the rank (the exact bucket edges are powers of the base).
// Ranks among the zeros return 0.
func (e *expBuckets) quantile(q float64) float64 {
	total := e.total()
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	if rank <= float64(e.zeroCount) {
		return 0
	}
	cum := float64(e.zeroCount)
	width := math.Exp2(-float64(e.scale)) // log2 of the base
	for i, c := range e.counts {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			idx := float64(int64(e.offset) + int64(i))
			return math.Exp2((idx + (rank-cum)/float64(c)) * width)
		}
		cum += float64(c)
	}
	return math.Exp2(float64(int64(e.offset)+int64(len(e.counts))) * width)
}
