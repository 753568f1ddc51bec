package fleetstats_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/percentile"
)

// generators make a fleet's values in one window. Each exists for a reason
// given beside it.
var generators = []struct {
	name string
	gen  func(r *rand.Rand, i int) float64
}{
	// The plain case.
	{"uniform", func(r *rand.Rand, _ int) float64 { return r.Float64() * 1000 }},
	// Traffic counters: a heavy tail over many orders of magnitude, where
	// relative (not absolute) accuracy matters.
	{"pareto bytes", func(r *rand.Rand, _ int) float64 { return math.Floor(100 / math.Pow(1-r.Float64(), 1.5)) }},
	{"lognormal", func(r *rand.Rand, _ int) float64 { return math.Exp(r.NormFloat64() * 3) }},
	// Port and connection counts: few distinct integers, so ranks fall on
	// long runs of ties.
	{"small integers", func(r *rand.Rand, _ int) float64 { return float64(r.IntN(8)) }},
	// Idle devices report 0, which sketches keep in a bucket of its own.
	{"mostly zeros", func(r *rand.Rand, _ int) float64 {
		if r.IntN(10) < 8 {
			return 0
		}
		return r.ExpFloat64() * 50
	}},
	// Custom number metrics may be negative; negative values are kept in a
	// store of their own, counted downward.
	{"signed", func(r *rand.Rand, _ int) float64 { return r.NormFloat64() * 100 }},
	// One value for the whole fleet: every percentile is that value.
	{"constant", func(*rand.Rand, int) float64 { return 42 }},
	// Sorted input, in case arrival order mattered.
	{"increasing", func(_ *rand.Rand, i int) float64 { return float64(i) }},
}

// sizes of fleets: 1 and 2 make every nearest rank an edge; 100_000 is the
// scale the design targets per profile.
var sizes = []int{1, 2, 3, 10, 101, 1000, 10_000, 100_000}

// withinAccuracy reports whether got is within the sketch's relative
// accuracy of want (with a hair of float slack).
func withinAccuracy(got, want float64) bool {
	return math.Abs(got-want) <= percentile.DefaultRelativeAccuracy*math.Abs(want)*(1+1e-9)
}

// TestAccuracy checks every statistic of a window's summary, through Add,
// Tick and Series, against the exact nearest-rank percentile of the same
// values: within 1% everywhere, exact at p0 and p100.
func TestAccuracy(t *testing.T) {
	stats := percentile.Statistics
	for _, g := range generators {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", g.name, n), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(n), 7))
				a := newAggregator(t, fleetstats.Options{})
				values := make([]float64, n)
				for i := range values {
					values[i] = g.gen(r, i)
					a.Add("prof", "m", thingNames[i], t0.Add(time.Duration(i%300)*time.Second), values[i], false)
				}
				tick(t, a, t0.Add(min5+grace))
				p := only(t, a, t0, fleetstats.Period5m, stats...)
				if p.Devices != uint64(n) {
					t.Fatalf("devices %d, want %d", p.Devices, n)
				}
				checkStatistics(t, p, values)
			})
		}
	}
}

// TestHourAccuracy checks an hour, merged from its windows, against the
// exact percentiles of every device value of the hour.
func TestHourAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := newAggregator(t, fleetstats.Options{})
	var values []float64
	for w := range 12 {
		for d := range 500 + 100*w { // the fleet grows during the hour
			v := math.Exp(r.NormFloat64()*2) * float64(w+1)
			values = append(values, v)
			a.Add("prof", "m", fmt.Sprint("dev-", d), t0.Add(time.Duration(w)*min5), v, false)
		}
	}
	tick(t, a, t0.Add(time.Hour+grace))
	p := only(t, a, t0, fleetstats.Period1h, percentile.Statistics...)
	if p.Devices != 1600 || p.Samples != uint64(len(values)) {
		t.Errorf("devices %d samples %d, want 1600 and %d", p.Devices, p.Samples, len(values))
	}
	checkStatistics(t, p, values)
}

func checkStatistics(t *testing.T, p fleetstats.Point, values []float64) {
	t.Helper()
	for _, name := range percentile.Statistics {
		pct, _ := percentile.ParseStatistic(name)
		want := percentile.Exact(values, pct)
		got, ok := p.Values[name]
		exact := pct == 0 || pct == 100
		if !ok || (exact && got != want) || (!exact && !withinAccuracy(got, want)) {
			t.Errorf("%s = %v, want %v (exact: %v)", name, got, want, exact)
		}
	}
}
