package detector

import (
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
	s := ThingState{Thing: thing, LastSeen: t.lastSeen, Alarms: make([]Alarm, 0, len(t.alarms))}
	for _, key := range sortedAlarmKeys(t.alarms) {
		s.Alarms = append(s.Alarms, *t.alarms[key])
	}
	return s, true
}

// Restore loads a thing's state saved by State, replacing what the engine
// had. Call it after the profiles are set: alarms of behaviors that no
// longer exist or changed are dropped, so restoring never resurrects them.
func (e *Engine) Restore(s ThingState) {
	t := &thingState{lastSeen: s.LastSeen, alarms: make(map[alarmKey]*Alarm, len(s.Alarms))}
	for i := range s.Alarms {
		a := s.Alarms[i]
		key := alarmKey{a.Profile, a.Behavior}
		if r := e.rule(key); r != nil && r.fingerprint == a.Fingerprint {
			a.Spec, a.Suppressed = r.spec, r.suppress
			t.alarms[key] = &a
		}
	}
	e.things[s.Thing] = t
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
