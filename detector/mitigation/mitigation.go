package mitigation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options.
const (
	// DefaultQuarantineGroup is the thing group of quarantined things when
	// an action names none.
	DefaultQuarantineGroup = "quarantine"
	// DefaultTickInterval is how often Run ends time boxes.
	DefaultTickInterval = time.Second
	// MaxDuration is the longest time box.
	MaxDuration = 366 * 24 * time.Hour
)

// Disconnector ends the MQTT connection of a thing. It returns an error
// wrapping ErrNotConnected, or any error, when there was none to end;
// either way the thing is quarantined.
type Disconnector interface {
	Disconnect(thing string) error
}

// Groups changes group memberships; the detector service fits.
type Groups interface {
	CreateGroup(g registry.Group) (registry.Group, error)
	AddThingToGroup(group, thing string) error
	RemoveThingFromGroup(group, thing string) error
}

// Options configure New. DB and Groups are required.
type Options struct {
	DB     *store.DB
	Groups Groups
	// Disconnector ends connections; nil when there is no broker of
	// Vigil's (sidecar mode).
	Disconnector Disconnector
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TickInterval: 0 means DefaultTickInterval.
	TickInterval time.Duration
	// Retention is how long executions are kept; 0 keeps them for ever.
	Retention time.Duration
	Logger    zerolog.Logger
}

// Manager applies and records mitigations.
type Manager struct {
	opts Options
	log  zerolog.Logger

	mu          sync.RWMutex
	quarantined map[string]Entry
	// view is a copy of the quarantined names, replaced on every change,
	// so that Quarantined reads it without a lock.
	view      atomic.Pointer[map[string]struct{}]
	profiles  map[string]ProfileMitigations
	done      map[string]bool // doneKey: the actions already taken
	lastID    int64
	lastPrune time.Time

	// events waiting for Run: HandleEvent may be called from a publisher
	// that holds the detector's locks, so it never acts in place.
	qmu    sync.Mutex
	queue  []proto.ViolationEvent
	signal chan struct{}
}

// New loads the quarantines, the profiles' mitigations and the executions
// from the store.
func New(opts Options) (*Manager, error) {
	if opts.DB == nil || opts.Groups == nil {
		return nil, errors.New("new mitigation manager: DB and Groups are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TickInterval <= 0 {
		opts.TickInterval = DefaultTickInterval
	}
	m := &Manager{opts: opts, log: opts.Logger.With().Str("component", "mitigation").Logger(),
		quarantined: map[string]Entry{}, profiles: map[string]ProfileMitigations{}, done: map[string]bool{},
		signal: make(chan struct{}, 1)}
	if err := m.load(); err != nil {
		return nil, err
	}
	m.publish()
	return m, nil
}

func (m *Manager) load() error {
	scans := []struct {
		kind store.Kind
		fn   func(data []byte) error
	}{
		{Quarantines, func(d []byte) error {
			var e Entry
			err := json.Unmarshal(d, &e)
			m.quarantined[e.Thing] = e
			return err
		}},
		{ProfileActions, func(d []byte) error {
			var p ProfileMitigations
			err := json.Unmarshal(d, &p)
			m.profiles[p.Profile] = p
			return err
		}},
		{Executions, func(d []byte) error {
			var x Execution
			err := json.Unmarshal(d, &x)
			m.remember(x)
			return err
		}},
	}
	for _, s := range scans {
		if err := m.opts.DB.Scan(s.kind, "", func(_ string, d []byte) error { return s.fn(d) }); err != nil {
			return fmt.Errorf("load %s records: %w", s.kind, err)
		}
	}
	return nil
}

// remember notes an execution loaded or made: its id, and that its
// violation's action ran.
func (m *Manager) remember(x Execution) {
	var id int64
	if _, err := fmt.Sscanf(x.ID, "%x", &id); err == nil && id > m.lastID {
		m.lastID = id
	}
	if x.ViolationID != "" {
		m.done[doneKey(x.ViolationID, x.ActionType)] = true
	}
}

// doneKey names an action type taken for a violation: each runs once.
func doneKey(violationID, actionType string) string {
	return violationID + "\x00" + actionType
}

// Quarantined reports whether a thing is quarantined now. It is safe for
// concurrent use and takes no lock: the broker asks it on every message.
func (m *Manager) Quarantined(thing string) bool {
	_, ok := (*m.view.Load())[thing]
	return ok
}

// publish replaces the view of the quarantined names; m.mu is held.
func (m *Manager) publish() {
	v := make(map[string]struct{}, len(m.quarantined))
	for name := range m.quarantined {
		v[name] = struct{}{}
	}
	m.view.Store(&v)
}

// Quarantines lists the quarantined things in name order.
func (m *Manager) Quarantines() []Entry {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Entry, 0, len(m.quarantined))
	for _, name := range slices.Sorted(maps.Keys(m.quarantined)) {
		out = append(out, m.quarantined[name])
	}
	return out
}

// QuarantineOf returns a thing's quarantine.
func (m *Manager) QuarantineOf(thing string) (Entry, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.quarantined[thing]
	return e, ok
}

// Request is a quarantine to apply.
type Request struct {
	Thing string
	QuarantineParams
	// ViolationID, Profile and Behavior name the alarm that asked for the
	// quarantine; empty for an operator's.
	ViolationID, Profile, Behavior string
	Reason                         string
}

// invalid is a registry error of kind ErrInvalid, which the API answers
// with 400.
func invalid(format string, args ...any) error {
	return &registry.Error{Kind: registry.ErrInvalid, Message: fmt.Sprintf(format, args...)}
}

// checkQuarantine validates quarantine parameters.
func checkQuarantine(p QuarantineParams) error {
	if p.DurationSeconds < 0 || time.Duration(p.DurationSeconds)*time.Second > MaxDuration {
		return invalid("durationSeconds: %d must be 0 (until released) to %d", p.DurationSeconds, int64(MaxDuration/time.Second))
	}
	if p.ThingGroupName != "" && !validGroupName(p.ThingGroupName) {
		return invalid("thingGroupName: %q must be 1 to 128 of a-z A-Z 0-9 : _ -", p.ThingGroupName)
	}
	return nil
}

// Quarantine quarantines a thing: it joins the quarantine group (created
// when missing), is recorded as quarantined, and is disconnected. The
// execution is recorded, failed or not.
func (m *Manager) Quarantine(r Request) (Entry, error) {
	if err := checkQuarantine(r.QuarantineParams); err != nil {
		return Entry{}, err
	}
	if r.ThingGroupName == "" {
		r.ThingGroupName = DefaultQuarantineGroup
	}
	start := m.opts.Now()
	e, err := m.quarantine(r, start)
	m.record(Execution{ViolationID: r.ViolationID, Thing: r.Thing, Profile: r.Profile, Behavior: r.Behavior,
		ActionType: ActionQuarantine, Params: r.QuarantineParams, Message: r.Reason}, start, err)
	return e, err
}

func (m *Manager) quarantine(r Request, now time.Time) (Entry, error) {
	if err := m.joinGroup(r.ThingGroupName, r.Thing, true); err != nil {
		return Entry{}, err
	}
	e := Entry{Thing: r.Thing, Group: r.ThingGroupName, Since: now.UnixMilli(), ViolationID: r.ViolationID, Reason: r.Reason}
	if r.DurationSeconds > 0 {
		e.Until = now.Add(time.Duration(r.DurationSeconds) * time.Second).UnixMilli()
	}
	b := m.opts.DB.NewBatch()
	b.Put(Quarantines, r.Thing, e)
	if err := m.opts.DB.Commit(b); err != nil {
		return Entry{}, fmt.Errorf("quarantine %q: %w", r.Thing, err)
	}
	m.mu.Lock()
	old, had := m.quarantined[r.Thing]
	m.quarantined[r.Thing] = e
	m.publish()
	m.mu.Unlock()
	if had && old.Group != e.Group {
		m.leaveGroup(old.Group, r.Thing)
	}
	m.disconnect(r.Thing)
	m.log.Info().Str("thing", r.Thing).Str("group", e.Group).Int64("until", e.Until).Str("violation", r.ViolationID).Msg("quarantined")
	return e, nil
}

// joinGroup adds a thing to a group, creating the group when create is set
// and it does not exist.
func (m *Manager) joinGroup(group, thing string, create bool) error {
	err := m.opts.Groups.AddThingToGroup(group, thing)
	if create && errors.Is(err, registry.ErrNotFound) {
		_, cerr := m.opts.Groups.CreateGroup(registry.Group{Name: group, Description: "Quarantined things"})
		if cerr != nil && !errors.Is(cerr, registry.ErrExists) {
			return fmt.Errorf("create quarantine group %q: %w", group, cerr)
		}
		err = m.opts.Groups.AddThingToGroup(group, thing)
	}
	if err != nil {
		return fmt.Errorf("add %q to thing group %q: %w", thing, group, err)
	}
	return nil
}

// leaveGroup takes a thing out of a group; a thing or group gone since is
// not an error.
func (m *Manager) leaveGroup(group, thing string) {
	err := m.opts.Groups.RemoveThingFromGroup(group, thing)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		m.log.Warn().Err(err).Str("thing", thing).Str("group", group).Msg("leave quarantine group")
	}
}

// disconnect ends a thing's connection, if there is a broker and one.
func (m *Manager) disconnect(thing string) {
	if m.opts.Disconnector == nil {
		return
	}
	if err := m.opts.Disconnector.Disconnect(thing); err != nil {
		m.log.Debug().Err(err).Str("thing", thing).Msg("not disconnected")
	}
}

// Release ends a thing's quarantine: it leaves the quarantine group and may
// use the broker as before. reason is recorded.
func (m *Manager) Release(thing, reason string) (Entry, error) {
	now := m.opts.Now()
	m.mu.Lock()
	e, ok := m.quarantined[thing]
	m.mu.Unlock()
	if !ok {
		return Entry{}, &registry.Error{Kind: registry.ErrNotFound, Message: fmt.Sprintf("thing %q is not quarantined", thing)}
	}
	b := m.opts.DB.NewBatch()
	b.Delete(Quarantines, thing)
	err := m.opts.DB.Commit(b)
	if err == nil {
		m.mu.Lock()
		if cur, ok := m.quarantined[thing]; ok && cur == e {
			delete(m.quarantined, thing)
			m.publish()
		}
		m.mu.Unlock()
		m.leaveGroup(e.Group, thing)
		m.log.Info().Str("thing", thing).Str("reason", reason).Msg("released from quarantine")
	} else {
		err = fmt.Errorf("release %q: %w", thing, err)
	}
	m.record(Execution{ViolationID: e.ViolationID, Thing: thing, ActionType: ActionRelease, Message: reason}, now, err)
	return e, err
}

// Tick releases the things whose time box has ended by now.
func (m *Manager) Tick(now time.Time) {
	m.mu.RLock()
	var due []string
	for thing, e := range m.quarantined {
		if e.Until > 0 && e.Until <= now.UnixMilli() {
			due = append(due, thing)
		}
	}
	m.mu.RUnlock()
	for _, thing := range due {
		if _, err := m.Release(thing, "time box ended"); err != nil {
			m.log.Error().Err(err).Str("thing", thing).Msg("end of quarantine time box")
		}
	}
	if m.opts.Retention > 0 && now.Sub(m.lastPrune) > time.Hour {
		m.lastPrune = now
		if err := m.Prune(now.Add(-m.opts.Retention)); err != nil {
			m.log.Error().Err(err).Msg("retention of mitigation executions")
		}
	}
}

// Run applies the queued violation events' mitigations and ends time
// boxes, until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	ticker := time.NewTicker(m.opts.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.signal:
			m.drain()
		case <-ticker.C:
			m.Tick(m.opts.Now())
		}
	}
}

// record stores an execution; err is its failure, or nil.
func (m *Manager) record(x Execution, start time.Time, err error) {
	x.Start, x.End, x.Status = start.UnixMilli(), m.opts.Now().UnixMilli(), Successful
	if err != nil {
		x.Status = Failed
		x.Message = err.Error()
	}
	m.mu.Lock()
	m.lastID = max(m.lastID+1, start.UnixNano())
	x.ID = fmt.Sprintf("%016x", m.lastID)
	m.remember(x)
	m.mu.Unlock()
	b := m.opts.DB.NewBatch()
	b.Put(Executions, x.ID, x)
	if err := m.opts.DB.Commit(b); err != nil {
		m.log.Error().Err(err).Str("thing", x.Thing).Str("action", x.ActionType).Msg("record mitigation")
	}
}

// ExecutionFilter narrows Executions; empty fields match everything.
type ExecutionFilter struct {
	ViolationID, Thing string
	// Start and End bound the execution start time; zero means unbounded.
	Start, End time.Time
}

// Executions lists the recorded actions that match f, oldest first.
func (m *Manager) Executions(f ExecutionFilter) ([]Execution, error) {
	var out []Execution
	err := m.opts.DB.Scan(Executions, "", func(_ string, d []byte) error {
		var x Execution
		if err := json.Unmarshal(d, &x); err != nil {
			return err
		}
		if f.match(x) {
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list mitigation executions: %w", err)
	}
	return out, nil
}

func (f ExecutionFilter) match(x Execution) bool {
	switch {
	case f.ViolationID != "" && x.ViolationID != f.ViolationID:
		return false
	case f.Thing != "" && x.Thing != f.Thing:
		return false
	case !f.Start.IsZero() && x.Start < f.Start.UnixMilli():
		return false
	case !f.End.IsZero() && x.Start >= f.End.UnixMilli():
		return false
	}
	return true
}

// Prune deletes the executions that started before t.
func (m *Manager) Prune(t time.Time) error {
	b := m.opts.DB.NewBatch()
	err := m.opts.DB.Scan(Executions, "", func(name string, d []byte) error {
		var x Execution
		if err := json.Unmarshal(d, &x); err != nil {
			return err
		}
		if x.Start < t.UnixMilli() {
			b.Delete(Executions, name)
		}
		return nil
	})
	if err != nil {
		b.Discard()
		return fmt.Errorf("prune mitigation executions: %w", err)
	}
	return m.opts.DB.Commit(b)
}
