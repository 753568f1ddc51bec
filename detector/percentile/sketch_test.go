package percentile

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// TestSketchMatchesOracle pins the sketch's promise at every statistic,
// generator and size: within DefaultRelativeAccuracy of the exact
// percentile, exact at p0 and p100, with the exact count; and the same
// answers, to the bit, after a merge of random parts and after a round trip
// through MarshalBinary, since both are lossless.
func TestSketchMatchesOracle(t *testing.T) {
	for _, g := range generators {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, n := range sizes {
				r := newRand(g.name, n)
				values := g.make(r, n)
				added := sketchOf(values)
				merged := mergedParts(r, values)
				sketches := map[string]*Sketch{
					"added":           added,
					"merged":          merged,
					"decoded":         roundTrip(t, added),
					"merged, decoded": roundTrip(t, merged),
				}
				sorted := oracleOf(values)
				for how, s := range sketches {
					checkAgainstOracle(t, how, n, s, sorted)
					checkSameAs(t, how, n, s, added)
				}
			}
		})
	}
}

// checkAgainstOracle checks s at every statistic against the oracle.
func checkAgainstOracle(t *testing.T, how string, n int, s *Sketch, sorted sortedValues) {
	t.Helper()
	if s.Count() != uint64(n) {
		t.Errorf("n=%d %s: Count = %d", n, how, s.Count())
	}
	prev := math.Inf(-1)
	for _, stat := range Statistics {
		p, _ := ParseStatistic(stat)
		got, want := s.Quantile(p), sorted.percentile(stat)
		exactEnd := (stat == "p0" || stat == "p100") && got != want
		if exactEnd || !withinAccuracy(got, want) {
			t.Errorf("n=%d %s %s: Quantile = %v, oracle %v", n, how, stat, got, want)
		}
		if got < prev {
			t.Errorf("n=%d %s %s: Quantile = %v, below the previous statistic's %v", n, how, stat, got, prev)
		}
		prev = got
	}
}

// checkSameAs checks that s answers exactly as want at every statistic.
func checkSameAs(t *testing.T, how string, n int, s, want *Sketch) {
	t.Helper()
	if s.Count() != want.Count() {
		t.Errorf("n=%d %s: Count = %d, want %d", n, how, s.Count(), want.Count())
	}
	for _, stat := range Statistics {
		p, _ := ParseStatistic(stat)
		if got, w := s.Quantile(p), want.Quantile(p); !same(got, w) {
			t.Errorf("n=%d %s %s: Quantile = %v, want %v", n, how, stat, got, w)
		}
	}
}

// sketchOf returns a sketch of values.
func sketchOf(values []float64) *Sketch {
	s := NewSketch()
	for _, v := range values {
		s.Add(v)
	}
	return s
}

// mergedParts deals values at random into 2 to 8 sketches and merges them.
// Small populations leave some parts empty, which must merge as nothing.
func mergedParts(r *rand.Rand, values []float64) *Sketch {
	parts := make([]*Sketch, 2+r.IntN(7))
	for i := range parts {
		parts[i] = NewSketch()
	}
	for _, v := range values {
		parts[r.IntN(len(parts))].Add(v)
	}
	merged := NewSketch()
	for _, p := range parts {
		merged.Merge(p)
	}
	return merged
}

// roundTrip returns s after MarshalBinary and UnmarshalBinary.
func roundTrip(t testing.TB, s *Sketch) *Sketch {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	decoded := NewSketch()
	if err := decoded.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary of MarshalBinary's output: %v", err)
	}
	return decoded
}

// TestSketchCountIgnoresNonFinite: NaN and ±Inf are not added, so the count
// is of measurements only and matches Exact's population.
func TestSketchCountIgnoresNonFinite(t *testing.T) {
	s := sketchOf([]float64{math.NaN(), 1, math.Inf(1), math.Inf(-1), 2})
	if s.Count() != 2 {
		t.Errorf("Count = %d, want 2", s.Count())
	}
}

// TestSketchMergeEdges: merging nothing changes nothing, and merging into an
// empty sketch copies, including the exact minimum and maximum.
func TestSketchMergeEdges(t *testing.T) {
	src := sketchOf([]float64{-3, 0, 5})
	s := NewSketch()
	s.Merge(nil)
	s.Merge(NewSketch())
	if s.Count() != 0 || !math.IsNaN(s.Quantile(50)) {
		t.Fatalf("merging nothing gave Count %d, p50 %v", s.Count(), s.Quantile(50))
	}
	s.Merge(src)
	checkSameAs(t, "merged into empty", 3, s, src)
	if s.Quantile(0) != -3 || s.Quantile(100) != 5 {
		t.Errorf("p0, p100 = %v, %v; want -3, 5", s.Quantile(0), s.Quantile(100))
	}
}

// TestSketchUnmarshalReplaces: decoding into a sketch that holds values
// replaces them; it is not a merge.
func TestSketchUnmarshalReplaces(t *testing.T) {
	src := sketchOf([]float64{1, 2, 3})
	b, _ := src.MarshalBinary()
	s := sketchOf([]float64{100, 200})
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	checkSameAs(t, "decoded over values", 3, s, src)
}

// TestSketchEmptyRoundTrip: an empty sketch encodes and decodes to an empty
// sketch, whose percentiles are NaN.
func TestSketchEmptyRoundTrip(t *testing.T) {
	s := roundTrip(t, NewSketch())
	if s.Count() != 0 || !math.IsNaN(s.Quantile(0)) || !math.IsNaN(s.Quantile(100)) {
		t.Errorf("Count %d, p0 %v, p100 %v", s.Count(), s.Quantile(0), s.Quantile(100))
	}
}

// TestSketchUnmarshalRejects lists encodings that are well formed enough to
// reach each check of the decoder and wrong in one way. A sketch decoded
// without error must answer as a built one would, so each is refused, and
// the receiver is left as it was.
func TestSketchUnmarshalRejects(t *testing.T) {
	one := func(dd *ddsketch.DDSketch) { _ = dd.Add(1) }
	cases := []struct {
		name string
		b    []byte
	}{
		// Shorter than the count, minimum and maximum.
		{"empty input", nil},
		{"truncated header", encodeRaw(1, 1, 1, one)[:10]},
		// DDSketch's own decoder ignores a store's errors and would keep a
		// truncated store; ours must not.
		{"truncated bins", encodeRaw(1, 1, 1, one)[:18]},
		// The header's count must be the bins' count: a lying count would
		// shift every rank.
		{"count above the bins", encodeRaw(2, 1, 1, one)},
		{"bins without a count", encodeRaw(0, math.Inf(1), math.Inf(-1), one)},
		// p0 and p100 come from the header; they must be numbers, in order,
		// and inside the extreme bins, or they would contradict the rest.
		{"NaN minimum", encodeRaw(1, math.NaN(), 1, one)},
		{"infinite maximum", encodeRaw(1, 1, math.Inf(1), one)},
		{"minimum above maximum", encodeRaw(1, 2, 1, one)},
		{"minimum outside the lowest bin", encodeRaw(1, 0.5, 1, one)},
		{"maximum outside the highest bin", encodeRaw(1, 1, 2, one)},
		{"empty with bounds", encodeRaw(0, 1, 1, nil)},
		// Bins a real sketch cannot have. An index beyond the float range
		// would make the dense store allocate for every index in between.
		{"bin beyond the float range", encodeRaw(1, 1, 1, bin(1<<40, 1))},
		{"negative bin", encodeRaw(1, 1, 1.03, bin(0, -1), bin(1, 2))},
		{"fractional bin", encodeRaw(1, 1, 1.03, bin(0, 0.5), bin(1, 0.5))},
		{"NaN bin", encodeRaw(1, 1, 1, bin(0, math.NaN()))},
		{"NaN zero count", encodeRaw(1, 0, 0, zeros(math.NaN()))},
		// A sketch of another accuracy cannot be merged with ours.
		{"other mapping", otherMapping()},
		// Fields of other DDSketch variants, such as their exact sum, or
		// bytes after ours, are not something MarshalBinary writes.
		{"unknown field", append(encodeRaw(1, 1, 1, one), 0x00)},
		{"trailing garbage", append(encodeRaw(1, 1, 1, one), 0xff)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := sketchOf([]float64{42})
			err := s.UnmarshalBinary(tc.b)
			if err == nil {
				t.Fatalf("accepted; Count %d, p50 %v", s.Count(), s.Quantile(50))
			}
			t.Logf("refused: %v", err)
			checkSameAs(t, "after a refused decode", 1, s, sketchOf([]float64{42}))
		})
	}
}

// TestSketchUnmarshalAcceptsMapping: MarshalBinary omits the index mapping,
// but an encoding that carries ours, as other DDSketch writers do, is the
// same sketch.
func TestSketchUnmarshalAcceptsMapping(t *testing.T) {
	src := sketchOf([]float64{-2, 0, 3})
	b := encodeRaw(src.count, src.min, src.max)
	src.dd.Encode(&b, false)
	s := NewSketch()
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	checkSameAs(t, "decoded with mapping", 3, s, src)
}

// encodeRaw writes the Sketch encoding of a header and a DDSketch built by
// the fill functions, without any of the checks Add makes.
func encodeRaw(count uint64, lo, hi float64, fills ...func(*ddsketch.DDSketch)) []byte {
	dd := ddsketch.NewDDSketch(sketchMapping, store.NewSparseStore(), store.NewSparseStore())
	for _, f := range fills {
		if f != nil {
			f(dd)
		}
	}
	s := &Sketch{dd: dd, count: count, min: lo, max: hi}
	b, _ := s.MarshalBinary()
	return b
}

// bin adds count at a raw index of the positive store.
func bin(index int, count float64) func(*ddsketch.DDSketch) {
	return func(dd *ddsketch.DDSketch) { dd.GetPositiveValueStore().AddWithCount(index, count) }
}

// zeros adds count to the zero bucket.
func zeros(count float64) func(*ddsketch.DDSketch) {
	return func(dd *ddsketch.DDSketch) { _ = dd.AddWithCount(0, count) }
}

// otherMapping encodes a one-value sketch of 2% accuracy, mapping included.
func otherMapping() []byte {
	m, _ := mapping.NewLogarithmicMapping(0.02)
	dd := ddsketch.NewDDSketch(m, store.NewDenseStore(), store.NewDenseStore())
	_ = dd.Add(1)
	b := encodeRaw(1, 1, 1)
	dd.Encode(&b, false)
	return b
}
