package detector

import (
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// alarm is the state machine of one behavior for one thing: its streaks,
// the alarm in force if any, and its open window. The behavior's spec and
// names live in the shared rule, not in each thing's copy.
type alarm struct {
	rule        *rule
	violations  int32 // consecutive violating datapoints
	compliant   int32 // consecutive compliant datapoints while in alarm
	active      bool  // an alarm is in force
	windowOpen  bool
	violationID string
	start       time.Time
	lastTime    time.Time // of the last violating datapoint
	lastValue   *Value    // of the last violating datapoint
	windowStart time.Time // of the open window, or of the last one evaluated
	windowValue float64
}

// evaluate runs the alarm state machine on one datapoint.
func (e *Engine) evaluate(events []Event, now time.Time, thing string, a *alarm, v Value) []Event {
	r := a.rule
	if a.active && v.Empty() {
		return a.clear(events, now, thing, v) // an empty set clears at once
	}
	if !r.violates(&v) {
		a.violations = 0
		if !a.active {
			return events
		}
		a.compliant++
		if int(a.compliant) < r.toClear {
			return events
		}
		return a.clear(events, now, thing, v)
	}
	a.compliant = 0
	a.violations++
	last := v
	a.lastValue, a.lastTime = &last, now
	if a.active || int(a.violations) < r.toAlarm {
		return events
	}
	a.active, a.violationID, a.start = true, e.opts.NewViolationID(), now
	return append(events, a.event(proto.InAlarm, now, thing, &last))
}

// clear ends the alarm in force with alarm-cleared.
func (a *alarm) clear(events []Event, now time.Time, thing string, v Value) []Event {
	events = append(events, a.event(proto.AlarmCleared, now, thing, &v))
	a.active, a.violations, a.compliant = false, 0, 0
	return events
}

// invalidate ends the alarm in force, if any, with alarm-invalidated.
func (a *alarm) invalidate(events []Event, now time.Time, thing string) []Event {
	if !a.active {
		return events
	}
	a.active = false
	return append(events, a.event(proto.AlarmInvalidated, now, thing, a.lastValue))
}

func (a *alarm) event(typ proto.EventType, now time.Time, thing string, v *Value) Event {
	return Event{Type: typ, Thing: thing, Profile: a.rule.profile, Behavior: a.rule.spec, Value: v,
		Time: now, ViolationID: a.violationID, StartTime: a.start, Suppressed: a.rule.suppress}
}

// windowed adds a value to the behavior's tumbling window, first closing
// and evaluating the open window when the value belongs to a later one.
func (e *Engine) windowed(events []Event, now time.Time, thing string, a *alarm, v *Value) []Event {
	start := windowStart(now, a.rule.duration)
	switch {
	case start.Before(a.windowStart), !a.windowOpen && start.Equal(a.windowStart):
		return events // a late report for a window already evaluated
	case a.windowOpen && start.After(a.windowStart):
		events = e.closeWindow(events, thing, a)
	}
	if !a.windowOpen {
		a.windowOpen, a.windowStart, a.windowValue = true, start, 0
	}
	if a.rule.metric.Counter {
		a.windowValue += v.Number
	} else {
		a.windowValue = v.Number
	}
	return events
}

// closeWindow evaluates the open window as one datapoint at its end.
func (e *Engine) closeWindow(events []Event, thing string, a *alarm) []Event {
	end := a.windowStart.Add(a.rule.duration)
	v := Value{Kind: a.rule.metric.Kind, Number: a.windowValue}
	a.windowOpen, a.windowValue = false, 0
	return e.evaluate(events, end, thing, a, v)
}

// windowDue returns when the open window is evaluated without a later
// report: its end plus the grace period.
func (a *alarm) windowDue(graceFraction float64) time.Time {
	d := a.rule.duration
	return a.windowStart.Add(d + time.Duration(float64(d)*graceFraction))
}

// windowStart aligns t down to a multiple of d since the Unix epoch.
func windowStart(t time.Time, d time.Duration) time.Time {
	ns := t.UnixNano()
	return time.Unix(0, ns-ns%int64(d)).UTC()
}
