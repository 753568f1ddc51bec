package service

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// ViolationFilter selects violations and events, as AWS's list calls do.
// Empty fields match everything.
type ViolationFilter struct {
	ThingName           string
	SecurityProfileName string
	// BehaviorCriteriaType is STATIC, STATISTICAL or MACHINE_LEARNING.
	BehaviorCriteriaType string
	// ListSuppressedAlerts, when set to false, leaves suppressed ones out.
	ListSuppressedAlerts *bool
	VerificationState    proto.VerificationState
}

func (f ViolationFilter) match(thing, profile string, b proto.Behavior, suppressed bool, state proto.VerificationState) bool {
	switch {
	case f.ThingName != "" && f.ThingName != thing,
		f.SecurityProfileName != "" && f.SecurityProfileName != profile,
		f.BehaviorCriteriaType != "" && f.BehaviorCriteriaType != criteriaType(b),
		f.ListSuppressedAlerts != nil && !*f.ListSuppressedAlerts && suppressed,
		f.VerificationState != "" && f.VerificationState != state:
		return false
	}
	return true
}

// ActiveViolations lists the alarms in force that match the filter, by
// profile, thing and behavior, with their latest violating value and time.
func (s *Service) ActiveViolations(f ViolationFilter) []ActiveRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ActiveRecord, 0, len(s.active))
	for _, rec := range s.active {
		if !f.match(rec.ThingName, rec.SecurityProfileName, rec.Behavior, rec.Suppressed, rec.VerificationState) {
			continue
		}
		r := *rec
		if st, ok := s.eng.State(r.ThingName); ok {
			for _, a := range st.Alarms {
				if a.Profile == r.SecurityProfileName && a.Behavior == r.Behavior.Name && a.ViolationID == r.ViolationID && a.LastValue != nil {
					r.LastViolationValue, r.LastViolationTime = a.LastValue.MetricValue(), a.LastViolationTime.UnixMilli()
				}
			}
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b ActiveRecord) int {
		return strings.Compare(a.SecurityProfileName+"\x00"+a.ThingName+"\x00"+a.Behavior.Name, b.SecurityProfileName+"\x00"+b.ThingName+"\x00"+b.Behavior.Name)
	})
	return out
}

// ErrBadToken is returned for a page token that this service did not make.
var ErrBadToken = &registry.Error{Kind: registry.ErrInvalid, Message: "nextToken: not a token from this listing"}

// ViolationEvents lists the events from start to end that match the
// filter, oldest first, at most max of them (0: no limit). The returned
// token, when not empty, continues the listing.
func (s *Service) ViolationEvents(start, end time.Time, f ViolationFilter, token string, max int) ([]EventRecord, string, error) {
	after, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, "", ErrBadToken
	}
	var out []EventRecord
	var next string
	var lastKey []byte
	verified := map[string]verification{}
	var decodeErr error
	err = s.db.ScanEvents(start, end, after, func(key, data []byte) bool {
		var rec EventRecord
		if decodeErr = json.Unmarshal(data, &rec); decodeErr != nil {
			return false
		}
		v := s.verification(rec.ViolationID, verified)
		rec.VerificationState, rec.VerificationStateDescription = v.State, v.Description
		if !f.match(rec.ThingName, rec.SecurityProfileName, rec.Behavior, rec.Suppressed, rec.VerificationState) {
			return true
		}
		if max > 0 && len(out) == max {
			next = base64.RawURLEncoding.EncodeToString(lastKey)
			return false
		}
		out = append(out, rec)
		lastKey = key
		return true
	})
	if err == nil {
		err = decodeErr
	}
	return out, next, err
}

// verification returns the verdict on a violation, through a cache.
func (s *Service) verification(id string, cache map[string]verification) verification {
	if v, ok := cache[id]; ok {
		return v
	}
	v := verification{State: proto.Unknown}
	if err := s.db.Get(store.Verification, id, &v); err != nil && err != store.ErrNotFound {
		s.log.Warn().Err(err).Str("violation", id).Msg("read verification state")
	}
	cache[id] = v
	return v
}

// expireViolations forgets the violations that started before cutoff and
// are no longer active: their index entry and their verification state go
// with their events.
func (s *Service) expireViolations(cutoff time.Time) error {
	var old []string
	err := s.db.Scan(store.Violations, "", func(id string, data []byte) error {
		var idx violationIndex
		if err := json.Unmarshal(data, &idx); err != nil {
			return err
		}
		if idx.Start < cutoff.UnixMilli() {
			old = append(old, id)
		}
		return nil
	})
	if err != nil || len(old) == 0 {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.db.NewBatch()
	for _, id := range old {
		if s.active[id] == nil {
			b.Delete(store.Violations, id)
			b.Delete(store.Verification, id)
		}
	}
	return s.db.Commit(b)
}

// violationExists reports whether a violation id was raised within the
// retention (or is still active).
func (s *Service) violationExists(id string) bool {
	var idx violationIndex
	return s.db.Get(store.Violations, id, &idx) == nil
}
