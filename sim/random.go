package sim

import (
	"math/rand/v2"
	"time"
)

// stream names an independent sequence of random draws of the model. Each
// draw is keyed by the seed, its stream and what it is about (a thing and
// an interval, a factory and a day), never by the order of the calls: that
// is what makes the model a pure function of the thing and the time.
type stream uint64

const (
	streamThing stream = iota + 1
	streamTraffic
	streamReboot
	streamOutage
	streamIncident
	streamBurst
	streamGiven
	streamPorts
)

// day is the length of the periods over which incidents and outages are
// drawn; they are drawn per UTC day, counted from the Unix epoch.
const day = 24 * time.Hour

// rng returns the generator of the draws of stream s about (a, b).
func (f *Fleet) rng(s stream, a, b uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(f.opts.Seed, uint64(s)), mix(a, b)))
}

// mix combines two words into one, every input bit reaching every output bit.
func mix(a, b uint64) uint64 {
	return splitmix(splitmix(a) ^ (b + 0x9e3779b97f4a7c15))
}

// splitmix is the finalizer of the SplitMix64 generator.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// slotOf returns the number of the interval that holds t, counted from the
// Unix epoch.
func (f *Fleet) slotOf(t time.Time) int64 {
	return floorDiv(t.UnixMilli(), f.opts.Interval.Milliseconds())
}

// slotStart returns when interval k begins.
func (f *Fleet) slotStart(k int64) time.Time {
	return time.UnixMilli(k * f.opts.Interval.Milliseconds()).UTC()
}

// dayOf returns the number of the UTC day that holds t.
func dayOf(t time.Time) int64 { return floorDiv(t.UnixMilli(), day.Milliseconds()) }

// dayStart returns when day d begins.
func dayStart(d int64) time.Time { return time.UnixMilli(d * day.Milliseconds()).UTC() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// between draws a duration uniformly in [lo, hi), in whole minutes.
func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64((hi-lo)/time.Minute)))*time.Minute
}

// jitter draws a factor uniformly in [1-spread, 1+spread].
func jitter(r *rand.Rand, spread float64) float64 {
	return 1 + spread*(2*r.Float64()-1)
}
