package percentile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// DefaultRelativeAccuracy is the relative error bound of a Sketch's
// percentiles.
const DefaultRelativeAccuracy = 0.01

// Sketch is a mergeable summary of many values: a DDSketch plus the exact
// count, minimum and maximum. The zero value is not usable: call NewSketch.
type Sketch struct {
	dd       *ddsketch.DDSketch
	count    uint64
	min, max float64
}

func newDD() *ddsketch.DDSketch {
	m, err := mapping.NewLogarithmicMapping(DefaultRelativeAccuracy)
	if err != nil {
		panic(err) // a constant, valid accuracy
	}
	return ddsketch.NewDDSketch(m, store.NewDenseStore(), store.NewDenseStore())
}

// NewSketch returns an empty sketch.
func NewSketch() *Sketch {
	return &Sketch{dd: newDD(), min: math.Inf(1), max: math.Inf(-1)}
}

// Add adds one value; NaN and infinities are ignored.
func (s *Sketch) Add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if err := s.dd.Add(v); err != nil {
		return // outside the mapping's range (beyond ±1e308): not a metric value
	}
	s.count++
	s.min, s.max = min(s.min, v), max(s.max, v)
}

// Merge adds every value of o into s.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil || o.count == 0 {
		return
	}
	_ = s.dd.MergeWith(o.dd) // same mapping by construction
	s.count += o.count
	s.min, s.max = min(s.min, o.min), max(s.max, o.max)
}

// Count returns the number of values added.
func (s *Sketch) Count() uint64 { return s.count }

// Quantile returns percentile p (0 to 100): exact at p0 and p100, within the
// relative accuracy elsewhere. It returns NaN when the sketch is empty.
func (s *Sketch) Quantile(p float64) float64 {
	switch {
	case s.count == 0:
		return math.NaN()
	case p <= 0:
		return s.min
	case p >= 100:
		return s.max
	}
	// DDSketch ranks by q x (n-1); nearest rank is ceil(p/100 x n) - 1.
	q := float64(rank(p, int(s.count))) / float64(max(s.count-1, 1))
	v, err := s.dd.GetValueAtQuantile(min(q, 1))
	if err != nil {
		return math.NaN()
	}
	return min(max(v, s.min), s.max)
}

// MarshalBinary encodes the sketch: count, minimum and maximum, then the
// DDSketch's own encoding.
func (s *Sketch) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 64)
	b = binary.AppendUvarint(b, s.count)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.min))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.max))
	s.dd.Encode(&b, true)
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	count, n := binary.Uvarint(b)
	if n <= 0 || len(b) < n+16 {
		return errors.New("decode sketch: truncated header")
	}
	b = b[n:]
	fresh := NewSketch()
	fresh.count = count
	fresh.min = math.Float64frombits(binary.LittleEndian.Uint64(b))
	fresh.max = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	if err := fresh.dd.DecodeAndMergeWith(b[16:]); err != nil {
		return fmt.Errorf("decode sketch: %w", err)
	}
	*s = *fresh
	return nil
}
