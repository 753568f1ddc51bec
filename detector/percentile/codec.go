package percentile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	enc "github.com/DataDog/sketches-go/ddsketch/encoding"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// maxCount bounds a decoded count: bin counts are float64s, and below 2^52
// their sums are exact, so the count check cannot be fooled by rounding.
const maxCount = 1 << 52

// MarshalBinary encodes the sketch: the count as a uvarint, the minimum and
// maximum as little-endian float64 bits, then the DDSketch encoding of the
// bins, without the index mapping (always that of DefaultRelativeAccuracy).
func (s *Sketch) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 64)
	b = binary.AppendUvarint(b, s.count)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.min))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.max))
	s.dd.Encode(&b, true)
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, replacing the sketch's
// values. It refuses, leaving the sketch as it was, any input that no Sketch
// could have produced: truncated or unknown content, another index mapping,
// a bin count that is not a whole number or a bin index beyond the finite
// floats, a count that is not the bins' total, or a minimum or maximum that
// is not a number inside the extreme bins.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	h, rest, err := decodeHeader(b)
	if err != nil {
		return fmt.Errorf("decode sketch: %w", err)
	}
	bins, err := decodeBins(rest)
	if err != nil {
		return fmt.Errorf("decode sketch bins: %w", err)
	}
	if err := h.check(bins); err != nil {
		return fmt.Errorf("decode sketch: %w", err)
	}
	fresh := &Sketch{dd: newDD(), count: h.count, min: h.min, max: h.max}
	_ = fresh.dd.MergeWith(bins) // same mapping
	*s = *fresh
	return nil
}

// header is what a Sketch keeps exactly, beside its bins.
type header struct {
	count    uint64
	min, max float64
}

func decodeHeader(b []byte) (header, []byte, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || len(b) < n+16 {
		return header{}, nil, errors.New("truncated header")
	}
	b = b[n:]
	h := header{
		count: count,
		min:   math.Float64frombits(binary.LittleEndian.Uint64(b)),
		max:   math.Float64frombits(binary.LittleEndian.Uint64(b[8:])),
	}
	return h, b[16:], nil
}

// decodeBins decodes a DDSketch encoding into sparse stores, so that no
// index, however far, allocates more than its own entry, and checks each
// bin. It decodes flag by flag itself because DDSketch.DecodeAndMergeWith
// ignores errors from the stores and would accept a truncated store.
func decodeBins(b []byte) (*ddsketch.DDSketch, error) {
	dd := ddsketch.NewDDSketch(sketchMapping, store.NewSparseStore(), store.NewSparseStore())
	for len(b) > 0 {
		if err := decodeField(&b, dd); err != nil {
			return nil, err
		}
	}
	if err := checkStore(dd.GetPositiveValueStore()); err != nil {
		return nil, fmt.Errorf("positive values: %w", err)
	}
	if err := checkStore(dd.GetNegativeValueStore()); err != nil {
		return nil, fmt.Errorf("negative values: %w", err)
	}
	return dd, nil
}

// decodeField decodes one flag and its content into dd.
func decodeField(b *[]byte, dd *ddsketch.DDSketch) error {
	flag, err := enc.DecodeFlag(b)
	if err != nil {
		return err
	}
	switch {
	case flag.Type() == enc.FlagTypePositiveStore:
		return store.DecodeAndMergeWith(dd.GetPositiveValueStore(), b, flag.SubFlag())
	case flag.Type() == enc.FlagTypeNegativeStore:
		return store.DecodeAndMergeWith(dd.GetNegativeValueStore(), b, flag.SubFlag())
	case flag.Type() == enc.FlagTypeIndexMapping:
		return checkMapping(b, flag)
	case flag == enc.FlagZeroCountVarFloat:
		return decodeZeroCount(b, dd)
	}
	return errors.New("unknown field")
}

func checkMapping(b *[]byte, flag enc.Flag) error {
	m, err := mapping.Decode(b, flag)
	if err != nil {
		return err
	}
	if !m.Equals(sketchMapping) {
		return errors.New("index mapping is not that of DefaultRelativeAccuracy")
	}
	return nil
}

func decodeZeroCount(b *[]byte, dd *ddsketch.DDSketch) error {
	n, err := enc.DecodeVarfloat64(b)
	if err != nil {
		return err
	}
	if !wholeCount(n) {
		return fmt.Errorf("zero count %v is not a count", n)
	}
	return dd.AddWithCount(0, n)
}

// Bin indices of finite values lie between these.
var (
	lowestIndex  = sketchMapping.Index(sketchMapping.MinIndexableValue())
	highestIndex = sketchMapping.Index(sketchMapping.MaxIndexableValue())
)

// checkStore checks that every bin has a whole count and the index of a
// finite value.
func checkStore(st store.Store) (err error) {
	st.ForEach(func(index int, count float64) bool {
		switch {
		case index < lowestIndex || index > highestIndex:
			err = fmt.Errorf("bin index %d is beyond the finite floats", index)
		case !wholeCount(count):
			err = fmt.Errorf("bin %d has count %v", index, count)
		}
		return err != nil
	})
	return err
}

// wholeCount reports whether n is a possible count of values in a bin.
func wholeCount(n float64) bool { return n >= 1 && n <= maxCount && n == math.Trunc(n) }

// check reports whether the header agrees with the bins.
func (h header) check(bins *ddsketch.DDSketch) error {
	if h.count > maxCount || float64(h.count) != bins.GetCount() {
		return fmt.Errorf("count %d is not the bins' total %v", h.count, bins.GetCount())
	}
	if h.count == 0 {
		// An empty sketch's bounds are the identities of min and max;
		// anything else would leak into the first values added after.
		if h.min != math.Inf(1) || h.max != math.Inf(-1) {
			return errors.New("empty sketch with bounds")
		}
		return nil
	}
	return h.checkBounds(bins)
}

// checkBounds checks the exact minimum and maximum against the bins that
// should hold them.
func (h header) checkBounds(bins *ddsketch.DDSketch) error {
	if !finite(h.min) || !finite(h.max) || h.min > h.max {
		return fmt.Errorf("bounds %v..%v are not an interval", h.min, h.max)
	}
	lo, _ := bins.GetMinValue()
	hi, _ := bins.GetMaxValue()
	if !inBin(h.min, lo) || !inBin(h.max, hi) {
		return fmt.Errorf("bounds %v..%v are outside the bins %v..%v", h.min, h.max, lo, hi)
	}
	return nil
}

// inBin reports whether v belongs to the bin whose value is rep: within
// the relative accuracy of v (with a margin of 1e-9 of it for float
// rounding at a bin boundary), or in the zero bucket.
func inBin(v, rep float64) bool {
	if rep == 0 {
		return math.Abs(v) <= sketchMapping.MinIndexableValue()
	}
	return math.Abs(v-rep) <= DefaultRelativeAccuracy*math.Abs(v)*(1+1e-9)
}
