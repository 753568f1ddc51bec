package mitigation

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
)

// MaxActionsPerBehavior bounds the actions of one behavior.
const MaxActionsPerBehavior = 5

var groupName = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)

func validGroupName(s string) bool { return groupName.MatchString(s) }

// checkAction validates one action: exactly one type, with valid fields.
func checkAction(field string, a ActionParams) error {
	switch {
	case (a.Quarantine == nil) == (a.AddThingsToGroups == nil):
		return invalid("%s: set exactly one of quarantineParams and addThingsToThingGroupParams", field)
	case a.Quarantine != nil:
		if err := checkQuarantine(*a.Quarantine); err != nil {
			return invalid("%s.quarantineParams.%s", field, err.Error())
		}
	default:
		names := a.AddThingsToGroups.ThingGroupNames
		if len(names) == 0 || len(names) > 10 {
			return invalid("%s.addThingsToThingGroupParams.thingGroupNames: 1 to 10 groups", field)
		}
		for _, g := range names {
			if !validGroupName(g) {
				return invalid("%s.addThingsToThingGroupParams.thingGroupNames: %q must be 1 to 128 of a-z A-Z 0-9 : _ -", field, g)
			}
		}
	}
	return nil
}

// SetProfileMitigations replaces a profile's mitigations. Each behavior
// must be one of the profile's (behaviors names them), and appear once.
func (m *Manager) SetProfileMitigations(p ProfileMitigations, behaviors []string) (ProfileMitigations, error) {
	seen := map[string]bool{}
	for i, bm := range p.Behaviors {
		field := fmt.Sprintf("behaviorMitigations[%d]", i)
		switch {
		case !slices.Contains(behaviors, bm.BehaviorName):
			return ProfileMitigations{}, invalid("%s.behaviorName: profile %q has no behavior %q", field, p.Profile, bm.BehaviorName)
		case seen[bm.BehaviorName]:
			return ProfileMitigations{}, invalid("%s.behaviorName: %q appears twice", field, bm.BehaviorName)
		case len(bm.Actions) == 0 || len(bm.Actions) > MaxActionsPerBehavior:
			return ProfileMitigations{}, invalid("%s.actions: 1 to %d actions", field, MaxActionsPerBehavior)
		}
		seen[bm.BehaviorName] = true
		for j, a := range bm.Actions {
			if err := checkAction(fmt.Sprintf("%s.actions[%d]", field, j), a); err != nil {
				return ProfileMitigations{}, err
			}
		}
	}
	p.Modified = m.opts.Now().UTC()
	b := m.opts.DB.NewBatch()
	b.Put(ProfileActions, p.Profile, p)
	if err := m.opts.DB.Commit(b); err != nil {
		return ProfileMitigations{}, fmt.Errorf("set mitigations of %q: %w", p.Profile, err)
	}
	m.mu.Lock()
	m.profiles[p.Profile] = p
	m.mu.Unlock()
	return p, nil
}

// ProfileMitigationsOf returns a profile's mitigations.
func (m *Manager) ProfileMitigationsOf(profile string) (ProfileMitigations, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.profiles[profile]
	return p, ok
}

// DeleteProfileMitigations removes a profile's mitigations.
func (m *Manager) DeleteProfileMitigations(profile string) error {
	if _, ok := m.ProfileMitigationsOf(profile); !ok {
		return &registry.Error{Kind: registry.ErrNotFound, Message: fmt.Sprintf("security profile %q has no mitigations", profile)}
	}
	b := m.opts.DB.NewBatch()
	b.Delete(ProfileActions, profile)
	if err := m.opts.DB.Commit(b); err != nil {
		return fmt.Errorf("delete mitigations of %q: %w", profile, err)
	}
	m.mu.Lock()
	delete(m.profiles, profile)
	m.mu.Unlock()
	return nil
}

// HandleEvent queues a violation event; Run applies the mitigations of its
// behavior when it is an in-alarm event. It never blocks.
func (m *Manager) HandleEvent(ev proto.ViolationEvent) {
	if ev.ViolationEventType != proto.InAlarm {
		return
	}
	m.qmu.Lock()
	m.queue = append(m.queue, ev)
	m.qmu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// drain applies the mitigations of the queued events.
func (m *Manager) drain() {
	m.qmu.Lock()
	events := m.queue
	m.queue = nil
	m.qmu.Unlock()
	for _, ev := range events {
		m.Apply(ev)
	}
}

// Apply runs the mitigations of an in-alarm event's behavior, each once
// per violation.
func (m *Manager) Apply(ev proto.ViolationEvent) {
	m.mu.RLock()
	p := m.profiles[ev.SecurityProfileName]
	m.mu.RUnlock()
	for _, bm := range p.Behaviors {
		if bm.BehaviorName != ev.Behavior.Name {
			continue
		}
		for _, a := range bm.Actions {
			m.applyOnce(ev, a)
		}
	}
}

func (m *Manager) applyOnce(ev proto.ViolationEvent, a ActionParams) {
	typ, params := ActionQuarantine, any(a.Quarantine)
	if a.AddThingsToGroups != nil {
		typ, params = ActionAddThingsToGroups, a.AddThingsToGroups
	}
	key := doneKey(ev.ViolationID, typ)
	m.mu.RLock()
	done := m.done[key]
	m.mu.RUnlock()
	if done {
		return
	}
	if a.Quarantine != nil {
		_, _ = m.Quarantine(Request{Thing: ev.ThingName, QuarantineParams: *a.Quarantine, ViolationID: ev.ViolationID,
			Profile: ev.SecurityProfileName, Behavior: ev.Behavior.Name,
			Reason: fmt.Sprintf("behavior %q of profile %q in alarm", ev.Behavior.Name, ev.SecurityProfileName)})
		return
	}
	start := m.opts.Now()
	var err error
	for _, g := range a.AddThingsToGroups.ThingGroupNames {
		if err = m.joinGroup(g, ev.ThingName, false); err != nil {
			break
		}
	}
	m.record(Execution{ViolationID: ev.ViolationID, Thing: ev.ThingName, Profile: ev.SecurityProfileName,
		Behavior: ev.Behavior.Name, ActionType: typ, Params: params}, start, err)
}
