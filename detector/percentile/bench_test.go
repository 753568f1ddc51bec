package percentile

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchSizes are the fleet sizes a threshold is computed over: up to
// ExactLimit Of is exact; 1M goes through a sketch unless Exact is forced.
var benchSizes = []int{10_000, 100_000, 1_000_000}

// benchValues returns n lognormal values, the shape of byte and message
// counts, in random order.
func benchValues(n int) []float64 {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	return fill(n, func() float64 { return math.Exp(2 * r.NormFloat64()) })
}

func sizeName(n int) string {
	if n >= 1_000_000 {
		return fmt.Sprintf("n=%dM", n/1_000_000)
	}
	return fmt.Sprintf("n=%dk", n/1000)
}

// BenchmarkThreshold measures one statistical threshold: the percentile of
// a fleet's values, from a fresh copy of them each time (Of and Exact
// reorder their input, and a caller keeps its own). Copy is that copy alone;
// Sort is the sort-then-index method Exact replaced, for comparison.
func BenchmarkThreshold(b *testing.B) {
	for _, n := range benchSizes {
		values := benchValues(n)
		work := make([]float64, n)
		b.Run("Copy/"+sizeName(n), func(b *testing.B) {
			for b.Loop() {
				copy(work, values)
			}
		})
		b.Run("Sort/"+sizeName(n), func(b *testing.B) {
			for b.Loop() {
				copy(work, values)
				slices.Sort(work)
				_ = work[rank(90, n)]
			}
		})
		for _, stat := range Statistics {
			p, _ := ParseStatistic(stat)
			b.Run("Of/"+sizeName(n)+"/"+stat, func(b *testing.B) {
				for b.Loop() {
					copy(work, values)
					Of(work, p)
				}
			})
			if n > ExactLimit {
				b.Run("Exact/"+sizeName(n)+"/"+stat, func(b *testing.B) {
					for b.Loop() {
						copy(work, values)
						Exact(work, p)
					}
				})
			}
		}
	}
}

// BenchmarkSketchAdd measures adding one value.
func BenchmarkSketchAdd(b *testing.B) {
	values := benchValues(1 << 16)
	s := NewSketch()
	for i := 0; b.Loop(); i++ {
		s.Add(values[i&(len(values)-1)])
	}
}

// BenchmarkSketchMerge measures merging the sketches of an hour (12) and of
// a day (288) of five-minute windows, each of a fleet of 10,000 values,
// into a new sketch.
func BenchmarkSketchMerge(b *testing.B) {
	for _, windows := range []int{12, 288} {
		parts := make([]*Sketch, windows)
		for i := range parts {
			parts[i] = sketchOf(benchValues(10_000 + i))
		}
		b.Run(fmt.Sprintf("sketches=%d", windows), func(b *testing.B) {
			for b.Loop() {
				merged := NewSketch()
				for _, p := range parts {
					merged.Merge(p)
				}
			}
		})
	}
}

// BenchmarkSketchQuantile measures one percentile of a sketch of 1M values;
// the walk over the bins is longest for the highest percentiles.
func BenchmarkSketchQuantile(b *testing.B) {
	s := sketchOf(benchValues(1_000_000))
	for _, stat := range []string{"p1", "p50", "p99.99"} {
		p, _ := ParseStatistic(stat)
		b.Run(stat, func(b *testing.B) {
			for b.Loop() {
				s.Quantile(p)
			}
		})
	}
}

// BenchmarkSketchEncoding measures MarshalBinary and UnmarshalBinary of a
// sketch of 1M values, and reports the encoded size.
func BenchmarkSketchEncoding(b *testing.B) {
	s := sketchOf(benchValues(1_000_000))
	encoded, _ := s.MarshalBinary()
	b.Run("Marshal", func(b *testing.B) {
		for b.Loop() {
			_, _ = s.MarshalBinary()
		}
		b.ReportMetric(float64(len(encoded)), "encoded-bytes")
	})
	b.Run("Unmarshal", func(b *testing.B) {
		for b.Loop() {
			_ = NewSketch().UnmarshalBinary(encoded)
		}
	})
}
