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
	// DefaultMinPopulation is the smallest population whose statistic makes
	// a threshold.
	DefaultMinPopulation = 10
)

// Options configures an Engine. The zero value works.
type Options struct {
	// SilenceTimeout: 0 means DefaultSilenceTimeout.
	SilenceTimeout time.Duration
	// GraceFraction: 0 means DefaultGraceFraction; more than 1 (a whole
	// window) is taken as 1.
	GraceFraction float64
	// MinPopulation is the number of devices a statistical behavior's window
	// needs for a threshold: 0 means DefaultMinPopulation.
	MinPopulation int
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
	Type     proto.EventType
	Thing    string
	Profile  string
	Behavior proto.Behavior
	Value    *Value
	// Threshold is, for a statistical behavior, what Value was judged
	// against: the threshold, its statistic and the population size. An
	// alarm-invalidated event carries the last violating datapoint's.
	Threshold   *proto.ThresholdInfo
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
	dirty    []dirtyThing
	// dirtyNames is the room TakeDirty returns the names in.
	dirtyNames []string
	// nextCheck is a time before which Tick need not look at the things:
	// no static window is due and no thing has been silent too long.
	nextCheck time.Time
	// values holds a population's values while its statistic is computed;
	// it is kept from one window to the next.
	values []float64
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
// profile and behavior name; dirty says it is listed in Engine.dirty.
type thingState struct {
	lastSeen  int64 // Unix nanoseconds
	savedSeen int64 // lastSeen when the thing was last marked dirty
	alarms    []alarm
	dirty     bool
}

// dirtyThing is a thing whose state changed since the last TakeDirty;
// state is nil when the thing was not at hand to flag.
type dirtyThing struct {
	name  string
	state *thingState
}

// markDirty records that a thing's state changed: a flag and an append,
// cheap enough for a Tick that changes a million things.
func (e *Engine) markDirty(name string, t *thingState) {
	t.savedSeen = t.lastSeen
	if !t.dirty {
		t.dirty = true
		e.dirty = append(e.dirty, dirtyThing{name, t})
	}
}

// New returns an Engine with no profile and no thing.
func New(opts Options) *Engine {
	if opts.SilenceTimeout <= 0 {
		opts.SilenceTimeout = DefaultSilenceTimeout
	}
	if opts.GraceFraction <= 0 {
		opts.GraceFraction = DefaultGraceFraction
	}
	opts.GraceFraction = min(opts.GraceFraction, 1)
	if opts.MinPopulation <= 0 {
		opts.MinPopulation = DefaultMinPopulation
	}
	if opts.Lookup == nil {
		opts.Lookup = DeviceMetricsOnly
	}
	if opts.NewViolationID == nil {
		opts.NewViolationID = proto.NewViolationID
	}
	return &Engine{opts: opts, profiles: map[string]*compiledProfile{}, things: map[string]*thingState{}}
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
			e.markDirty(name, t)
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
			a.leave()
			events = a.invalidate(events, now, thing)
		}
	}
	clear(t.alarms[len(kept):])
	t.alarms = kept
	e.markDirty(thing, t)
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
		t.alarms[i].leave()
		events = t.alarms[i].invalidate(events, now, thing)
	}
	delete(e.things, thing)
	e.markDirty(thing, t)
	return events
}

// Observe evaluates the datapoints of one report of a thing at time now,
// under the profiles that cover the thing. Alarms under profiles no longer
// listed are invalidated first. When the report needs the place of a
// statistical window that still awaits its population, the behavior's
// populations up to that window are evaluated first, and their events, for
// every thing of them, are among those returned, in thing name order.
func (e *Engine) Observe(now time.Time, thing string, profiles []string, dps []Datapoint) []Event {
	events := e.Retarget(now, thing, profiles)
	t := e.things[thing]
	if t == nil {
		t = &thingState{alarms: make([]alarm, 0, e.ruleCount(profiles)), lastSeen: now.UnixNano()}
		e.things[thing] = t
		e.soon(e.silentAfter(t))
		e.markDirty(thing, t)
	}
	if ns := now.UnixNano(); ns > t.lastSeen {
		t.lastSeen = ns // a late report does not make the thing look silent sooner
	}
	// Most reports change nothing but the last-seen time (every behavior
	// compliant, no alarm, no window): the thing is then not marked dirty,
	// and its state is not saved again for that alone. See TakeDirty.
	var before [8]alarm
	n := copy(before[:], t.alarms)
	closed := false
	for _, name := range profiles {
		p := e.profiles[name]
		if p == nil {
			continue
		}
		for _, r := range p.rules {
			v := valueOf(dps, r.series)
			if v == nil || v.Kind != r.metric.Kind {
				continue // no data, or a value of another type: not a datapoint of this behavior
			}
			switch {
			case r.statistical():
				var c bool
				events, c = e.windowedStatistical(events, now, thing, t, t.alarm(r), v)
				closed = closed || c
			case r.duration > 0:
				events = e.windowed(events, now, thing, t.alarm(r), v)
			default:
				events = e.evaluate(events, now, thing, t.alarm(r), *v, e.opts.NewViolationID)
			}
		}
	}
	if !t.dirty && (len(t.alarms) > len(before) || !slices.Equal(before[:n], t.alarms) || t.lastSeen-t.savedSeen >= e.seenSlack()) {
		e.markDirty(thing, t)
	}
	if closed {
		sortByThing(events)
	}
	return events
}

// seenSlack is how far a thing's last-seen time may move before its state
// is saved for that alone: a sixteenth of the silence timeout (3 hours of
// the default 48). After a restart, a thing that sent no report since may
// thus be found silent that much sooner; the detector's service gives the
// engine each thing's last report time after restoring (Seen), which makes
// up for it for every thing that reports.
func (e *Engine) seenSlack() int64 {
	return int64(e.opts.SilenceTimeout / 16)
}

// Seen moves a thing's last-seen time forward to at, without marking the
// thing dirty: for a time the caller has saved itself, given back after
// Restore.
func (e *Engine) Seen(thing string, at time.Time) {
	t := e.things[thing]
	if t == nil {
		return
	}
	if ns := at.UnixNano(); ns > t.lastSeen {
		t.lastSeen = ns
		t.savedSeen = max(t.savedSeen, ns)
	}
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
		t.alarms = slices.Insert(t.alarms, i, alarm{rule: r, windowStart: noWindow})
	}
	return &t.alarms[i]
}

// Tick evaluates the windows that ended (plus their grace period) by now,
// statistical ones against the statistic of their population, and
// invalidates the alarms of things silent for longer than the silence
// timeout, forgetting those things. Its events are in thing name order, and
// in profile and behavior name order for one thing. It looks at every thing
// only when a static window is due or a thing may have been silent too
// long; statistical windows are kept by behavior.
func (e *Engine) Tick(now time.Time) []Event {
	var events []Event
	if !now.Before(e.nextCheck) {
		events = e.checkThings(events, now)
	}
	events = e.closeDuePopulations(events, now)
	sortEvents(events)
	e.assignIDs(events)
	return events
}

// checkThings forgets the things silent for too long and evaluates the
// static windows that are due, and finds when to look again.
func (e *Engine) checkThings(events []Event, now time.Time) []Event {
	e.nextCheck = never
	for name, t := range e.things {
		if !now.Before(e.silentAfter(t)) {
			events = append(events, e.RemoveThing(now, name)...)
			continue
		}
		events = e.closeDue(events, now, name, t)
		e.soon(e.silentAfter(t))
	}
	return events
}

// never is a time after every time the engine meets.
var never = time.Unix(1<<62, 0)

// soon brings the next check of Tick forward to t if t is earlier.
func (e *Engine) soon(t time.Time) {
	if t.Before(e.nextCheck) {
		e.nextCheck = t
	}
}

// silentAfter returns the first time at which the thing has been silent
// for longer than the silence timeout.
func (e *Engine) silentAfter(t *thingState) time.Time {
	return unixTime(t.lastSeen).Add(e.opts.SilenceTimeout + time.Nanosecond)
}

// closeDue evaluates the thing's static windows whose grace period is
// over.
func (e *Engine) closeDue(events []Event, now time.Time, thing string, t *thingState) []Event {
	for i := range t.alarms {
		a := &t.alarms[i]
		if !a.windowOpen || a.rule.statistical() {
			continue
		}
		if due := a.windowDue(e.opts.GraceFraction); now.Before(due) {
			e.soon(due)
			continue
		}
		events = e.closeWindow(events, thing, a, deferID)
		e.markDirty(thing, t)
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

// sortEvents puts events in thing, profile and behavior name order,
// keeping the order of each alarm's events.
func sortEvents(events []Event) {
	slices.SortStableFunc(events, compareAlarms)
}

func compareAlarms(a, b Event) int {
	return cmp.Or(strings.Compare(a.Thing, b.Thing), strings.Compare(a.Profile, b.Profile), strings.Compare(a.Behavior.Name, b.Behavior.Name))
}

// assignIDs hands out the violation ids that a batch of evaluations
// deferred, in event order: ids go out as if things were evaluated one by
// one in name order, and the later events of an alarm that went in force in
// the batch take its id.
func (e *Engine) assignIDs(events []Event) {
	for i := range events {
		ev := &events[i]
		if ev.ViolationID != "" {
			continue
		}
		if ev.Type != proto.InAlarm && i > 0 && compareAlarms(events[i-1], *ev) == 0 {
			ev.ViolationID = events[i-1].ViolationID
		} else {
			ev.ViolationID = e.opts.NewViolationID()
		}
		if a := e.alarmFor(ev.Thing, e.rule(ev.Profile, ev.Behavior.Name)); a != nil && a.violationID == "" {
			a.violationID = ev.ViolationID
		}
	}
}

// String describes an event for logs and test failures.
func (ev Event) String() string {
	return fmt.Sprintf("%s %s/%s/%s %s", ev.Time.UTC().Format(time.RFC3339), ev.Profile, ev.Thing, ev.Behavior.Name, ev.Type)
}
