package collect

import (
	"math"
	"testing"
	"time"
)

func TestCounterDelta(t *testing.T) {
	const limit = 1_000_000
	tests := []struct {
		name        string
		prev, cur   uint64
		limit, want uint64
	}{
		// Normal growth is the difference.
		{name: "growth", prev: 1000, cur: 1500, limit: limit, want: 500},
		// An idle interface grows by nothing.
		{name: "unchanged", prev: 1000, cur: 1000, limit: limit, want: 0},
		// A 32-bit counter wrapped: 2^32 - prev + cur.
		{name: "32-bit wrap", prev: math.MaxUint32 - 99, cur: 50, limit: limit, want: 150},
		// Landing exactly on zero after a wrap is still a wrap.
		{name: "wrap to zero", prev: math.MaxUint32, cur: 0, limit: limit, want: 1},
		// A small previous value cannot wrap to a smaller one within half the
		// 32-bit range: the counter was reset and counts from zero.
		{name: "reset", prev: 5_000_000, cur: 1200, limit: limit, want: 1200},
		// A counter beyond 32 bits never wraps at 2^32: a decrease is a reset.
		{name: "64-bit reset", prev: 10_000_000_000, cur: 500, limit: limit, want: 500},
		// The wrap reading must be shorter than half the range; exactly half
		// is read as a reset.
		{name: "half range is a reset", prev: 1 << 31, cur: 0, limit: math.MaxUint64, want: 0},
		{name: "just under half range is a wrap", prev: 1<<31 + 1, cur: 0, limit: math.MaxUint64, want: 1<<31 - 1},
		// Growth the link cannot carry is read as a reset; the current value
		// is then at least as implausible, so nothing counts.
		{name: "implausible growth", prev: 10, cur: 10 + limit + 1, limit: limit, want: 0},
		// Growth exactly at the limit is still plausible.
		{name: "growth at the limit", prev: 10, cur: 10 + limit, limit: limit, want: limit},
		// A reset to a value the link could not have carried counts nothing.
		{name: "implausible reset", prev: 5_000_000_000, cur: 2_000_000, limit: limit, want: 0},
		// A wrap whose growth is implausible is read as a reset instead.
		{name: "implausible wrap", prev: math.MaxUint32 - 2_000_000, cur: 10, limit: limit, want: 10},
		// The largest values never overflow.
		{name: "largest values", prev: math.MaxUint64, cur: math.MaxUint64 - 1, limit: math.MaxUint64, want: math.MaxUint64 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := counterDelta(tt.prev, tt.cur, tt.limit); got != tt.want {
				t.Errorf("counterDelta(%d, %d, %d) = %d, want %d", tt.prev, tt.cur, tt.limit, got, tt.want)
			}
		})
	}
}

// step is one Tracker update: the time since the previous one, the counters
// and the expected result.
type step struct {
	elapsed  time.Duration
	counters []InterfaceCounters
	want     NetworkDeltas
	first    bool
}

func TestTrackerUpdate(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		steps  []step
	}{
		{
			// The first sample is a baseline, flagged so the caller can omit
			// network statistics.
			name: "first sample is a baseline",
			steps: []step{
				{counters: ifc("eth0", 1000, 2000, 10, 20), first: true},
				{elapsed: 10 * time.Second, counters: ifc("eth0", 1500, 2600, 15, 26), want: NetworkDeltas{500, 600, 5, 6}},
			},
		},
		{
			// A host with no interface yet still has had its first sample.
			name: "first sample without interfaces",
			steps: []step{
				{first: true},
				{elapsed: 10 * time.Second, counters: ifc("eth0", 1000, 2000, 10, 20)},
				{elapsed: 10 * time.Second, counters: ifc("eth0", 1100, 2000, 11, 20), want: NetworkDeltas{BytesIn: 100, PacketsIn: 1}},
			},
		},
		{
			// Deltas of all interfaces are summed.
			name: "sum over interfaces",
			steps: []step{
				{counters: append(ifc("eth0", 0, 0, 0, 0), ifc("wlan0", 0, 0, 0, 0)...), first: true},
				{elapsed: 10 * time.Second, counters: append(ifc("eth0", 1, 2, 3, 4), ifc("wlan0", 10, 20, 30, 40)...), want: NetworkDeltas{11, 22, 33, 44}},
			},
		},
		{
			// A new interface's counters hold traffic from before the
			// interval; it counts from its second sample.
			name: "new interface is a baseline",
			steps: []step{
				{counters: ifc("eth0", 0, 0, 0, 0), first: true},
				{elapsed: 10 * time.Second, counters: append(ifc("eth0", 1, 1, 1, 1), ifc("wwan0", 900, 900, 9, 9)...), want: NetworkDeltas{1, 1, 1, 1}},
				{elapsed: 10 * time.Second, counters: append(ifc("eth0", 1, 1, 1, 1), ifc("wwan0", 1000, 950, 10, 10)...), want: NetworkDeltas{100, 50, 1, 1}},
			},
		},
		{
			// A vanished interface contributes nothing, and a returning one
			// is new again even if its counters kept growing.
			name: "vanished interface",
			steps: []step{
				{counters: append(ifc("eth0", 0, 0, 0, 0), ifc("wwan0", 500, 500, 5, 5)...), first: true},
				{elapsed: 10 * time.Second, counters: ifc("eth0", 10, 10, 1, 1), want: NetworkDeltas{10, 10, 1, 1}},
				{elapsed: 10 * time.Second, counters: append(ifc("eth0", 10, 10, 1, 1), ifc("wwan0", 800, 800, 8, 8)...)},
			},
		},
		{
			// A malformed source listing an interface twice must not double
			// its traffic; the first entry is used.
			name: "duplicate interface",
			steps: []step{
				{counters: append(ifc("eth0", 0, 0, 0, 0), ifc("eth0", 7, 7, 7, 7)...), first: true},
				{elapsed: 10 * time.Second, counters: append(ifc("eth0", 100, 100, 1, 1), ifc("eth0", 5, 5, 5, 5)...), want: NetworkDeltas{100, 100, 1, 1}},
			},
		},
		{
			// The limit scales with the elapsed time: 1000 bytes per second
			// allow 10000 bytes in ten seconds but not 10001.
			name:   "limit scales with time",
			limits: Limits{BytesPerSecond: 1000, PacketsPerSecond: 10},
			steps: []step{
				{counters: ifc("eth0", 0, 0, 0, 0), first: true},
				{elapsed: 10 * time.Second, counters: ifc("eth0", 10_000, 20_001, 100, 101), want: NetworkDeltas{BytesIn: 10_000, PacketsIn: 100}},
			},
		},
		{
			// A clock stepping backwards leaves a one-second allowance rather
			// than none.
			name:   "clock steps backwards",
			limits: Limits{BytesPerSecond: 1000, PacketsPerSecond: 10},
			steps: []step{
				{counters: ifc("eth0", 0, 0, 0, 0), first: true},
				{elapsed: -time.Hour, counters: ifc("eth0", 1000, 1001, 10, 11), want: NetworkDeltas{BytesIn: 1000, PacketsIn: 10}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, NewTracker(tt.limits), tt.steps)
		})
	}
}

func runSteps(t *testing.T, tr *Tracker, steps []step) {
	t.Helper()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range steps {
		now = now.Add(s.elapsed)
		got, first := tr.Update(now, s.counters)
		if got != s.want || first != s.first {
			t.Errorf("step %d: Update() = %+v, first %v; want %+v, first %v", i+1, got, first, s.want, s.first)
		}
	}
}

func ifc(name string, bytesIn, bytesOut, packetsIn, packetsOut uint64) []InterfaceCounters {
	return []InterfaceCounters{{Name: name, BytesIn: bytesIn, BytesOut: bytesOut, PacketsIn: packetsIn, PacketsOut: packetsOut}}
}

func TestScaleRate(t *testing.T) {
	tests := []struct {
		name      string
		perSecond uint64
		elapsed   time.Duration
		want      uint64
	}{
		{name: "one second", perSecond: DefaultBytesPerSecond, elapsed: time.Second, want: DefaultBytesPerSecond},
		{name: "fraction of a second", perSecond: 1000, elapsed: 1500 * time.Millisecond, want: 1500},
		{name: "a day at 100 Gbit/s", perSecond: DefaultBytesPerSecond, elapsed: 24 * time.Hour, want: DefaultBytesPerSecond * 86400},
		// The product overflows 64 bits; the cap saturates instead of wrapping.
		{name: "saturates", perSecond: math.MaxUint64, elapsed: time.Hour, want: math.MaxUint64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scaleRate(tt.perSecond, tt.elapsed); got != tt.want {
				t.Errorf("scaleRate(%d, %v) = %d, want %d", tt.perSecond, tt.elapsed, got, tt.want)
			}
		})
	}
}

func TestNetworkDeltasAddSaturates(t *testing.T) {
	a := NetworkDeltas{BytesIn: math.MaxUint64 - 1, BytesOut: 1}
	got := a.add(NetworkDeltas{BytesIn: 5, BytesOut: 2})
	if want := (NetworkDeltas{BytesIn: math.MaxUint64, BytesOut: 3}); got != want {
		t.Errorf("add() = %+v, want %+v", got, want)
	}
}
