package detector

import (
	"slices"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// Alarm is the state of one behavior of one profile for one thing: the
// counters of its state machine, the alarm in force if any, its open window
// and, for a statistical behavior, the window that awaits its population.
// It is what persistence stores to resume after a restart.
type Alarm struct {
	Profile     string `json:"profile"`
	Behavior    string `json:"behavior"`
	Fingerprint string `json:"fingerprint"`
	// Spec is the behavior as configured, for the events. It is not
	// stored: Restore takes it from the profile.
	Spec       proto.Behavior `json:"-"`
	Suppressed bool           `json:"-"`
	// Violations counts consecutive violating datapoints.
	Violations int `json:"violations,omitempty"`
	// Compliant counts consecutive compliant datapoints while in alarm.
	Compliant int `json:"compliant,omitempty"`
	// Active is true while the alarm is in force.
	Active            bool      `json:"active,omitempty"`
	ViolationID       string    `json:"violationId,omitempty"`
	Start             time.Time `json:"start,omitzero"`
	LastViolationTime time.Time `json:"lastViolationTime,omitzero"`
	LastValue         *Value    `json:"lastValue,omitempty"`
	// LastThreshold is, for a statistical behavior, the threshold that
	// LastValue was judged against.
	LastThreshold *proto.ThresholdInfo `json:"lastThreshold,omitempty"`
	// WindowOpen, WindowStart and WindowValue hold a durationSeconds window.
	WindowOpen  bool      `json:"windowOpen,omitempty"`
	WindowStart time.Time `json:"windowStart,omitzero"`
	WindowValue float64   `json:"windowValue,omitempty"`
	// PendingStart and PendingValue hold, for a statistical behavior, a
	// window that has ended and awaits the statistic of its population; a
	// zero PendingStart means none.
	PendingStart time.Time `json:"pendingStart,omitzero"`
	PendingValue float64   `json:"pendingValue,omitempty"`
}

// ThingState is everything the engine keeps about one thing.
type ThingState struct {
	Thing    string    `json:"thing"`
	LastSeen time.Time `json:"lastSeen"`
	Alarms   []Alarm   `json:"alarms"`
}

// State returns the state of a thing, and false when the engine has none
// (never seen, removed, or silent too long).
func (e *Engine) State(thing string) (ThingState, bool) {
	var s ThingState
	ok := e.StateInto(thing, &s)
	return s, ok
}

// StateInto is State into s, reusing the room of s.Alarms: for saving the
// state after every report without allocating.
func (e *Engine) StateInto(thing string, s *ThingState) bool {
	t := e.things[thing]
	if t == nil {
		*s = ThingState{Alarms: s.Alarms[:0]}
		return false
	}
	s.Thing, s.LastSeen = thing, unixTime(t.lastSeen)
	s.Alarms = slices.Grow(s.Alarms[:0], len(t.alarms))[:len(t.alarms)]
	for i := range t.alarms {
		t.alarms[i].settle()
		s.Alarms[i] = t.alarms[i].export()
	}
	return true
}

// Restore loads a thing's state saved by State, replacing what the engine
// had. Call it after the profiles are set: alarms of behaviors that no
// longer exist or changed are dropped, so restoring never resurrects them.
func (e *Engine) Restore(s ThingState) {
	if old := e.things[s.Thing]; old != nil {
		for i := range old.alarms {
			old.alarms[i].leave()
		}
	}
	seen := unixNano(s.LastSeen)
	t := &thingState{lastSeen: seen, savedSeen: seen, alarms: make([]alarm, 0, len(s.Alarms))}
	for _, saved := range s.Alarms {
		r := e.rule(saved.Profile, saved.Behavior)
		if r != nil && r.fingerprint == saved.Fingerprint && t.find(r) < 0 {
			t.alarms = append(t.alarms, restoreAlarm(r, saved))
		}
	}
	slices.SortFunc(t.alarms, func(a, b alarm) int { return compareRules(a.rule, b.rule) })
	for i := range t.alarms {
		if t.alarms[i].rule.statistical() {
			t.alarms[i].rejoin(s.Thing, t)
		}
	}
	e.things[s.Thing] = t
	e.soon(time.Time{}) // the next Tick looks at the restored windows and silence
}

func (a *alarm) export() Alarm {
	r := a.rule
	s := Alarm{Profile: r.profile, Behavior: r.name, Fingerprint: r.fingerprint, Spec: r.spec, Suppressed: r.suppress,
		Violations: int(a.violations), Compliant: int(a.compliant), Active: a.active, ViolationID: a.violationID,
		Start: a.start, LastValue: a.lastValue, LastThreshold: cloneThreshold(a.lastThreshold),
		WindowOpen: a.windowOpen, WindowValue: a.windowValue}
	if a.lastTime != 0 {
		s.LastViolationTime = unixTime(a.lastTime)
	}
	if a.windowStart != noWindow {
		s.WindowStart = unixTime(a.windowStart)
	}
	if a.pendingOpen {
		s.PendingStart, s.PendingValue = unixTime(a.pendingStart), a.pendingValue
	}
	return s
}

func restoreAlarm(r *rule, s Alarm) alarm {
	a := alarm{rule: r, violations: int32(s.Violations), compliant: int32(s.Compliant), active: s.Active,
		violationID: s.ViolationID, start: s.Start, lastTime: unixNano(s.LastViolationTime), lastValue: s.LastValue,
		lastThreshold: s.LastThreshold, windowOpen: s.WindowOpen, windowStart: unixNano(s.WindowStart), windowValue: s.WindowValue,
		pendingOpen: !s.PendingStart.IsZero(), pendingStart: unixNano(s.PendingStart), pendingValue: s.PendingValue}
	if s.WindowStart.IsZero() {
		a.windowStart = noWindow
	}
	return a
}

// unixNano returns a time in Unix nanoseconds, and 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// TakeDirty returns the things whose state changed since the last call, in
// name order, and forgets them. The slice is the engine's: it is valid
// until the next call. A change of the last-seen time alone does not count
// until the time has moved a sixteenth of the silence timeout: a caller
// that saves each report's time gives it back with Seen after Restore.
func (e *Engine) TakeDirty() []string {
	names := slices.Grow(e.dirtyNames[:0], len(e.dirty))[:len(e.dirty)]
	e.dirtyNames = names
	for i, d := range e.dirty {
		names[i] = d.name
		if d.state != nil {
			d.state.dirty = false
		}
	}
	clear(e.dirty)
	e.dirty = e.dirty[:0]
	slices.Sort(names)
	return slices.Compact(names) // a thing forgotten, then seen again, is listed twice
}

// Things returns the number of things the engine holds state for.
func (e *Engine) Things() int { return len(e.things) }

// ThingNames lists the things the engine holds state for, in name order.
func (e *Engine) ThingNames() []string { return sortedKeys(e.things) }
