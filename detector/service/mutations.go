package service

import (
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// change runs fn with the engine and registry locked and a store batch,
// records the events it returns, commits, and publishes the messages. When
// retarget is true, every thing's coverage is checked again afterwards.
func (s *Service) change(retarget bool, fn func(b *store.Batch, now time.Time) ([]detector.Event, error)) error {
	s.mu.Lock()
	now := s.now()
	b := s.db.NewBatch()
	events, err := fn(b, now)
	if err != nil {
		s.staged = nil // messages of a refused change never go out
		s.mu.Unlock()
		b.Discard()
		return err
	}
	if retarget {
		for _, thing := range s.eng.ThingNames() {
			events = append(events, s.eng.Retarget(now, thing, s.reg.ProfilesFor(thing))...)
		}
	}
	s.record(b, events)
	s.saveStates(b)
	j := &commitJob{batch: b, done: make(chan error, 1)}
	s.submit(j)
	s.mu.Unlock()
	return <-j.done
}

// now is the service clock: the server's, or the latest report time.
func (s *Service) now() time.Time {
	if s.opts.ReportTime && !s.clock.IsZero() {
		return s.clock
	}
	return s.opts.Now()
}

// Registry returns the registry, for reads.
func (s *Service) Registry() *registry.Registry { return s.reg }

// CreateProfile creates a security profile.
func (s *Service) CreateProfile(p registry.Profile) (registry.Profile, error) {
	var out registry.Profile
	err := s.change(false, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		var err error
		if out, err = s.reg.CreateProfile(b, now, p); err != nil {
			return nil, err
		}
		s.refreshRetained()
		return s.eng.SetProfile(now, detector.Profile{Name: out.Name, Behaviors: out.Behaviors})
	})
	return out, err
}

// UpdateProfile patches a security profile; alarms of changed or removed
// behaviors are invalidated.
func (s *Service) UpdateProfile(name string, patch registry.ProfilePatch) (registry.Profile, error) {
	var out registry.Profile
	err := s.change(false, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		var err error
		if out, err = s.reg.UpdateProfile(b, now, name, patch); err != nil {
			return nil, err
		}
		s.refreshRetained()
		return s.eng.SetProfile(now, detector.Profile{Name: out.Name, Behaviors: out.Behaviors})
	})
	return out, err
}

// DeleteProfile deletes a security profile and invalidates its alarms.
func (s *Service) DeleteProfile(name string, expectedVersion *int64) error {
	return s.change(false, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		if err := s.reg.DeleteProfile(b, name, expectedVersion); err != nil {
			return nil, err
		}
		s.refreshRetained()
		if f := s.retain.fleet; f != nil {
			if err := f.Forget(name); err != nil {
				s.log.Warn().Err(err).Str("profile", name).Msg("forget fleet statistics")
			}
		}
		return s.eng.DeleteProfile(now, name), nil
	})
}

// Attach attaches a profile to a target.
func (s *Service) Attach(profile string, t registry.Target) error {
	return s.change(true, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.Attach(b, profile, t)
	})
}

// Detach detaches a profile from a target; alarms of things it no longer
// covers are invalidated.
func (s *Service) Detach(profile string, t registry.Target) error {
	return s.change(true, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.Detach(b, profile, t)
	})
}

// CreateThing registers a thing.
func (s *Service) CreateThing(name string, attrs map[string]string, password string) (registry.Thing, error) {
	var out registry.Thing
	err := s.change(true, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		var err error
		out, err = s.reg.CreateThing(b, now, name, attrs, password)
		return nil, err
	})
	return out, err
}

// SetThingPassword sets or removes a thing's MQTT password.
func (s *Service) SetThingPassword(name, password string) error {
	return s.change(false, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.SetPassword(b, name, password)
	})
}

// DeleteThing deletes a thing and invalidates its alarms.
func (s *Service) DeleteThing(name string) error {
	return s.change(true, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		if err := s.reg.DeleteThing(b, name); err != nil {
			return nil, err
		}
		return s.eng.RemoveThing(now, name), nil
	})
}

// CreateGroup creates a thing group.
func (s *Service) CreateGroup(g registry.Group) (registry.Group, error) {
	var out registry.Group
	err := s.change(false, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		var err error
		out, err = s.reg.CreateGroup(b, now, g)
		return nil, err
	})
	return out, err
}

// DeleteGroup deletes a thing group.
func (s *Service) DeleteGroup(name string) error {
	return s.change(true, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.DeleteGroup(b, name)
	})
}

// AddThingToGroup puts a thing into a group.
func (s *Service) AddThingToGroup(group, thing string) error {
	return s.change(true, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.AddThingToGroup(b, group, thing)
	})
}

// RemoveThingFromGroup takes a thing out of a group.
func (s *Service) RemoveThingFromGroup(group, thing string) error {
	return s.change(true, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.RemoveThingFromGroup(b, group, thing)
	})
}

// CreateCustomMetric defines a custom metric.
func (s *Service) CreateCustomMetric(m registry.CustomMetric) (registry.CustomMetric, error) {
	var out registry.CustomMetric
	err := s.change(false, func(b *store.Batch, now time.Time) ([]detector.Event, error) {
		var err error
		out, err = s.reg.CreateCustomMetric(b, now, m)
		return nil, err
	})
	return out, err
}

// DeleteCustomMetric deletes a custom metric no profile uses.
func (s *Service) DeleteCustomMetric(name string) error {
	return s.change(false, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		return nil, s.reg.DeleteCustomMetric(b, name)
	})
}

// PutVerificationState records an operator's verdict on a violation, active
// or past.
func (s *Service) PutVerificationState(violationID string, state proto.VerificationState, description string) error {
	if !state.Valid() {
		return &registry.Error{Kind: registry.ErrInvalid, Message: "verificationState: must be FALSE_POSITIVE, BENIGN_POSITIVE, TRUE_POSITIVE or UNKNOWN"}
	}
	if len(description) > 1000 {
		return &registry.Error{Kind: registry.ErrInvalid, Message: "verificationStateDescription: at most 1000 characters"}
	}
	return s.change(false, func(b *store.Batch, _ time.Time) ([]detector.Event, error) {
		if rec := s.active[violationID]; rec != nil {
			rec.VerificationState, rec.VerificationStateDescription = state, description
			b.Put(store.Active, violationID, rec)
			s.enqueue(b, activeMessage(rec))
		} else if !s.violationExists(violationID) {
			return nil, &registry.Error{Kind: registry.ErrNotFound, Message: "violation " + violationID + " not found"}
		}
		b.Put(store.Verification, violationID, verification{State: state, Description: description})
		return nil, nil
	})
}
