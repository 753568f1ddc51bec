package detector

import (
	"cmp"
	"slices"
	"time"

	"github.com/vigil-iot/vigil/detector/percentile"
	"github.com/vigil-iot/vigil/proto"
)

// A statistical behavior keeps, beside each device's alarm, one population
// per window that is still open or awaits its statistic: the devices of the
// window and their values, side by side, so that the Tick that closes a
// window of a million devices reads one slice instead of walking a million
// things. Each alarm knows its place (slot) in the populations of its open
// and pending windows, and keeps its values too, for its saved state.
//
// Evaluating a window moves the rule's watermark, closedBefore, past it.
// The alarms the evaluation does not need to touch (a compliant value, and
// no violation counted nor alarm in force) still hold the window as open or
// pending; settle closes it the next time the alarm is used.

// population is the devices of one window of a statistical behavior.
type population struct {
	start   int64 // Unix nanoseconds
	members []member
}

// member is one device's value in a statistical window. quiet says its
// alarm counted no violation and had none in force when the device joined,
// so that a compliant value leaves the alarm as it is. state is the thing's
// state, which outlives the membership: a thing's state is only dropped or
// replaced (RemoveThing, Restore) after its alarms left their populations.
type member struct {
	thing string // empty once the device has left the population
	state *thingState
	value float64
	quiet bool
}

// populationAt returns the rule's population of the window that starts at
// start, added in start order if new.
func (r *rule) populationAt(start int64) *population {
	i, found := slices.BinarySearchFunc(r.populations, start, func(p *population, s int64) int { return cmp.Compare(p.start, s) })
	if !found {
		r.populations = slices.Insert(r.populations, i, &population{start: start})
	}
	return r.populations[i]
}

// member returns the member in a slot of a window's population.
func (r *rule) member(start int64, slot int32) *member {
	return &r.populationAt(start).members[slot]
}

// quiet reports whether a compliant datapoint leaves the alarm as it is.
func (a *alarm) quiet() bool { return a.violations == 0 && !a.active }

// join adds the device to the population of a window and returns its slot.
func (a *alarm) join(thing string, t *thingState, start int64, value float64) int32 {
	p := a.rule.populationAt(start)
	p.members = append(p.members, member{thing: thing, state: t, value: value, quiet: a.quiet()})
	return int32(len(p.members) - 1)
}

// settle closes the alarm's statistical windows that have been evaluated.
func (a *alarm) settle() {
	closed := a.rule.closedBefore
	if a.pendingOpen && a.pendingStart < closed {
		a.pendingOpen, a.pendingValue = false, 0
	}
	if a.windowOpen && a.windowStart < closed {
		a.windowOpen, a.windowValue = false, 0
	}
}

// rejoin puts a restored alarm's statistical windows back in their
// populations.
func (a *alarm) rejoin(thing string, t *thingState) {
	a.settle()
	if a.pendingOpen {
		a.pendingSlot = a.join(thing, t, a.pendingStart, a.pendingValue)
	}
	if a.windowOpen {
		a.windowSlot = a.join(thing, t, a.windowStart, a.windowValue)
	}
}

// leave takes the device out of the populations of the alarm's statistical
// windows: the alarm is dropped.
func (a *alarm) leave() {
	if !a.rule.statistical() {
		return
	}
	a.settle()
	if a.pendingOpen {
		*a.rule.member(a.pendingStart, a.pendingSlot) = member{}
	}
	if a.windowOpen {
		*a.rule.member(a.windowStart, a.windowSlot) = member{}
	}
}

// windowedStatistical adds a value to a statistical behavior's window. A
// value of a later window moves the open window to the pending slot, where
// it awaits its population; when the slot is still taken (reports ran ahead
// of Tick, as in a replay), the populations up to that window are evaluated
// first. It reports whether it evaluated a population.
func (e *Engine) windowedStatistical(events []Event, now time.Time, thing string, t *thingState, a *alarm, v *Value) ([]Event, bool) {
	r := a.rule
	a.settle()
	start, closed := windowStart(now, r.duration), false
	switch {
	case a.pendingOpen && start == a.pendingStart:
		a.pendingValue = r.accumulate(a.pendingValue, v.Number) // late, within the grace period
		r.member(start, a.pendingSlot).value = a.pendingValue
		return events, false
	case start < r.closedBefore, start < a.windowStart, !a.windowOpen && start == a.windowStart:
		return events, false // a late report for a window already evaluated
	case a.windowOpen && start > a.windowStart:
		if a.pendingOpen {
			events, closed = e.closePopulations(events, r, a.pendingStart), true
			a.settle()
		}
		a.pendingOpen, a.pendingStart, a.pendingValue, a.pendingSlot = true, a.windowStart, a.windowValue, a.windowSlot
		a.windowOpen, a.windowValue = false, 0
	}
	if !a.windowOpen {
		a.windowOpen, a.windowStart, a.windowValue = true, start, 0
		a.windowSlot = a.join(thing, t, start, 0)
	}
	a.windowValue = r.accumulate(a.windowValue, v.Number)
	r.member(start, a.windowSlot).value = a.windowValue
	return events, closed
}

// closeDuePopulations evaluates the statistical windows whose grace period
// is over by now, oldest first for each behavior. Violation ids are
// deferred.
func (e *Engine) closeDuePopulations(events []Event, now time.Time) []Event {
	for _, p := range e.profiles {
		for _, r := range p.rules {
			for len(r.populations) > 0 && !now.Before(dueTime(r.populations[0].start, r.duration, e.opts.GraceFraction)) {
				events = e.closeOldest(events, r)
			}
		}
	}
	return events
}

// closePopulations evaluates the rule's populations up to the window that
// starts at through, at once. Its events are in thing name order, with
// their violation ids.
func (e *Engine) closePopulations(events []Event, r *rule, through int64) []Event {
	first := len(events)
	for len(r.populations) > 0 && r.populations[0].start <= through {
		events = e.closeOldest(events, r)
	}
	sortByThing(events[first:])
	e.assignIDs(events[first:])
	return events
}

// closeOldest evaluates the rule's oldest population: every member's value
// against the threshold made from the statistic of all their values, as a
// datapoint stamped with the window's end. A population smaller than
// MinPopulation gives no datapoint. Either way the window is closed for
// every member, and every member's state has changed. Violation ids are
// deferred.
func (e *Engine) closeOldest(events []Event, r *rule) []Event {
	p := r.populations[0]
	r.populations[0] = nil
	r.populations = r.populations[1:]
	r.closedBefore = max(r.closedBefore, p.start+int64(r.duration))
	values := e.values[:0]
	for _, m := range p.members {
		if m.thing != "" {
			values = append(values, m.value)
			e.dirty = append(e.dirty, dirtyThing{name: m.thing})
		}
	}
	e.values = values
	if len(values) < e.opts.MinPopulation {
		return events
	}
	th := &proto.ThresholdInfo{Statistic: r.statistic, Value: r.thresholdOf(statistic(values, r.percentile)), Population: len(values)}
	end := unixTime(p.start).Add(r.duration)
	for _, m := range p.members {
		violates := r.violatesAt(m.value, th.Value)
		if m.thing == "" || m.quiet && !violates {
			continue
		}
		if i := m.state.find(r); i >= 0 {
			a := &m.state.alarms[i]
			a.settle()
			d := judged{time: end, value: Value{Kind: r.metric.Kind, Number: m.value}, violates: violates, threshold: th}
			events = a.step(events, m.thing, d, deferID)
			a.unquiet()
		}
	}
	return events
}

// unquiet tells the population of the alarm's open window that the alarm
// is no longer quiet, if so.
func (a *alarm) unquiet() {
	if a.windowOpen && !a.quiet() {
		a.rule.member(a.windowStart, a.windowSlot).quiet = false
	}
}

// alarmFor returns a thing's alarm of a rule, or nil.
func (e *Engine) alarmFor(thing string, r *rule) *alarm {
	t := e.things[thing]
	if t == nil || r == nil {
		return nil
	}
	if i := t.find(r); i >= 0 {
		return &t.alarms[i]
	}
	return nil
}

// statistic returns percentile p of a population's values, exactly, by
// nearest rank, whatever their number: percentile.Exact finds it by
// selection in linear time (about 40 ms for a million values, where a
// Sketch takes longer and is only within 1%). It reorders values.
func statistic(values []float64, p float64) float64 {
	return percentile.Exact(values, p)
}
