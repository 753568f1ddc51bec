package detector

import (
	"cmp"
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

// unchanged returns the profile's rule with the given fingerprint, if any.
func (p *compiledProfile) unchanged(fingerprint string) *rule {
	if p == nil {
		return nil
	}
	for _, r := range p.rules {
		if r.fingerprint == fingerprint {
			return r
		}
	}
	return nil
}

// thingState is what the engine keeps about one thing: when it last
// reported, and one alarm per behavior it was evaluated against, sorted by
// profile and behavior name.
type thingState struct {
	lastSeen time.Time
	alarms   []alarm
}

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
	old := e.profiles[p.Name]
	for i, r := range rules {
		r.profile = p.Name
		if same := old.unchanged(r.fingerprint); same != nil {
			rules[i] = same // the alarms of an unchanged behavior point to it
		}
	}
	var events []Event
	if old != nil {
		for _, r := range old.rules {
			if !slices.Contains(rules, r) {
				events = e.dropRule(events, now, r)
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
		events = e.dropRule(events, now, r)
	}
	return events
}

// dropRule forgets a behavior's state on every thing, invalidating the
// alarms in force in thing name order.
func (e *Engine) dropRule(events []Event, now time.Time, r *rule) []Event {
	first := len(events)
	for name, t := range e.things {
		if i := t.find(r); i >= 0 {
			events = t.alarms[i].invalidate(events, now, name)
			t.alarms = slices.Delete(t.alarms, i, i+1)
			e.dirty[name] = struct{}{}
		}
	}
	sortByThing(events[first:])
	return events
}

// Retarget tells the engine which profiles now cover a thing; alarms under
// other profiles are invalidated (the thing left their targets).
func (e *Engine) Retarget(now time.Time, thing string, profiles []string) []Event {
	t := e.things[thing]
	if t == nil || t.coveredBy(profiles) {
		return nil
	}
	var events []Event
	kept := t.alarms[:0]
	for i := range t.alarms {
		if a := &t.alarms[i]; slices.Contains(profiles, a.rule.profile) {
			kept = append(kept, *a)
		} else {
			events = a.invalidate(events, now, thing)
		}
	}
	clear(t.alarms[len(kept):])
	t.alarms = kept
	e.dirty[thing] = struct{}{}
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
	for i := range t.alarms {
		events = t.alarms[i].invalidate(events, now, thing)
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
		t = &thingState{alarms: make([]alarm, 0, e.ruleCount(profiles))}
		e.things[thing] = t
	}
	if now.After(t.lastSeen) {
		t.lastSeen = now // a late report does not make the thing look silent sooner
	}
	e.dirty[thing] = struct{}{}
	for _, name := range profiles {
		p := e.profiles[name]
		if p == nil {
			continue
		}
		for _, r := range p.rules {
			v := valueOf(dps, r.metric.Name)
			if v == nil || v.Kind != r.metric.Kind {
				continue // no data, or a value of another type: not a datapoint of this behavior
			}
			if r.duration > 0 {
				events = e.windowed(events, now, thing, t.alarm(r), v)
			} else {
				events = e.evaluate(events, now, thing, t.alarm(r), *v)
			}
		}
	}
	return events
}

// valueOf returns the value of a metric among a report's datapoints, or nil.
func valueOf(dps []Datapoint, metric string) *Value {
	for i := range dps {
		if dps[i].Metric == metric {
			return &dps[i].Value
		}
	}
	return nil
}

// ruleCount returns the number of behaviors of the profiles.
func (e *Engine) ruleCount(profiles []string) int {
	n := 0
	for _, name := range profiles {
		if p := e.profiles[name]; p != nil {
			n += len(p.rules)
		}
	}
	return n
}

// coveredBy reports whether all the thing's alarms are under the profiles.
func (t *thingState) coveredBy(profiles []string) bool {
	for i := range t.alarms {
		p := t.alarms[i].rule.profile
		if (i == 0 || p != t.alarms[i-1].rule.profile) && !slices.Contains(profiles, p) {
			return false
		}
	}
	return true
}

// find returns the index of the rule's alarm, or -1.
func (t *thingState) find(r *rule) int {
	for i := range t.alarms {
		if t.alarms[i].rule == r {
			return i
		}
	}
	return -1
}

// alarm returns the rule's alarm, created in its sorted place on first use.
// The pointer is valid until the next alarm is created or dropped.
func (t *thingState) alarm(r *rule) *alarm {
	i := t.find(r)
	if i < 0 {
		i, _ = slices.BinarySearchFunc(t.alarms, r, func(a alarm, r *rule) int { return compareRules(a.rule, r) })
		t.alarms = slices.Insert(t.alarms, i, alarm{rule: r})
	}
	return &t.alarms[i]
}

// Tick evaluates the windows that ended (plus their grace period) by now,
// and invalidates the alarms of things silent for longer than the silence
// timeout, forgetting those things.
func (e *Engine) Tick(now time.Time) []Event {
	var events []Event
	for name, t := range e.things {
		if now.Sub(t.lastSeen) > e.opts.SilenceTimeout {
			events = append(events, e.RemoveThing(now, name)...)
			continue
		}
		events = e.closeDue(events, now, name, t)
	}
	sortByThing(events)
	return events
}

// closeDue evaluates the thing's windows whose grace period is over.
func (e *Engine) closeDue(events []Event, now time.Time, thing string, t *thingState) []Event {
	for i := range t.alarms {
		a := &t.alarms[i]
		if a.windowOpen && !now.Before(a.windowDue(e.opts.GraceFraction)) {
			events = e.closeWindow(events, thing, a)
			e.dirty[thing] = struct{}{}
		}
	}
	return events
}

// rule returns the behavior of a profile, or nil.
func (e *Engine) rule(profile, behavior string) *rule {
	p := e.profiles[profile]
	if p == nil {
		return nil
	}
	for _, r := range p.rules {
		if r.name == behavior {
			return r
		}
	}
	return nil
}

// compareRules orders rules by profile, then behavior name.
func compareRules(a, b *rule) int {
	return cmp.Or(strings.Compare(a.profile, b.profile), strings.Compare(a.name, b.name))
}

// sortByThing puts events in thing name order, keeping the order of each
// thing's events.
func sortByThing(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int { return strings.Compare(a.Thing, b.Thing) })
}

// String describes an event for logs and test failures.
func (ev Event) String() string {
	return fmt.Sprintf("%s %s/%s/%s %s", ev.Time.UTC().Format(time.RFC3339), ev.Profile, ev.Thing, ev.Behavior.Name, ev.Type)
}
