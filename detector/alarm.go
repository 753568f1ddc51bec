package detector

import (
	"math"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// alarm is the state machine of one behavior for one thing: its streaks,
// the alarm in force if any, its open window and, for a statistical
// behavior, the closed window that awaits its population. The behavior's
// spec and names live in the shared rule, not in each thing's copy. The
// threshold of the last violation of a statistical behavior is shared by the
// alarms of its window.
type alarm struct {
	rule          *rule
	violationID   string
	start         time.Time
	lastTime      int64  // of the last violating datapoint, in Unix nanoseconds; 0 for none
	lastValue     *Value // of the last violating datapoint
	lastThreshold *proto.ThresholdInfo
	windowStart   int64 // of the open window, or of the last one evaluated; noWindow before the first
	windowValue   float64
	pendingStart  int64
	pendingValue  float64
	windowSlot    int32 // the alarm's places in the populations of its
	pendingSlot   int32 // statistical windows
	violations    int32 // consecutive violating datapoints
	compliant     int32 // consecutive compliant datapoints while in alarm
	active        bool  // an alarm is in force
	windowOpen    bool
	pendingOpen   bool // a statistical window has ended and awaits its population
}

// judged is one datapoint to run through an alarm's state machine, with
// its verdict.
type judged struct {
	time      time.Time
	value     Value
	violates  bool
	threshold *proto.ThresholdInfo // nil for a static behavior
}

// deferID stands for a violation id that is handed out once the events of
// a batch are in order (see assignIDs).
func deferID() string { return "" }

// evaluate runs the alarm state machine on one datapoint of a static
// behavior.
func (e *Engine) evaluate(events []Event, now time.Time, thing string, a *alarm, v Value, newID func() string) []Event {
	return a.step(events, thing, judged{time: now, value: v, violates: a.rule.violates(&v)}, newID)
}

// step runs the alarm state machine on one judged datapoint; newID makes
// the violation id of an alarm that goes in force.
func (a *alarm) step(events []Event, thing string, d judged, newID func() string) []Event {
	r := a.rule
	if a.active && d.value.Empty() {
		return a.clear(events, thing, d) // an empty set clears at once
	}
	if !d.violates {
		a.violations = 0
		if !a.active {
			return events
		}
		a.compliant++
		if int(a.compliant) < r.toClear {
			return events
		}
		return a.clear(events, thing, d)
	}
	a.compliant = 0
	a.violations++
	last := d.value
	a.lastValue, a.lastTime, a.lastThreshold = &last, d.time.UnixNano(), d.threshold
	if a.active || int(a.violations) < r.toAlarm {
		return events
	}
	a.active, a.violationID, a.start = true, newID(), d.time
	return append(events, a.event(proto.InAlarm, d.time, thing, &last, d.threshold))
}

// clear ends the alarm in force with alarm-cleared.
func (a *alarm) clear(events []Event, thing string, d judged) []Event {
	v := d.value
	events = append(events, a.event(proto.AlarmCleared, d.time, thing, &v, d.threshold))
	a.active, a.violations, a.compliant = false, 0, 0
	return events
}

// invalidate ends the alarm in force, if any, with alarm-invalidated.
func (a *alarm) invalidate(events []Event, now time.Time, thing string) []Event {
	if !a.active {
		return events
	}
	a.active = false
	return append(events, a.event(proto.AlarmInvalidated, now, thing, a.lastValue, a.lastThreshold))
}

func (a *alarm) event(typ proto.EventType, now time.Time, thing string, v *Value, th *proto.ThresholdInfo) Event {
	return Event{Type: typ, Thing: thing, Profile: a.rule.profile, Behavior: a.rule.spec, Value: v, Threshold: cloneThreshold(th),
		Time: now, ViolationID: a.violationID, StartTime: a.start, Suppressed: a.rule.suppress}
}

// cloneThreshold copies a threshold, which alarms of one window share, for
// an event or a saved state.
func cloneThreshold(th *proto.ThresholdInfo) *proto.ThresholdInfo {
	if th == nil {
		return nil
	}
	c := *th
	return &c
}

// windowed adds a value to a static behavior's tumbling window, first
// closing and evaluating the open window when the value belongs to a later
// one.
func (e *Engine) windowed(events []Event, now time.Time, thing string, a *alarm, v *Value) []Event {
	start := windowStart(now, a.rule.duration)
	switch {
	case start < a.windowStart, !a.windowOpen && start == a.windowStart:
		return events // a late report for a window already evaluated
	case a.windowOpen && start > a.windowStart:
		events = e.closeWindow(events, thing, a, e.opts.NewViolationID)
	}
	e.open(a, start, v.Number)
	return events
}

// open adds a value to the alarm's open window, opening the window that
// starts at start if none is open.
func (e *Engine) open(a *alarm, start int64, n float64) {
	if !a.windowOpen {
		a.windowOpen, a.windowStart, a.windowValue = true, start, 0
		e.soon(a.windowDue(e.opts.GraceFraction))
	}
	a.windowValue = a.rule.accumulate(a.windowValue, n)
}

// accumulate adds a report's value to a window's: counters are summed,
// gauges keep the latest value.
func (r *rule) accumulate(sum, n float64) float64 {
	if r.metric.Counter {
		return sum + n
	}
	return n
}

// closeWindow evaluates the open window of a static behavior as one
// datapoint at its end.
func (e *Engine) closeWindow(events []Event, thing string, a *alarm, newID func() string) []Event {
	end := unixTime(a.windowStart).Add(a.rule.duration)
	v := Value{Kind: a.rule.metric.Kind, Number: a.windowValue}
	a.windowOpen, a.windowValue = false, 0
	return e.evaluate(events, end, thing, a, v, newID)
}

// windowDue returns when the open window is evaluated without a later
// report: its end plus the grace period.
func (a *alarm) windowDue(graceFraction float64) time.Time {
	return dueTime(a.windowStart, a.rule.duration, graceFraction)
}

// dueTime returns the end plus the grace period of the window of length d
// that starts at start (Unix nanoseconds).
func dueTime(start int64, d time.Duration, graceFraction float64) time.Time {
	return unixTime(start).Add(d + time.Duration(float64(d)*graceFraction))
}

// windowStart aligns t down to a multiple of d since the Unix epoch, in Unix
// nanoseconds.
func windowStart(t time.Time, d time.Duration) int64 {
	ns := t.UnixNano()
	return ns - ns%int64(d)
}

// noWindow is the windowStart of an alarm that never had a window.
const noWindow = math.MinInt64

// unixTime returns the UTC time of a Unix nanosecond count.
func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
