// Package percentile computes the fleet percentiles behind statistical
// thresholds and fleet aggregations: exactly, by nearest rank, for the
// populations a sort handles quickly, and with a mergeable DDSketch
// (github.com/DataDog/sketches-go) for larger ones and for summaries that are
// stored and merged across windows.
//
// # Semantics
//
// The percentile p (0 to 100) of n values is the nearest-rank value: sort the
// values and take the one at rank ceil(p/100 x n), counting from 1; p0 is the
// smallest value and p100 the largest. So p90 of 10 values is the 9th
// smallest, and at least p% of the values are at or below it.
//
// A Sketch answers within 1% relative error (DefaultRelativeAccuracy) at
// every percentile, keeps the exact count, minimum and maximum (so p0 and p100
// are exact), and merges losslessly with other sketches.
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

// ExactLimit is the largest population whose percentiles are computed
// exactly; larger ones go through a Sketch.
const ExactLimit = 100_000

// rank returns the 0-based nearest-rank index of percentile p among n
// sorted values.
func rank(p float64, n int) int {
	if p <= 0 {
		return 0
	}
	r := int(math.Ceil(p / 100 * float64(n)))
	return min(max(r, 1), n) - 1
}

// Exact returns the nearest-rank percentile p of values. It sorts values in
// place. It returns NaN for no values.
func Exact(values []float64, p float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	slices.Sort(values)
	return values[rank(p, len(values))]
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
