package detector

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// The fleet of TestFleetDailyCurve: 100 scanners over 2 days of 5-minute
// windows, whose traffic follows the working day.
const (
	curveDevices = 100
	curveWindow  = 5 * time.Minute
	curveWindows = 2 * 24 * 12
	curveBase    = 20_000.0 // bytes out per window at night
	curveNoise   = 0.2      // each device's multiplicative noise, per window
	curveSuspect = 42       // scanner-042 goes bad...
)

// curveAttack is when scanner-042 starts sending 5 times what its peers do:
// 14:00 on day 2.
const curveAttack = 38 * time.Hour

// curveNames are the fleet's things, scanner-000 to scanner-099.
func curveNames() []string {
	names := make([]string, curveDevices)
	for i := range names {
		names[i] = fmt.Sprintf("scanner-%03d", i)
	}
	return names
}

// dailyCurve is the fleet's traffic at an offset from midnight: a night
// base with a peak ten times higher at 8:00 and at 20:00, when shifts
// change and everyone badges in or out.
func dailyCurve(at time.Duration) float64 {
	h := math.Mod(at.Hours(), 24)
	bump := func(peak float64) float64 { return 9 * math.Exp(-(h-peak)*(h-peak)/(2*1.5*1.5)) }
	return curveBase * (1 + bump(8) + bump(20))
}

// curveTraffic returns each window's bytes out for each device: the daily
// curve times the device's own noise (log-normal, about 20%), and 5 times
// that for scanner-042 from the attack on.
func curveTraffic() [][]float64 {
	rng := rand.New(rand.NewPCG(2026, 42))
	out := make([][]float64, curveWindows)
	for w := range out {
		start := time.Duration(w) * curveWindow
		out[w] = make([]float64, curveDevices)
		for i := range out[w] {
			v := dailyCurve(start) * math.Exp(curveNoise*rng.NormFloat64())
			if i == curveSuspect && start >= curveAttack {
				v *= 5
			}
			out[w][i] = math.Round(v)
		}
	}
	return out
}

// nightMax is the largest window value of the fleet from 0:00 to 4:00 on
// day 1: what an operator who watched the quiet hours would pick as a
// static limit.
func nightMax(traffic [][]float64) float64 {
	m := 0.0
	for w := range 4 * 12 {
		for _, v := range traffic[w] {
			m = max(m, v)
		}
	}
	return m
}

// curveProfiles are the three ways to watch the fleet's bytes out.
func curveProfiles(t *testing.T, static float64) []Profile {
	behavior := func(criteria string) []proto.Behavior {
		return behaviors(t, `[{"name":"bytes-out","metric":"aws:all-bytes-out","criteria":`+criteria+`}]`)
	}
	return []Profile{
		{Name: "relative", Behaviors: behavior(`{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p90","factor":2},
			"durationSeconds":300,"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":2}`)},
		{Name: "aws", Behaviors: behavior(`{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p90"},"durationSeconds":300}`)},
		{Name: "static", Behaviors: behavior(fmt.Sprintf(`{"comparisonOperator":"less-than-equals","value":{"count":%d},
			"durationSeconds":300,"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":2}`, int64(static)))},
	}
}

// curveRun is what one profile did over the two days.
type curveRun struct {
	inAlarm  int                   // in-alarm events
	devices  map[string]bool       // the things that went in alarm
	detected time.Duration         // from the attack to scanner-042 in alarm; -1 if never
	active   map[string]bool       // the alarms in force
	shares   []float64             // the share of the fleet in alarm after each window
	byWindow map[time.Duration]int // the alarms in force after the window that starts at the offset
}

func newCurveRun() *curveRun {
	return &curveRun{devices: map[string]bool{}, detected: -1, active: map[string]bool{}, byWindow: map[time.Duration]int{}}
}

func (c *curveRun) add(ev Event) {
	switch ev.Type {
	case proto.InAlarm:
		c.inAlarm++
		c.devices[ev.Thing] = true
		c.active[ev.Thing] = true
	default:
		delete(c.active, ev.Thing)
	}
}

// windowDone records the alarms in force once a window is evaluated, and
// when scanner-042 is first in alarm after the attack.
func (c *curveRun) windowDone(start time.Duration, suspect string) {
	c.shares = append(c.shares, float64(len(c.active))/curveDevices)
	c.byWindow[start] = len(c.active)
	if end := start + curveWindow; c.detected < 0 && end > curveAttack && c.active[suspect] {
		c.detected = end - curveAttack
	}
}

// TestFleetDailyCurve is why statistical thresholds exist. A fleet's
// traffic follows the working day; a device that goes bad must stand out
// from its peers at any hour, and the peaks must not drown the operators in
// alarms. One engine watches 100 scanners for two simulated days with three
// profiles:
//
//   - relative, "less-than-equals p90" with factor 2 (2 datapoints to
//     alarm): a device alarms when it sends more than twice what the 90th
//     percentile of its peers sends in the same window. Only scanner-042
//     alarms, within 2 windows of going bad, and nobody alarms at the peaks.
//   - aws, "less-than-equals p90" (AWS's semantics, factor 1): by
//     definition about 10% of the fleet violates in every window, which is
//     a ranking, not a detector.
//   - static, "less-than-equals" the night-time maximum: most of the fleet
//     alarms at every peak.
func TestFleetDailyCurve(t *testing.T) {
	traffic, names := curveTraffic(), curveNames()
	suspect := names[curveSuspect]
	profiles := curveProfiles(t, nightMax(traffic))
	e := newTestEngine(t, profiles...)
	covering := []string{"aws", "relative", "static"}
	runs := map[string]*curveRun{"relative": newCurveRun(), "aws": newCurveRun(), "static": newCurveRun()}
	record := func(events []Event) {
		for _, ev := range events {
			runs[ev.Profile].add(ev)
		}
	}
	// The simulated clock moves in steps of 30 s: each device reports once
	// per window, 2 minutes in, and Tick runs at every step.
	for step := time.Duration(0); step <= curveWindows*curveWindow+time.Minute; step += 30 * time.Second {
		now := scenarioBase.Add(step)
		w := int(step / curveWindow)
		if step%curveWindow == 2*time.Minute && w < curveWindows {
			for i, name := range names {
				dps := []Datapoint{{Metric: MetricBytesOut, Value: Value{Kind: KindCount, Number: traffic[w][i]}}}
				record(e.Observe(now.Add(time.Duration(i)*time.Millisecond), name, covering, dps))
			}
		}
		record(e.Tick(now))
		if step%curveWindow == curveWindow/10 && w > 0 { // the grace period of window w-1 is over
			for _, run := range runs {
				run.windowDone(time.Duration(w-1)*curveWindow, suspect)
			}
		}
	}
	logCurveRuns(t, runs)

	t.Run("relative: only the bad scanner alarms, within 2 windows", func(t *testing.T) {
		r := runs["relative"]
		if r.inAlarm != 1 || len(r.devices) != 1 || !r.devices[suspect] {
			t.Errorf("%d alarms of %v, want one, of %s", r.inAlarm, sortedKeys(r.devices), suspect)
		}
		if r.detected < curveWindow || r.detected > 2*curveWindow {
			t.Errorf("%s detected %v after going bad, want within 2 windows", suspect, r.detected)
		}
	})
	t.Run("aws: about 10% of the fleet violates in every window", func(t *testing.T) {
		r, sum := runs["aws"], 0.0
		for w, share := range r.shares {
			sum += share
			if share < 0.05 || share > 0.15 {
				t.Errorf("window %d (%v): %.0f%% of the fleet in alarm, want 5%% to 15%%", w, time.Duration(w)*curveWindow, 100*share)
			}
		}
		if mean := sum / float64(len(r.shares)); len(r.shares) != curveWindows || math.Abs(mean-0.10) > 0.005 {
			t.Errorf("%d windows, %.2f%% in alarm on average; want %d windows, 10%%", len(r.shares), 100*mean, curveWindows)
		}
	})
	t.Run("static: most of the fleet alarms at the peaks", func(t *testing.T) {
		r := runs["static"]
		if len(r.devices) < 90 {
			t.Errorf("%d devices went in alarm, want most of the fleet", len(r.devices))
		}
		for _, peak := range []time.Duration{8 * time.Hour, 20 * time.Hour, 32 * time.Hour, 44 * time.Hour} {
			if n := r.byWindow[peak]; n < 90 {
				t.Errorf("at %v, %d devices in alarm, want most of the fleet", peak, n)
			}
		}
	})
}

// logCurveRuns logs one line per profile: in-alarm events, devices that
// went in alarm, the devices in alarm after the 8:00 window of day 2, the
// mean share of the fleet in alarm, and the time to detect scanner-042.
func logCurveRuns(t *testing.T, runs map[string]*curveRun) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-9s %9s %8s %13s %11s %18s\n", "profile", "in-alarm", "devices", "at 8:00 day 2", "mean share", "scanner-042 after")
	for _, name := range []string{"relative", "aws", "static"} {
		r, sum := runs[name], 0.0
		for _, share := range r.shares {
			sum += share
		}
		detected := "never"
		if r.detected >= 0 {
			detected = r.detected.String()
		}
		fmt.Fprintf(&b, "%-9s %9d %8d %13d %10.2f%% %18s\n", name, r.inAlarm, len(r.devices), r.byWindow[32*time.Hour],
			100*sum/float64(len(r.shares)), detected)
	}
	t.Log(b.String())
}

// TestMinPopulation is acceptance 3: with 9 devices and a minimum
// population of 10, nothing alarms and no streak counter moves, however far
// a device stands out; the 10th device brings the threshold to life.
func TestMinPopulation(t *testing.T) {
	p := Profile{Name: "p1", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out","criteria":
		{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p50"},"consecutiveDatapointsToAlarm":2}}]`)}
	e := newTestEngine(t, p)
	report := func(window, devices int) []Event {
		var events []Event
		for i := range devices {
			v := 100.0
			if i == 8 {
				v = 1e6 // d09
			}
			dps := []Datapoint{{Metric: MetricBytesOut, Value: Value{Kind: KindCount, Number: v}}}
			events = append(events, e.Observe(at(5*window+1), fmt.Sprintf("d%02d", i+1), []string{"p1"}, dps)...)
		}
		return append(events, e.Tick(at(5*window+6))...)
	}
	for w := range 5 {
		if got := report(w, 9); len(got) != 0 {
			t.Fatalf("window %d with 9 devices: events %s", w, eventTypes(got))
		}
		for _, thing := range []string{"d01", "d09"} {
			s, _ := e.State(thing)
			if a := s.Alarms[0]; a.Violations != 0 || a.Compliant != 0 || a.WindowOpen || !a.PendingStart.IsZero() {
				t.Fatalf("window %d: %s has %+v, want no counter moved and no window left", w, thing, a)
			}
		}
	}
	if got := report(5, 10); len(got) != 0 {
		t.Fatalf("first window with 10 devices: events %s, want none (1 violation of 2)", eventTypes(got))
	}
	if s, _ := e.State("d09"); s.Alarms[0].Violations != 1 {
		t.Fatalf("d09 counts %d violations, want 1", s.Alarms[0].Violations)
	}
	got := report(6, 10)
	if len(got) != 1 || got[0].Thing != "d09" || got[0].Type != proto.InAlarm ||
		*got[0].Threshold != (proto.ThresholdInfo{Statistic: "p50", Value: 100, Population: 10}) {
		t.Fatalf("second window with 10 devices: %s %+v, want d09 in alarm against p50 = 100 of 10", eventTypes(got), got)
	}
}

// TestMinPopulationOption checks Options.MinPopulation: a smaller minimum
// lets a small fleet have a threshold, and 0 means the default.
func TestMinPopulationOption(t *testing.T) {
	p := Profile{Name: "p1", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out","criteria":
		{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p50"}}}]`)}
	for _, tc := range []struct {
		min, devices int
		alarms       bool
	}{{3, 3, true}, {3, 2, false}, {0, 9, false}, {0, 10, true}, {1, 1, false}} {
		e := New(Options{MinPopulation: tc.min})
		if _, err := e.SetProfile(scenarioBase, p); err != nil {
			t.Fatal(err)
		}
		for i := range tc.devices {
			v := float64(100 * (i + 1)) // the largest is above the median, unless alone
			e.Observe(at(1), fmt.Sprintf("d%02d", i), []string{"p1"}, []Datapoint{{Metric: MetricBytesOut, Value: Value{Kind: KindCount, Number: v}}})
		}
		if got := e.Tick(at(6)); (len(got) > 0) != tc.alarms {
			t.Errorf("MinPopulation %d, %d devices: events %s, want alarms: %v", tc.min, tc.devices, eventTypes(got), tc.alarms)
		}
	}
}
