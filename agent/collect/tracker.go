package collect

import (
	"math"
	"math/bits"
	"time"
)

// DefaultBytesPerSecond is the byte rate of a 100 Gbit/s link, the fastest
// growth a Tracker accepts for one counter when Limits leaves it zero.
const DefaultBytesPerSecond = 12_500_000_000

// DefaultPacketsPerSecond is about the packet rate of a 100 Gbit/s link
// carrying minimum-size Ethernet frames, the fastest growth a Tracker accepts
// for one packet counter when Limits leaves it zero.
const DefaultPacketsPerSecond = 150_000_000

// Limits bounds how fast one counter of one interface can plausibly grow.
// Growth beyond the limit over the elapsed time, or over one second if less
// time elapsed, is read as a counter reset.
type Limits struct {
	// BytesPerSecond bounds each byte counter; zero means
	// DefaultBytesPerSecond.
	BytesPerSecond uint64
	// PacketsPerSecond bounds each packet counter; zero means
	// DefaultPacketsPerSecond.
	PacketsPerSecond uint64
}

func (l Limits) withDefaults() Limits {
	if l.BytesPerSecond == 0 {
		l.BytesPerSecond = DefaultBytesPerSecond
	}
	if l.PacketsPerSecond == 0 {
		l.PacketsPerSecond = DefaultPacketsPerSecond
	}
	return l
}

// caps holds the largest plausible growth of each kind of counter over one
// interval.
type caps struct {
	bytes, packets uint64
}

// capsFor returns the limits scaled to elapsed, taken as at least a second so
// that a clock step backwards does not make every delta implausible.
func (l Limits) capsFor(elapsed time.Duration) caps {
	elapsed = max(elapsed, time.Second)
	return caps{
		bytes:   scaleRate(l.BytesPerSecond, elapsed),
		packets: scaleRate(l.PacketsPerSecond, elapsed),
	}
}

// scaleRate returns perSecond × elapsed, saturating at the largest uint64.
func scaleRate(perSecond uint64, elapsed time.Duration) uint64 {
	hi, lo := bits.Mul64(perSecond, uint64(elapsed))
	if hi >= uint64(time.Second) {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, uint64(time.Second))
	return q
}

// Tracker turns cumulative interface counters into the traffic between
// successive samples, following the rules in the package documentation.
// A Tracker is not safe for concurrent use.
type Tracker struct {
	limits   Limits
	previous map[string]InterfaceCounters
	lastTime time.Time
}

// NewTracker returns a Tracker that has seen no sample yet.
func NewTracker(limits Limits) *Tracker {
	return &Tracker{limits: limits.withDefaults()}
}

// Update records the counters observed at now and returns the traffic since
// the previous update, summed over interfaces. It reports first as true, with
// zero deltas, on the first update. Of an interface listed twice, the first
// entry is used.
func (t *Tracker) Update(now time.Time, counters []InterfaceCounters) (deltas NetworkDeltas, first bool) {
	current := byName(counters)
	if t.previous != nil {
		deltas = t.sum(current, t.limits.capsFor(now.Sub(t.lastTime)))
	}
	first = t.previous == nil
	t.previous, t.lastTime = current, now
	return deltas, first
}

// sum adds up the deltas of the interfaces present in both samples.
func (t *Tracker) sum(current map[string]InterfaceCounters, c caps) NetworkDeltas {
	var total NetworkDeltas
	for name, cur := range current {
		if prev, ok := t.previous[name]; ok {
			total = total.add(interfaceDelta(prev, cur, c))
		}
	}
	return total
}

func byName(counters []InterfaceCounters) map[string]InterfaceCounters {
	m := make(map[string]InterfaceCounters, len(counters))
	for _, c := range counters {
		if _, ok := m[c.Name]; !ok {
			m[c.Name] = c
		}
	}
	return m
}

func interfaceDelta(prev, cur InterfaceCounters, c caps) NetworkDeltas {
	return NetworkDeltas{
		BytesIn:    counterDelta(prev.BytesIn, cur.BytesIn, c.bytes),
		BytesOut:   counterDelta(prev.BytesOut, cur.BytesOut, c.bytes),
		PacketsIn:  counterDelta(prev.PacketsIn, cur.PacketsIn, c.packets),
		PacketsOut: counterDelta(prev.PacketsOut, cur.PacketsOut, c.packets),
	}
}

// counterDelta returns how much a counter grew from prev to cur: the
// difference, the growth across a 32-bit wrap, or, after a reset, cur. Growth
// above limit is read as a reset, and a reset to a value above limit as no
// growth at all.
func counterDelta(prev, cur, limit uint64) uint64 {
	d := cur
	switch {
	case cur >= prev:
		d = cur - prev
	case wrapped32(prev, cur):
		d = 1<<32 - prev + cur
	}
	if d <= limit {
		return d
	}
	if cur <= limit {
		return cur
	}
	return 0
}

// wrapped32 reports whether a decrease from prev to a smaller cur is a 32-bit
// wrap: prev fits in 32 bits and, in 32-bit serial number arithmetic
// (RFC 1982), cur lies less than half the range ahead of it.
func wrapped32(prev, cur uint64) bool {
	return prev <= math.MaxUint32 && 1<<32-prev+cur < 1<<31
}

// add returns the sum of d and e, saturating at the largest uint64.
func (d NetworkDeltas) add(e NetworkDeltas) NetworkDeltas {
	return NetworkDeltas{
		BytesIn:    saturatingAdd(d.BytesIn, e.BytesIn),
		BytesOut:   saturatingAdd(d.BytesOut, e.BytesOut),
		PacketsIn:  saturatingAdd(d.PacketsIn, e.PacketsIn),
		PacketsOut: saturatingAdd(d.PacketsOut, e.PacketsOut),
	}
}

func saturatingAdd(a, b uint64) uint64 {
	sum, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return sum
}
