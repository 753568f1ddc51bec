package percentile

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"
)

// FuzzSketchUnmarshalBinary feeds the decoder arbitrary bytes. Stored
// sketches are read back from disk and may be damaged, so decoding must
// never panic or allocate without bound; and whatever it accepts must behave
// as a sketch that Add built: ordered percentiles between the exact ends,
// and the same answers after another round trip and after a merge.
func FuzzSketchUnmarshalBinary(f *testing.F) {
	for _, values := range [][]float64{
		nil,
		{0},
		{-3, 0, 0, 5e-300, 7e300},
		generators[3].make(newRand("fuzz", 1000), 1000),
	} {
		b, _ := sketchOf(values).MarshalBinary()
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	one := func(dd *ddsketch.DDSketch) { _ = dd.Add(1) }
	f.Add(encodeRaw(2, 1, 1, one))
	f.Add(encodeRaw(1, 1, 1, bin(1<<40, 1)))
	f.Add(otherMapping())
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewSketch()
		if s.UnmarshalBinary(b) != nil {
			return
		}
		checkCoherent(t, s)
		again := roundTrip(t, s)
		checkSameAs(t, "decoded twice", int(s.Count()), again, s)
		merged := NewSketch()
		merged.Merge(s)
		checkSameAs(t, "merged", int(s.Count()), merged, s)
	})
}

// checkCoherent checks what any sketch must satisfy: NaN percentiles when
// empty, else percentiles nondecreasing in p from p0 to p100.
func checkCoherent(t *testing.T, s *Sketch) {
	t.Helper()
	prev := s.Quantile(0)
	if s.Count() == 0 {
		if !math.IsNaN(prev) || !math.IsNaN(s.Quantile(50)) {
			t.Fatalf("empty sketch answers %v, %v", prev, s.Quantile(50))
		}
		return
	}
	for _, stat := range Statistics[1:] {
		p, _ := ParseStatistic(stat)
		q := s.Quantile(p)
		if !(q >= prev) {
			t.Fatalf("%s = %v, below or beside the previous %v", stat, q, prev)
		}
		prev = q
	}
}

// FuzzExact checks the selection against the oracle on arbitrary floats,
// NaN and infinities included (both ignore them), at every statistic.
func FuzzExact(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	f.Add(floatBytes(3, 1, 2, math.NaN(), math.Inf(-1)), uint8(5))
	f.Add(floatBytes(linear(40)...), uint8(9))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		values := bytesFloats(b)
		stat := Statistics[int(which)%len(Statistics)]
		p, _ := ParseStatistic(stat)
		want := oracleOf(slices.DeleteFunc(slices.Clone(values), func(v float64) bool { return !finite(v) })).percentile(stat)
		if got := Exact(values, p); !same(got, want) {
			t.Fatalf("%s: Exact = %v, oracle %v", stat, got, want)
		}
	})
}

func floatBytes(values ...float64) []byte {
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func bytesFloats(b []byte) []float64 {
	values := make([]float64, len(b)/8)
	for i := range values {
		values[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return values
}
