package detector

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// TestNearestRank checks that the engine takes the statistic of a
// window's population by nearest rank: the value of rank ceil(p/100 x n),
// counting from 1. p99.9 of 1000 devices is the 999th smallest value, though
// 99.9/100 x 1000 is a little over 999 in binary floating point; p0.01 of
// 1000 is the smallest, p50 of 1000 the 500th.
func TestNearestRank(t *testing.T) {
	for _, tc := range []struct {
		statistic string
		want      float64
	}{{"p99.9", 999}, {"p99.99", 1000}, {"p99", 990}, {"p90", 900}, {"p50", 500}, {"p10", 100}, {"p1", 10}, {"p0.1", 1}, {"p0.01", 1}} {
		// Devices above the statistic violate the first behavior, those
		// below it the second: some event says the threshold.
		e := newTestEngine(t, Profile{Name: "p1", Behaviors: behaviors(t, `[
			{"name":"lte","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"`+tc.statistic+`"}}},
			{"name":"gte","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"greater-than-equals","statisticalThreshold":{"statistic":"`+tc.statistic+`"}}}]`)})
		rng := rand.New(rand.NewPCG(7, 8))
		for _, i := range rng.Perm(1000) { // values 1 to 1000, reported in no order
			e.Observe(at(1), fmt.Sprintf("d%04d", i), []string{"p1"}, bytesOut(float64(i+1)))
		}
		got := e.Tick(at(6))
		if len(got) == 0 {
			t.Errorf("%s of 1 ... 1000: no event", tc.statistic)
		}
		for _, ev := range got {
			if th := ev.Threshold; th.Value != tc.want || th.Population != 1000 {
				t.Fatalf("%s of 1 ... 1000: %s against %+v, want %v of 1000", tc.statistic, ev, th, tc.want)
			}
		}
	}
}

// statProfile compares each device's bytes out with the p50 of its peers.
func statProfile(t *testing.T) Profile {
	return Profile{Name: "p1", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out","criteria":
		{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p50"}}}]`)}
}

func bytesOut(n float64) []Datapoint {
	return []Datapoint{{Metric: MetricBytesOut, Value: Value{Kind: KindCount, Number: n}}}
}

// TestTickOrder checks that the alarms of one window go in force in thing
// name order, with violation ids made in that order, whatever the order in
// which the engine holds its things.
func TestTickOrder(t *testing.T) {
	names := make([]string, 20)
	for i := range names {
		names[i] = fmt.Sprintf("%c-%02d", 'z'-i%5, i) // reporting order is not name order
	}
	var first string
	for run := range 5 {
		e := newTestEngine(t, statProfile(t))
		for i, name := range names {
			e.Observe(at(1), name, []string{"p1"}, bytesOut(float64(i)))
		}
		got := e.Tick(at(6))
		var lines []string
		for i, ev := range got {
			lines = append(lines, ev.Thing+" "+ev.ViolationID)
			if ev.ViolationID != fmt.Sprintf("id%d", i+1) || i > 0 && got[i-1].Thing >= ev.Thing {
				t.Errorf("run %d: event %d is %s %s, want id%d in thing name order", run, i, ev.Thing, ev.ViolationID, i+1)
			}
		}
		if all := strings.Join(lines, ", "); run == 0 {
			first = all
		} else if all != first {
			t.Errorf("run %d: %s, first run: %s", run, all, first)
		}
		if len(got) != 10 { // values 0 to 19: p50 is 9, so 10 to 19 violate
			t.Errorf("run %d: %d events, want 10", run, len(got))
		}
	}
}

// TestStatisticalState checks what persistence keeps of a statistical
// behavior: the pending window with its value, the open window, and the
// threshold of the last violation, through JSON; and that a state saved
// before these fields existed still loads.
func TestStatisticalState(t *testing.T) {
	e := newTestEngine(t, statProfile(t))
	things := make([]string, 10)
	for i := range things {
		things[i] = fmt.Sprintf("d%02d", i)
		e.Observe(at(1), things[i], []string{"p1"}, bytesOut(float64(100*i)))
	}
	e.Tick(at(6)) // p50 of 0 ... 900 is 400: d05 to d09 go in alarm
	e.Observe(at(11), "d09", []string{"p1"}, bytesOut(700))
	e.Observe(at(12), "d09", []string{"p1"}, bytesOut(50))
	e.Observe(at(16), "d09", []string{"p1"}, bytesOut(30)) // 10m-15m waits: 750
	got := saved(t, e, "d09")
	threshold := &proto.ThresholdInfo{Statistic: "p50", Value: 400, Population: 10}
	want := ThingState{Thing: "d09", LastSeen: at(16), Alarms: []Alarm{{Profile: "p1", Behavior: "out", Violations: 1, Active: true,
		ViolationID: "id5", Start: at(5), LastViolationTime: at(5), LastValue: &Value{Kind: KindCount, Number: 900}, LastThreshold: threshold,
		WindowOpen: true, WindowStart: at(15), WindowValue: 30, PendingStart: at(10), PendingValue: 750}}}
	checkState(t, got, want)

	fresh := newTestEngine(t, statProfile(t))
	fresh.Restore(got)
	if again := saved(t, fresh, "d09"); !slices.EqualFunc(again.Alarms, got.Alarms, sameAlarm) {
		t.Errorf("restored %+v, want %+v", again.Alarms, got.Alarms)
	}
	// A state without the fields of statistical behaviors.
	var old ThingState
	err := json.Unmarshal([]byte(`{"thing":"d09","lastSeen":"2026-01-01T00:16:00Z","alarms":[{"profile":"p1","behavior":"out",
		"fingerprint":"`+got.Alarms[0].Fingerprint+`","violations":1,"active":true,"violationId":"id5","start":"2026-01-01T00:05:00Z",
		"lastViolationTime":"2026-01-01T00:05:00Z","lastValue":{"kind":1,"number":900},"windowOpen":true,"windowStart":"2026-01-01T00:15:00Z","windowValue":30}]}`), &old)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Restore(old)
	want.Alarms[0].LastThreshold, want.Alarms[0].PendingStart, want.Alarms[0].PendingValue = nil, time.Time{}, 0
	checkState(t, saved(t, fresh, "d09"), want)
	if got := fresh.RemoveThing(at(17), "d09"); len(got) != 1 || got[0].Threshold != nil {
		t.Errorf("invalidation of an alarm saved without its threshold: %+v", got)
	}
}

func sameAlarm(a, b Alarm) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestEventThresholdIsACopy checks that an event's threshold and a saved
// state's can be changed without changing the alarms of the window, which
// share one threshold.
func TestEventThresholdIsACopy(t *testing.T) {
	e := newTestEngine(t, statProfile(t))
	for i := range 10 {
		e.Observe(at(1), fmt.Sprintf("d%02d", i), []string{"p1"}, bytesOut(float64(i)))
	}
	got := e.Tick(at(6))
	got[0].Threshold.Value = -1
	s, _ := e.State("d09")
	s.Alarms[0].LastThreshold.Value = -2
	if s, _ := e.State("d08"); s.Alarms[0].LastThreshold.Value != 4 {
		t.Errorf("threshold of d08 is %v, want 4", s.Alarms[0].LastThreshold.Value)
	}
	if got := e.RemoveThing(at(7), "d05"); got[0].Threshold.Value != 4 {
		t.Errorf("threshold of d05 is %v, want 4", got[0].Threshold.Value)
	}
}

// TestPopulationLeaves checks who is in a window's population: a device
// that is removed, leaves the profile's targets, or whose state is restored
// over, between its report and the window's evaluation, counts once or not
// at all.
func TestPopulationLeaves(t *testing.T) {
	cases := []struct {
		name  string
		do    func(e *Engine, d10 ThingState)
		event string // the one expected event, thing and population
	}{
		{"nothing", func(*Engine, ThingState) {}, "d10 11"},
		{"removed", func(e *Engine, _ ThingState) { e.RemoveThing(at(2), "d10") }, "d09 10"},
		{"retargeted", func(e *Engine, _ ThingState) { e.Retarget(at(2), "d10", nil) }, "d09 10"},
		{"reported without the profile", func(e *Engine, _ ThingState) { e.Observe(at(2), "d10", nil, bytesOut(1)) }, "d09 10"},
		{"restored over", func(e *Engine, d10 ThingState) { e.Restore(d10) }, "d10 11"},
		{"removed then back", func(e *Engine, _ ThingState) {
			e.RemoveThing(at(2), "d10")
			e.Observe(at(3), "d10", []string{"p1"}, bytesOut(1e6))
		}, "d10 11"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, Profile{Name: "p1", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out","criteria":
				{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p90"}}}]`)})
			for i := range 10 { // 100 ... 1000: p90 is 900, and d09 violates
				e.Observe(at(1), fmt.Sprintf("d%02d", i), []string{"p1"}, bytesOut(float64(100*(i+1))))
			}
			e.Observe(at(1), "d10", []string{"p1"}, bytesOut(1e6)) // with d10, p90 is 1000: only d10 violates
			tc.do(e, saved(t, e, "d10"))
			got := e.Tick(at(6))
			if len(got) != 1 || fmt.Sprintf("%s %d", got[0].Thing, got[0].Threshold.Population) != tc.event {
				t.Errorf("events %v, want one of %s", got, tc.event)
			}
		})
	}
}

// TestRestoreBehindEvaluation restores, into a running engine, a state
// saved before its window was evaluated: the window is not evaluated twice.
func TestRestoreBehindEvaluation(t *testing.T) {
	e := newTestEngine(t, statProfile(t))
	for i := range 10 {
		e.Observe(at(1), fmt.Sprintf("d%02d", i), []string{"p1"}, bytesOut(float64(i)))
	}
	before := saved(t, e, "d09")
	if got := e.Tick(at(6)); len(got) != 5 {
		t.Fatalf("events %v, want d05 to d09 in alarm", got)
	}
	e.Restore(before)
	if s := saved(t, e, "d09"); s.Alarms[0].WindowOpen || s.Alarms[0].Active {
		t.Errorf("restored %+v, want the evaluated window closed", s.Alarms[0])
	}
	if got := e.Tick(at(20)); len(got) != 0 {
		t.Errorf("events %v after restoring an evaluated window", got)
	}
}

// TestStatisticalDirty checks that evaluating a window marks every thing
// of its population dirty, those it left as they were included: their
// window closed.
func TestStatisticalDirty(t *testing.T) {
	e := newTestEngine(t, statProfile(t))
	var want []string
	for i := range 12 {
		want = append(want, fmt.Sprintf("d%02d", i))
		e.Observe(at(1), want[i], []string{"p1"}, bytesOut(1))
	}
	e.TakeDirty()
	if got := e.Tick(at(6)); len(got) != 0 {
		t.Fatalf("events %v, want none: every device equal", got)
	}
	if got := e.TakeDirty(); !slices.Equal(got, want) {
		t.Errorf("dirty %v, want %v", got, want)
	}
	if s := saved(t, e, "d03"); s.Alarms[0].WindowOpen {
		t.Errorf("state %+v, want the window closed", s.Alarms[0])
	}
}
