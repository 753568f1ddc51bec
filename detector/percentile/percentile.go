package percentile

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Statistics lists the statistics a statistical threshold may name, as AWS
// names them.
var Statistics = []string{"p0", "p0.01", "p0.1", "p1", "p10", "p50", "p90", "p99", "p99.9", "p99.99", "p100"}

// ParseStatistic reads a statistic ("p90") into its percentile (90). Only
// the names in Statistics are accepted.
func ParseStatistic(s string) (float64, error) {
	if !slices.Contains(Statistics, s) {
		return 0, fmt.Errorf("statistic %q is not one of %s", s, strings.Join(Statistics, ", "))
	}
	return strconv.ParseFloat(s[1:], 64)
}

// ExactLimit is the largest population whose percentiles Of computes
// exactly; larger ones go through a Sketch.
const ExactLimit = 100_000

// rankTolerance is how close, relative to it, p/100 x n must be to an
// integer to be taken as that integer: decimal percentiles are not exact in
// binary, and 99.9/100 x 1000 evaluates to 999.0000000000001. Only a p
// within a millionth of a millionth of a rank boundary can be misplaced by
// it, far below the precision any statistic is named with.
const rankTolerance = 1e-12

// rank returns the 0-based nearest-rank index of percentile p among n
// sorted values, p clamped to 0..100.
func rank(p float64, n int) int {
	if p <= 0 {
		return 0
	}
	x := p / 100 * float64(n)
	if r := math.Round(x); math.Abs(x-r) <= x*rankTolerance {
		x = r
	}
	return min(max(int(math.Ceil(x)), 1), n) - 1
}

// Exact returns the nearest-rank percentile p of the finite values. It
// reorders values in place. It returns NaN when there is no finite value or
// p is NaN.
func Exact(values []float64, p float64) float64 {
	v := finiteFirst(values)
	if len(v) == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	return selectRank(v, rank(p, len(v)))
}

// Of returns percentile p of values: exactly up to ExactLimit values, from a
// Sketch beyond. It may reorder values.
func Of(values []float64, p float64) float64 {
	if len(values) <= ExactLimit {
		return Exact(values, p)
	}
	s := NewSketch()
	for _, v := range values {
		s.Add(v)
	}
	return s.Quantile(p)
}
