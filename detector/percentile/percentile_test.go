package percentile

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"
)

// TestOfMatchesOracle pins the package's main promise: up to ExactLimit
// values, Of is the nearest-rank percentile exactly, for every statistic;
// beyond it, within the sketch's relative accuracy and exact at the ends.
func TestOfMatchesOracle(t *testing.T) {
	for _, g := range generators {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, n := range sizes {
				values := g.make(newRand(g.name, n), n)
				sorted := oracleOf(values)
				for _, stat := range Statistics {
					p, err := ParseStatistic(stat)
					if err != nil {
						t.Fatal(err)
					}
					want := sorted.percentile(stat)
					got := Of(slices.Clone(values), p)
					if !agrees(got, want, stat, n) {
						t.Errorf("n=%d %s: Of = %v, oracle %v", n, stat, got, want)
					}
				}
			}
		})
	}
}

// agrees reports whether Of's result got is acceptable for the oracle's
// want: equal up to ExactLimit and at the ends, else within accuracy.
func agrees(got, want float64, stat string, n int) bool {
	if n <= ExactLimit || stat == "p0" || stat == "p100" {
		return got == want
	}
	return withinAccuracy(got, want)
}

// edgeCases are the inputs the generators do not reach, each with the
// reason it exists. exact is what Exact and Of return; sketch is what a
// Sketch of the same values returns, within its accuracy.
var edgeCases = []struct {
	name          string
	values        []float64
	p             float64
	exact, sketch float64
}{
	// No population has no percentile: a threshold must never come from
	// nothing, and the sketch's internal ±Inf bounds must not leak.
	{"empty p0", nil, 0, math.NaN(), math.NaN()},
	{"empty p50", nil, 50, math.NaN(), math.NaN()},
	{"empty p100", nil, 100, math.NaN(), math.NaN()},
	// With one value every rank rounds up to 1, from p0.01 to p100.
	{"one value p0.01", []float64{7}, 0.01, 7, 7},
	{"one value p99.99", []float64{7}, 99.99, 7, 7},
	// NaN and ±Inf are not measurements: both methods ignore them, so p50
	// of these is p50 of {1, 2, 3} and Of means the same on both sides of
	// ExactLimit.
	{"non-finite ignored", []float64{math.NaN(), math.Inf(1), 1, math.Inf(-1), 3, 2}, 50, 2, 2},
	{"only non-finite", []float64{math.NaN(), math.Inf(1)}, 50, math.NaN(), math.NaN()},
	// The largest float below 100 still ranks at n: the rank rounding must
	// neither fall one short of the maximum nor step past the end.
	{"p just below 100", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, math.Nextafter(100, 0), 10, 10},
	// 99.9/100 x 1000 is 999.0000000000001 in binary arithmetic; the
	// nearest rank is 999, not the maximum.
	{"p99.9 of 1000", linear(1000), 99.9, 998, 998},
	// A sketch that recovers the rank r from q = r/(n-1) as q x (n-1)
	// answers one rank short: 4/49 x 49 is 3.9999999999999996 in binary,
	// and the 5th of 0..49 would read as 3.
	{"p10 of 50", linear(50), 10, 4, 4},
	// Thirteen values from 1e-6 to 1e6: the sketch's logarithmic buckets
	// keep 1% at every scale, where a linear histogram would merge the
	// small ones into zero.
	{"12 orders of magnitude p50", decades(-6, 6), 50, 1, 1},
	{"12 orders of magnitude p10", decades(-6, 6), 10, 1e-5, 1e-5},
	{"12 orders of magnitude negative p90", negate(decades(-6, 6)), 90, -1e-5, -1e-5},
	// Percentiles outside 0..100 clamp to the ends; NaN has no rank.
	{"p above 100", []float64{1, 2, 3}, 150, 3, 3},
	{"p below 0", []float64{1, 2, 3}, -1, 1, 1},
	{"p NaN", []float64{1, 2, 3}, math.NaN(), math.NaN(), math.NaN()},
	// Caveat: magnitudes below the smallest normal float (about 2.2e-308)
	// share the sketch's zero bucket, so there its error is absolute.
	{"subnormal counts as zero in the sketch", []float64{0, 1e-310, 1e-310}, 50, 1e-310, 0},
	// Caveat: the sketch cannot index beyond about ±1.7e308 and ignores such
	// values, so here its maximum is 1.
	{"beyond the sketch's range", []float64{1, math.MaxFloat64}, 100, math.MaxFloat64, 1},
}

func TestEdgeCases(t *testing.T) {
	for _, tc := range edgeCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Exact(slices.Clone(tc.values), tc.p); !same(got, tc.exact) {
				t.Errorf("Exact = %v, want %v", got, tc.exact)
			}
			if got := Of(slices.Clone(tc.values), tc.p); !same(got, tc.exact) {
				t.Errorf("Of = %v, want %v", got, tc.exact)
			}
			if got := sketchOf(tc.values).Quantile(tc.p); !withinAccuracy(got, tc.sketch) {
				t.Errorf("Sketch.Quantile = %v, want %v within %v", got, tc.sketch, DefaultRelativeAccuracy)
			}
		})
	}
}

// same is == except that NaN is the same as NaN.
func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func linear(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)
	}
	return v
}

// decades returns 10^from, 10^(from+1), ... 10^to.
func decades(from, to int) []float64 {
	var v []float64
	for e := from; e <= to; e++ {
		v = append(v, math.Pow10(e))
	}
	return v
}

func negate(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}

// TestRankOfDecimalStatistics pins the rank arithmetic against exact
// rationals for every statistic and every population up to 20,000: decimal
// percentiles such as 99.9 are not exact in binary, and a naive
// ceil(p/100 x n) lands one rank high whenever p x n is a multiple of 100.
func TestRankOfDecimalStatistics(t *testing.T) {
	for _, stat := range Statistics {
		p, _ := ParseStatistic(stat)
		exact, _ := new(big.Rat).SetString(stat[1:])
		for n := 1; n <= 20_000; n++ {
			want := ceilRank(exact, n) - 1
			if got := rank(p, n); got != want {
				t.Fatalf("rank(%s, %d) = %d, want %d", stat, n, got, want)
			}
		}
	}
}

// TestExactPermutes checks that Exact only reorders its input, as its doc
// says: callers may pass a slice they still need the values of.
func TestExactPermutes(t *testing.T) {
	values := generators[3].make(newRand("permutes", 1000), 1000)
	values[10] = math.NaN()
	work := slices.Clone(values)
	Exact(work, 90)
	slices.SortFunc(values, cmpBits)
	slices.SortFunc(work, cmpBits)
	if !slices.EqualFunc(values, work, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }) {
		t.Error("Exact lost or changed values")
	}
}

// cmpBits orders floats by their bits, a total order that also sorts NaN.
func cmpBits(a, b float64) int { return cmp.Compare(math.Float64bits(a), math.Float64bits(b)) }

// TestExactOnHardOrders runs the selection over input orders that break
// naive pivot choices (sorted, reversed, organ pipe, sawtooth, few distinct
// values) at every rank of small inputs and at spread ranks of a large one.
func TestExactOnHardOrders(t *testing.T) {
	orders := map[string]func(i, n int) float64{
		"sorted":     func(i, _ int) float64 { return float64(i) },
		"reversed":   func(i, n int) float64 { return float64(n - i) },
		"organ pipe": func(i, n int) float64 { return float64(min(i, n-1-i)) },
		"sawtooth":   func(i, _ int) float64 { return float64(i % 17) },
		"few values": func(i, _ int) float64 { return float64(i * 7919 % 3) },
		"interleave": func(i, n int) float64 { return float64(i%2*n + i) },
	}
	for name, f := range orders {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 5, 8, 13, 33, 64, 100_000} {
				values := make([]float64, n)
				for i := range values {
					values[i] = f(i, n)
				}
				sorted := slices.Sorted(slices.Values(values))
				for _, k := range ranksToCheck(n) {
					if got := selectRank(slices.Clone(values), k); got != sorted[k] {
						t.Fatalf("n=%d rank %d: got %v, want %v", n, k, got, sorted[k])
					}
				}
			}
		})
	}
}

// ranksToCheck returns every rank of a small population and a spread of
// ranks, ends included, of a large one.
func ranksToCheck(n int) []int {
	if n <= 64 {
		return linearInts(n)
	}
	return []int{0, 1, n / 1000, n / 10, n / 2, n - n/10, n - 2, n - 1}
}

func linearInts(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

func TestParseStatistic(t *testing.T) {
	for _, stat := range Statistics {
		p, err := ParseStatistic(stat)
		if err != nil || fmt.Sprintf("p%g", p) != stat {
			t.Errorf("ParseStatistic(%q) = %v, %v", stat, p, err)
		}
	}
	// Only AWS's names: a free-form percentile would make thresholds that
	// the console cannot show.
	for _, bad := range []string{"", "p", "p95", "p101", "P90", "90", "p-1", "pNaN", "p90 "} {
		if _, err := ParseStatistic(bad); err == nil {
			t.Errorf("ParseStatistic(%q) accepted", bad)
		}
	}
}
