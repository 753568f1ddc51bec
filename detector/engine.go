package detector

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options.
const (
	// DefaultSilenceTimeout is how long a thing may stay silent before its
	// alarms are invalidated.
	DefaultSilenceTimeout = 48 * time.Hour
	// DefaultGraceFraction is the share of a window that a window waits for
	// late reports after its end before it is evaluated.
	DefaultGraceFraction = 0.1
)

// Options configures an Engine. The zero value works.
type Options struct {
	// SilenceTimeout: 0 means DefaultSilenceTimeout.
	SilenceTimeout time.Duration
	// GraceFraction: 0 means DefaultGraceFraction.
	GraceFraction float64
	// Lookup resolves metric names; nil knows only the aws: metrics.
	Lookup MetricLookup
	// NewViolationID makes violation ids; nil means proto.NewViolationID.
	NewViolationID func() string
}

// Profile is a security profile as the engine needs it.
type Profile struct {
	Name      string
	Behaviors []proto.Behavior
}

// Event is a change in an alarm's life.
type Event struct {
	Type        proto.EventType
	Thing       string
	Profile     string
	Behavior    proto.Behavior
	Value       *Value
	Time        time.Time
	ViolationID string
	StartTime   time.Time
	// Suppressed events are recorded and published on the event topic but
	// not sent to alert targets.
	Suppressed bool
}

// Engine evaluates datapoints against security profiles and runs the alarm
// state machines. It is pure and time-explicit: every method takes the
// time, none starts a goroutine or does I/O, and it is not safe for
// concurrent use.
type Engine struct {
	opts     Options
	profiles map[string]*compiledProfile
	things   map[string]*thingState
	dirty    map[string]struct{}
}

type compiledProfile struct {
	name  string
	rules []*rule
}

type thingState struct {
	lastSeen time.Time
	alarms   map[alarmKey]*Alarm
}

type alarmKey struct{ profile, behavior string }

// New returns an Engine with no profile and no thing.
func New(opts Options) *Engine {
	if opts.SilenceTimeout <= 0 {
		opts.SilenceTimeout = DefaultSilenceTimeout
	}
	if opts.GraceFraction <= 0 {
		opts.GraceFraction = DefaultGraceFraction
	}
	if opts.Lookup == nil {
		opts.Lookup = DeviceMetricsOnly
	}
	if opts.NewViolationID == nil {
		opts.NewViolationID = proto.NewViolationID
	}
	return &Engine{opts: opts, profiles: map[string]*compiledProfile{}, things: map[string]*thingState{}, dirty: map[string]struct{}{}}
}

// ProblemsError is the error of a profile with problems.
type ProblemsError []Problem

// Error lists the problems.
func (p ProblemsError) Error() string {
	parts := make([]string, len(p))
	for i, pr := range p {
		parts[i] = pr.Error()
	}
	return strings.Join(parts, "; ")
}

// SetProfile adds or replaces a profile. Alarms of behaviors that were
// removed or changed are invalidated; alarms of unchanged behaviors go on.
// A profile with problems is refused with a ProblemsError and changes
// nothing.
func (e *Engine) SetProfile(now time.Time, p Profile) ([]Event, error) {
	rules, problems := compileBehaviors(p.Behaviors, e.opts.Lookup)
	if len(problems) > 0 {
		return nil, ProblemsError(problems)
	}
	var events []Event
	if old := e.profiles[p.Name]; old != nil {
		for _, r := range old.rules {
			if !slices.ContainsFunc(rules, func(n *rule) bool { return n.fingerprint == r.fingerprint }) {
				events = append(events, e.dropBehavior(now, p.Name, r.name)...)
			}
		}
	}
	e.profiles[p.Name] = &compiledProfile{name: p.Name, rules: rules}
	return events, nil
}

// DeleteProfile removes a profile and invalidates its alarms.
func (e *Engine) DeleteProfile(now time.Time, name string) []Event {
	old := e.profiles[name]
	if old == nil {
		return nil
	}
	delete(e.profiles, name)
	var events []Event
	for _, r := range old.rules {
		events = append(events, e.dropBehavior(now, name, r.name)...)
	}
	return events
}

// dropBehavior forgets one behavior's state on every thing, invalidating
// the alarms in force.
func (e *Engine) dropBehavior(now time.Time, profile, behavior string) []Event {
	var events []Event
	key := alarmKey{profile, behavior}
	for _, name := range sortedKeys(e.things) {
		t := e.things[name]
		if a := t.alarms[key]; a != nil {
			events = append(events, e.invalidate(now, name, a)...)
			delete(t.alarms, key)
			e.dirty[name] = struct{}{}
		}
	}
	return events
}

// invalidate ends an alarm in force with alarm-invalidated.
func (e *Engine) invalidate(now time.Time, thing string, a *Alarm) []Event {
	if !a.Active {
		return nil
	}
	ev := Event{Type: proto.AlarmInvalidated, Thing: thing, Profile: a.Profile, Behavior: a.Spec, Value: a.LastValue,
		Time: now, ViolationID: a.ViolationID, StartTime: a.Start, Suppressed: a.Suppressed}
	a.Active = false
	return []Event{ev}
}

// Retarget tells the engine which profiles now cover a thing; alarms under
// other profiles are invalidated (the thing left their targets).
func (e *Engine) Retarget(now time.Time, thing string, profiles []string) []Event {
	t := e.things[thing]
	if t == nil {
		return nil
	}
	var events []Event
	for _, key := range sortedAlarmKeys(t.alarms) {
		if !slices.Contains(profiles, key.profile) {
			events = append(events, e.invalidate(now, thing, t.alarms[key])...)
			delete(t.alarms, key)
			e.dirty[thing] = struct{}{}
		}
	}
	return events
}

// RemoveThing forgets a thing, invalidating its alarms (the thing was
// deleted).
func (e *Engine) RemoveThing(now time.Time, thing string) []Event {
	t := e.things[thing]
	if t == nil {
		return nil
	}
	var events []Event
	for _, key := range sortedAlarmKeys(t.alarms) {
		events = append(events, e.invalidate(now, thing, t.alarms[key])...)
	}
	delete(e.things, thing)
	e.dirty[thing] = struct{}{}
	return events
}

// Observe evaluates the datapoints of one report of a thing at time now,
// under the profiles that cover the thing. Alarms under profiles no longer
// listed are invalidated first.
func (e *Engine) Observe(now time.Time, thing string, profiles []string, dps []Datapoint) []Event {
	events := e.Retarget(now, thing, profiles)
	t := e.things[thing]
	if t == nil {
		t = &thingState{alarms: map[alarmKey]*Alarm{}}
		e.things[thing] = t
	}
	t.lastSeen = now
	e.dirty[thing] = struct{}{}
	for _, pname := range profiles {
		p := e.profiles[pname]
		if p == nil {
			continue
		}
		for _, r := range p.rules {
			i := slices.IndexFunc(dps, func(d Datapoint) bool { return d.Metric == r.metric.Name })
			if i < 0 {
				continue
			}
			a := t.alarm(pname, r)
			if r.duration > 0 {
				events = append(events, e.windowed(now, thing, r, a, dps[i].Value)...)
			} else {
				events = append(events, e.evaluate(now, thing, r, a, dps[i].Value)...)
			}
		}
	}
	return events
}

// alarm returns the state of one behavior, created on first use.
func (t *thingState) alarm(profile string, r *rule) *Alarm {
	key := alarmKey{profile, r.name}
	a := t.alarms[key]
	if a == nil || a.Fingerprint != r.fingerprint {
		a = &Alarm{Profile: profile, Behavior: r.name, Fingerprint: r.fingerprint}
		t.alarms[key] = a
	}
	a.Spec, a.Suppressed = r.spec, r.suppress
	return a
}

// windowed adds a value to the behavior's tumbling window, closing and
// evaluating the previous window when the value belongs to a later one.
func (e *Engine) windowed(now time.Time, thing string, r *rule, a *Alarm, v Value) []Event {
	start := windowStart(now, r.duration)
	var events []Event
	switch {
	case a.WindowOpen && start.Before(a.WindowStart):
		return nil // a late report for a window already evaluated
	case a.WindowOpen && start.After(a.WindowStart):
		events = e.closeWindow(thing, r, a)
	}
	if !a.WindowOpen {
		a.WindowOpen, a.WindowStart, a.WindowValue = true, start, 0
	}
	if r.metric.Counter {
		a.WindowValue += v.Number
	} else {
		a.WindowValue = v.Number
	}
	return events
}

// closeWindow evaluates the open window as one datapoint at its end.
func (e *Engine) closeWindow(thing string, r *rule, a *Alarm) []Event {
	end := a.WindowStart.Add(r.duration)
	v := Value{Kind: r.metric.Kind, Number: a.WindowValue}
	a.WindowOpen, a.WindowValue = false, 0
	return e.evaluate(end, thing, r, a, v)
}

// windowStart aligns t down to a multiple of d since the Unix epoch.
func windowStart(t time.Time, d time.Duration) time.Time {
	ns := t.UnixNano()
	return time.Unix(0, ns-ns%int64(d)).UTC()
}

// evaluate runs the alarm state machine on one datapoint.
func (e *Engine) evaluate(now time.Time, thing string, r *rule, a *Alarm, v Value) []Event {
	if a.Active && v.Empty() {
		return e.clear(now, thing, a, v) // an empty set clears at once
	}
	if !r.violates(v) {
		a.Violations = 0
		if !a.Active {
			return nil
		}
		a.Compliant++
		if a.Compliant < r.toClear {
			return nil
		}
		return e.clear(now, thing, a, v)
	}
	a.Compliant = 0
	a.Violations++
	last := v
	a.LastValue, a.LastViolationTime = &last, now
	if a.Active || a.Violations < r.toAlarm {
		return nil
	}
	a.Active, a.ViolationID, a.Start = true, e.opts.NewViolationID(), now
	return []Event{{Type: proto.InAlarm, Thing: thing, Profile: a.Profile, Behavior: r.spec, Value: &last,
		Time: now, ViolationID: a.ViolationID, StartTime: now, Suppressed: r.suppress}}
}

func (e *Engine) clear(now time.Time, thing string, a *Alarm, v Value) []Event {
	ev := Event{Type: proto.AlarmCleared, Thing: thing, Profile: a.Profile, Behavior: a.Spec, Value: &v,
		Time: now, ViolationID: a.ViolationID, StartTime: a.Start, Suppressed: a.Suppressed}
	a.Active, a.Violations, a.Compliant = false, 0, 0
	return []Event{ev}
}

// Tick evaluates the windows that ended (plus their grace period) by now,
// and invalidates the alarms of things silent for longer than the silence
// timeout, forgetting those things.
func (e *Engine) Tick(now time.Time) []Event {
	var events []Event
	for _, name := range sortedKeys(e.things) {
		t := e.things[name]
		if now.Sub(t.lastSeen) > e.opts.SilenceTimeout {
			events = append(events, e.RemoveThing(now, name)...)
			continue
		}
		events = append(events, e.closeDue(now, name, t)...)
	}
	return events
}

func (e *Engine) closeDue(now time.Time, name string, t *thingState) []Event {
	var events []Event
	for _, key := range sortedAlarmKeys(t.alarms) {
		a := t.alarms[key]
		if !a.WindowOpen {
			continue
		}
		r := e.rule(key)
		if r == nil || r.fingerprint != a.Fingerprint {
			continue
		}
		grace := time.Duration(float64(r.duration) * e.opts.GraceFraction)
		if !now.Before(a.WindowStart.Add(r.duration + grace)) {
			events = append(events, e.closeWindow(name, r, a)...)
			e.dirty[name] = struct{}{}
		}
	}
	return events
}

func (e *Engine) rule(key alarmKey) *rule {
	p := e.profiles[key.profile]
	if p == nil {
		return nil
	}
	for _, r := range p.rules {
		if r.name == key.behavior {
			return r
		}
	}
	return nil
}

func sortedAlarmKeys(m map[alarmKey]*Alarm) []alarmKey {
	keys := make([]alarmKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b alarmKey) int {
		if c := strings.Compare(a.profile, b.profile); c != 0 {
			return c
		}
		return strings.Compare(a.behavior, b.behavior)
	})
	return keys
}

// String describes an event for logs and test failures.
func (ev Event) String() string {
	return fmt.Sprintf("%s %s/%s/%s %s", ev.Time.UTC().Format(time.RFC3339), ev.Profile, ev.Thing, ev.Behavior.Name, ev.Type)
}
