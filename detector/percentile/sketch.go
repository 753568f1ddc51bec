package percentile

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// DefaultRelativeAccuracy is the relative error bound of a Sketch's
// percentiles.
const DefaultRelativeAccuracy = 0.01

// sketchMapping maps values to the logarithmic buckets of every Sketch. It
// is immutable, so all sketches share it, and sharing it is what lets them
// merge.
var sketchMapping = mustLogMapping(DefaultRelativeAccuracy)

func mustLogMapping(accuracy float64) *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(accuracy)
	if err != nil {
		panic(err) // a constant, valid accuracy
	}
	return m
}

// Sketch is a mergeable summary of many values: a DDSketch plus the exact
// count, minimum and maximum. The zero value is not usable: call NewSketch.
type Sketch struct {
	dd       *ddsketch.DDSketch
	count    uint64
	min, max float64
}

func newDD() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(sketchMapping, store.NewDenseStore(), store.NewDenseStore())
}

// NewSketch returns an empty sketch.
func NewSketch() *Sketch {
	return &Sketch{dd: newDD(), min: math.Inf(1), max: math.Inf(-1)}
}

// Add adds one value. NaN and infinities are ignored, and so are values
// beyond the range of the index mapping (about ±1.26e308).
func (s *Sketch) Add(v float64) {
	if !finite(v) || s.dd.Add(v) != nil {
		return
	}
	s.count++
	s.min, s.max = min(s.min, v), max(s.max, v)
}

// Merge adds every value of o into s. o must not be s.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil || o.count == 0 {
		return
	}
	_ = s.dd.MergeWith(o.dd) // cannot fail: every sketch has sketchMapping
	s.count += o.count
	s.min, s.max = min(s.min, o.min), max(s.max, o.max)
}

// Count returns the number of values added.
func (s *Sketch) Count() uint64 { return s.count }

// Quantile returns percentile p (0 to 100, clamped) by nearest rank: exact
// at p0 and p100, within DefaultRelativeAccuracy elsewhere. It returns NaN
// when the sketch is empty or p is NaN.
func (s *Sketch) Quantile(p float64) float64 {
	switch {
	case s.count == 0 || math.IsNaN(p):
		return math.NaN()
	case p <= 0:
		return s.min
	case p >= 100:
		return s.max
	}
	v := s.valueAtRank(rank(p, int(s.count)))
	return min(max(v, s.min), s.max)
}

// valueAtRank returns the bucket value of the value of 0-based rank r.
//
// It walks the stores itself rather than through
// DDSketch.GetValueAtQuantile, which takes a fraction q and recovers the
// rank as q x (n-1): float rounding there can land just below the integer
// rank and answer with the value one rank lower. Here the rank stays an
// integer, exact in a float64 up to 2^53.
func (s *Sketch) valueAtRank(r int) float64 {
	neg := s.dd.GetNegativeValueStore()
	negCount, zeroCount, x := neg.TotalCount(), s.dd.GetZeroCount(), float64(r)
	switch {
	case x < negCount: // the negative store counts magnitudes upward
		return -sketchMapping.Value(neg.KeyAtRank(negCount - 1 - x))
	case x < negCount+zeroCount:
		return 0
	}
	return sketchMapping.Value(s.dd.GetPositiveValueStore().KeyAtRank(x - negCount - zeroCount))
}
