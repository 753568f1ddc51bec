package percentile

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
)

// sortedValues is the oracle: a sorted copy of the values, read by the
// definition of the nearest-rank percentile and nothing else.
type sortedValues []float64

// oracleOf sorts a copy of values.
func oracleOf(values []float64) sortedValues {
	return slices.Sorted(slices.Values(values))
}

// percentile returns the statistic named stat ("p99.9"): the value at rank
// ceil(p/100 x n), counting from 1, with p0 the first. The rank is computed
// in exact rational arithmetic from the decimal name, so binary rounding of
// p cannot move it.
func (s sortedValues) percentile(stat string) float64 {
	p, ok := new(big.Rat).SetString(stat[1:])
	if !ok {
		panic("oracle: bad statistic " + stat)
	}
	if len(s) == 0 {
		return math.NaN()
	}
	return s[ceilRank(p, len(s))-1]
}

// ceilRank returns ceil(p/100 x n), at least 1.
func ceilRank(p *big.Rat, n int) int {
	x := new(big.Rat).Mul(p, big.NewRat(int64(n), 100))
	r := new(big.Int).Quo(x.Num(), x.Denom()) // truncates; x >= 0
	if !x.IsInt() {
		r.Add(r, big.NewInt(1))
	}
	return max(int(r.Int64()), 1)
}

// A generator makes n values of one shape of fleet.
type generator struct {
	name string
	make func(r *rand.Rand, n int) []float64
}

// generators are the shapes the property tests run over. Each exists for a
// reason given beside it.
var generators = []generator{
	// Zeros: a fleet that reports nothing. The sketch keeps zeros in a bucket
	// of their own, outside its logarithmic ones.
	{"constant", func(_ *rand.Rand, n int) []float64 { return make([]float64, n) }},
	// 0..n-1 shuffled: every rank holds a different value, so an off-by-one
	// rank shows, and the input is not already sorted.
	{"linear", func(r *rand.Rand, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i)
		}
		r.Shuffle(n, func(i, j int) { v[i], v[j] = v[j], v[i] })
		return v
	}},
	// Centred on zero: the generator with negative values, and with values
	// close to zero where relative accuracy is hardest to keep.
	{"normal", func(r *rand.Rand, n int) []float64 { return fill(n, r.NormFloat64) }},
	// Heavy-tailed and positive, like bytes or message counts: the tail
	// percentiles are far from the median.
	{"lognormal", func(r *rand.Rand, n int) []float64 {
		return fill(n, func() float64 { return math.Exp(2 * r.NormFloat64()) })
	}},
	// One device gone wild among normal ones: p100 must be the outlier, and
	// the outlier must not drag the other percentiles.
	{"outlier", func(r *rand.Rand, n int) []float64 {
		v := fill(n, func() float64 { return 100 + 10*r.NormFloat64() })
		v[r.IntN(n)] = 1e12
		return v
	}},
	// Every value the same and not round: each percentile is that value, and
	// the sketch must return it exactly thanks to its minimum and maximum.
	{"all equal", func(r *rand.Rand, n int) []float64 {
		x := 1000 * r.Float64()
		return fill(n, func() float64 { return x })
	}},
	// Zero and one other value in random proportion: the percentile jumps
	// between them at one rank, the harshest test of the rank arithmetic.
	{"two distinct", func(r *rand.Rand, n int) []float64 {
		share := r.Float64()
		return fill(n, func() float64 {
			if r.Float64() < share {
				return 0
			}
			return 7
		})
	}},
}

// sizes are the population sizes the property tests run over: the smallest
// ones, where every rank rounds; 9, 10 and 11 around p90's and p10's exact
// ranks; 50, where p10's rank is not exact as a fraction of n-1; and the
// large ones up to ExactLimit, and just beyond it, where Of changes method.
var sizes = []int{1, 2, 9, 10, 11, 50, 100, 10_000, ExactLimit, ExactLimit + 1}

// fill returns n values drawn from next.
func fill(n int, next func() float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = next()
	}
	return v
}

// newRand returns a generator seeded from the test's coordinates, so a
// failure names its own reproduction.
func newRand(gen string, n int) *rand.Rand {
	var seed uint64
	for _, c := range fmt.Sprintf("%s/%d", gen, n) {
		seed = seed*31 + uint64(c)
	}
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// withinAccuracy reports whether got is within the sketch's relative
// accuracy of want. The bound gets a margin of 1e-9 of itself for float
// rounding at a bucket boundary, far below anything a reader would see.
func withinAccuracy(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= DefaultRelativeAccuracy*math.Abs(want)*(1+1e-9)
}
