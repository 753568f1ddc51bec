package detector

import (
	"slices"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// Alarm is the state of one behavior of one profile for one thing: the
// counters of its state machine, the alarm in force if any, and its open
// window. It is what persistence stores to resume after a restart.
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
	// WindowOpen, WindowStart and WindowValue hold a durationSeconds window.
	WindowOpen  bool      `json:"windowOpen,omitempty"`
	WindowStart time.Time `json:"windowStart,omitzero"`
	WindowValue float64   `json:"windowValue,omitempty"`
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
	t := e.things[thing]
	if t == nil {
		return ThingState{}, false
	}
	s := ThingState{Thing: thing, LastSeen: t.lastSeen, Alarms: make([]Alarm, len(t.alarms))}
	for i := range t.alarms {
		s.Alarms[i] = t.alarms[i].export()
	}
	return s, true
}

// Restore loads a thing's state saved by State, replacing what the engine
// had. Call it after the profiles are set: alarms of behaviors that no
// longer exist or changed are dropped, so restoring never resurrects them.
func (e *Engine) Restore(s ThingState) {
	t := &thingState{lastSeen: s.LastSeen, alarms: make([]alarm, 0, len(s.Alarms))}
	for _, saved := range s.Alarms {
		r := e.rule(saved.Profile, saved.Behavior)
		if r != nil && r.fingerprint == saved.Fingerprint && t.find(r) < 0 {
			t.alarms = append(t.alarms, restoreAlarm(r, saved))
		}
	}
	slices.SortFunc(t.alarms, func(a, b alarm) int { return compareRules(a.rule, b.rule) })
	e.things[s.Thing] = t
}

func (a *alarm) export() Alarm {
	r := a.rule
	return Alarm{Profile: r.profile, Behavior: r.name, Fingerprint: r.fingerprint, Spec: r.spec, Suppressed: r.suppress,
		Violations: int(a.violations), Compliant: int(a.compliant), Active: a.active, ViolationID: a.violationID,
		Start: a.start, LastViolationTime: a.lastTime, LastValue: a.lastValue,
		WindowOpen: a.windowOpen, WindowStart: a.windowStart, WindowValue: a.windowValue}
}

func restoreAlarm(r *rule, s Alarm) alarm {
	return alarm{rule: r, violations: int32(s.Violations), compliant: int32(s.Compliant), active: s.Active,
		violationID: s.ViolationID, start: s.Start, lastTime: s.LastViolationTime, lastValue: s.LastValue,
		windowOpen: s.WindowOpen, windowStart: s.WindowStart, windowValue: s.WindowValue}
}

// TakeDirty returns the things whose state changed since the last call, in
// name order, and forgets them.
func (e *Engine) TakeDirty() []string {
	names := sortedKeys(e.dirty)
	clear(e.dirty)
	return names
}

// Things returns the number of things the engine holds state for.
func (e *Engine) Things() int { return len(e.things) }

// ThingNames lists the things the engine holds state for, in name order.
func (e *Engine) ThingNames() []string { return sortedKeys(e.things) }
