package service_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

// TestAlarmLifecycle raises an alarm and clears it: the events go to the
// violations topic, the active violation is retained on its own topic, and
// the clear empties that retained message.
func TestAlarmLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.report("door-1", portsReport(1, 2)) // complies
	e.clock.Advance(time.Minute)
	e.report("door-1", portsReport(2, 5))
	raisedAt := e.clock.Now().UnixMilli()

	ev := e.events("p", "door-1", 1)[0]
	if ev.ViolationEventType != proto.InAlarm || ev.ViolationID == "" || ev.ThingName != "door-1" || ev.SecurityProfileName != "p" ||
		ev.Behavior.Name != "ports" || ev.ViolationEventTime != raisedAt || ev.ViolationStartTime != raisedAt ||
		ev.MetricValue == nil || ev.MetricValue.Count == nil || *ev.MetricValue.Count != 5 {
		t.Fatalf("in-alarm event %+v", ev)
	}
	a := decodeActive(t, e.active("p", "door-1", "ports", 1)[0])
	if a.ViolationID != ev.ViolationID || a.ThingName != "door-1" || a.SecurityProfileName != "p" || a.Behavior.Name != "ports" ||
		a.LastViolationValue == nil || *a.LastViolationValue.Count != 5 || a.VerificationState != proto.Unknown || a.ViolationStartTime != raisedAt {
		t.Fatalf("active violation %+v", a)
	}
	active := e.svc.ActiveViolations(service.ViolationFilter{})
	if len(active) != 1 || active[0].ViolationID != ev.ViolationID {
		t.Fatalf("ActiveViolations = %+v", active)
	}

	// Still violating: no new event, and the active violation follows the
	// latest value.
	e.clock.Advance(time.Minute)
	e.report("door-1", portsReport(3, 7))
	active = e.svc.ActiveViolations(service.ViolationFilter{})
	if len(active) != 1 || *active[0].LastViolationValue.Count != 7 || active[0].LastViolationTime != e.clock.Now().UnixMilli() {
		t.Fatalf("ActiveViolations after a second violation = %+v", active)
	}

	e.clock.Advance(time.Minute)
	e.report("door-1", portsReport(4, 1))
	events := e.events("p", "door-1", 2)
	if len(events) != 2 || events[1].ViolationEventType != proto.AlarmCleared || events[1].ViolationID != ev.ViolationID {
		t.Fatalf("events %s, want in-alarm then alarm-cleared of one violation", eventTypes(events))
	}
	msgs := e.active("p", "door-1", "ports", 2)
	if len(msgs) != 2 || len(msgs[1].Payload) != 0 {
		t.Fatalf("active topic: %d messages, last %q; want the clear to be empty", len(msgs), msgs[len(msgs)-1].Payload)
	}
	if got := e.svc.ActiveViolations(service.ViolationFilter{}); len(got) != 0 {
		t.Errorf("ActiveViolations after the clear = %+v", got)
	}
	listed, _, err := e.svc.ViolationEvents(t0, t0.Add(time.Hour), service.ViolationFilter{}, "", 0)
	if err != nil || len(listed) != 2 || listed[0].ViolationEventType != proto.InAlarm || listed[1].ViolationEventType != proto.AlarmCleared {
		t.Fatalf("ViolationEvents = %+v, %v", listed, err)
	}
	eventually(t, "an empty outbox", func() bool { return e.outboxLen() == 0 })

	// A new alarm of the same behavior has a new violation id.
	e.clock.Advance(time.Minute)
	e.report("door-1", portsReport(5, 9))
	if again := e.events("p", "door-1", 3)[2]; again.ViolationEventType != proto.InAlarm || again.ViolationID == ev.ViolationID {
		t.Errorf("second alarm %+v reuses id %s", again, ev.ViolationID)
	}
}

// TestAlarmInvalidated raises an alarm, then makes a change that ends it:
// each publishes alarm-invalidated and empties the retained active
// violation.
func TestAlarmInvalidated(t *testing.T) {
	changed := portsBehavior("ports", 10, 1, 1)
	tests := []struct {
		name   string
		target registry.Target
		change func(s *service.Service) error
	}{
		{"profile behavior changed", registry.AllThings, func(s *service.Service) error {
			_, err := s.UpdateProfile("p", registry.ProfilePatch{Behaviors: &[]proto.Behavior{changed}})
			return err
		}},
		{"profile behaviors deleted", registry.AllThings, func(s *service.Service) error {
			_, err := s.UpdateProfile("p", registry.ProfilePatch{DeleteBehaviors: true})
			return err
		}},
		{"profile deleted", registry.AllThings, func(s *service.Service) error { return s.DeleteProfile("p", nil) }},
		{"detached", registry.AllThings, func(s *service.Service) error { return s.Detach("p", registry.AllThings) }},
		{"thing deleted", registry.AllThings, func(s *service.Service) error { return s.DeleteThing("door-1") }},
		{"thing deleted, registered target", registry.RegisteredThings, func(s *service.Service) error { return s.DeleteThing("door-1") }},
		{"left the group", registry.GroupTarget("doors"), func(s *service.Service) error { return s.RemoveThingFromGroup("doors", "door-1") }},
		{"group deleted", registry.GroupTarget("doors"), func(s *service.Service) error { return s.DeleteGroup("doors") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if _, err := e.svc.CreateThing("door-1", nil, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.CreateGroup(registry.Group{Name: "doors"}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.AddThingToGroup("doors", "door-1"); err != nil {
				t.Fatal(err)
			}
			e.profile("p", tt.target, portsBehavior("ports", 3, 1, 1))
			e.report("door-1", portsReport(1, 5))
			raised := e.events("p", "door-1", 1)[0]
			e.clock.Advance(time.Minute)
			if err := tt.change(e.svc); err != nil {
				t.Fatal(err)
			}
			events := e.events("p", "door-1", 2)
			if len(events) != 2 || events[1].ViolationEventType != proto.AlarmInvalidated || events[1].ViolationID != raised.ViolationID {
				t.Fatalf("events %s, want in-alarm then alarm-invalidated", eventTypes(events))
			}
			if got := events[1].ViolationEventTime; got != e.clock.Now().UnixMilli() {
				t.Errorf("invalidated at %d, want %d", got, e.clock.Now().UnixMilli())
			}
			if msgs := e.active("p", "door-1", "ports", 2); len(msgs[1].Payload) != 0 {
				t.Errorf("retained active violation after the invalidation: %q", msgs[1].Payload)
			}
			if got := e.svc.ActiveViolations(service.ViolationFilter{}); len(got) != 0 {
				t.Errorf("ActiveViolations = %+v", got)
			}
		})
	}
}

// TestProfileEditKeepsAlarm edits a profile without touching the behavior
// in alarm: the alarm goes on.
func TestProfileEditKeepsAlarm(t *testing.T) {
	e := newEnv(t, nil)
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.report("door-1", portsReport(1, 5))
	e.events("p", "door-1", 1)
	desc := "edited"
	p, err := e.svc.UpdateProfile("p", registry.ProfilePatch{Description: &desc})
	if err != nil || p.Version != 2 {
		t.Fatalf("UpdateProfile = %+v, %v", p, err)
	}
	if got := e.svc.ActiveViolations(service.ViolationFilter{}); len(got) != 1 {
		t.Errorf("ActiveViolations after a description edit = %+v", got)
	}
	// A refused update changes nothing either.
	if _, err := e.svc.UpdateProfile("p", registry.ProfilePatch{DeleteBehaviors: true, ExpectedVersion: new(int64(1))}); !errors.Is(err, registry.ErrVersionConflict) {
		t.Errorf("UpdateProfile at an old version: %v", err)
	}
	if got := e.svc.ActiveViolations(service.ViolationFilter{}); len(got) != 1 {
		t.Errorf("ActiveViolations after a refused update = %+v", got)
	}
	if got := e.pub.on(proto.ViolationTopic("p", "door-1")); len(got) != 1 {
		t.Errorf("%d events, want only the in-alarm", len(got))
	}
}

func TestPutVerificationState(t *testing.T) {
	e := newEnv(t, nil)
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.report("door-1", portsReport(1, 5))
	id := e.events("p", "door-1", 1)[0].ViolationID

	// On an active violation: the active listing and the events show it.
	if err := e.svc.PutVerificationState(id, proto.TruePositive, "port scan confirmed"); err != nil {
		t.Fatal(err)
	}
	active := e.svc.ActiveViolations(service.ViolationFilter{})
	if len(active) != 1 || active[0].VerificationState != proto.TruePositive || active[0].VerificationStateDescription != "port scan confirmed" {
		t.Fatalf("ActiveViolations = %+v", active)
	}
	if got := e.svc.ActiveViolations(service.ViolationFilter{VerificationState: proto.FalsePositive}); len(got) != 0 {
		t.Errorf("filter on another state lists %+v", got)
	}
	// The clear carries the verdict given while the alarm was active.
	e.clock.Advance(time.Minute)
	e.report("door-1", portsReport(2, 1))
	if ev := e.events("p", "door-1", 2)[1]; ev.VerificationState != proto.TruePositive || ev.VerificationStateDescription != "port scan confirmed" {
		t.Errorf("alarm-cleared event %+v", ev)
	}

	// On a past violation: every one of its events shows the new verdict.
	if err := e.svc.PutVerificationState(id, proto.BenignPositive, "maintenance"); err != nil {
		t.Fatal(err)
	}
	events, _, err := e.svc.ViolationEvents(t0, t0.Add(time.Hour), service.ViolationFilter{}, "", 0)
	if err != nil || len(events) != 2 {
		t.Fatalf("ViolationEvents = %+v, %v", events, err)
	}
	for _, ev := range events {
		if ev.VerificationState != proto.BenignPositive || ev.VerificationStateDescription != "maintenance" {
			t.Errorf("%s event: %s %q", ev.ViolationEventType, ev.VerificationState, ev.VerificationStateDescription)
		}
	}
	byState, _, _ := e.svc.ViolationEvents(t0, t0.Add(time.Hour), service.ViolationFilter{VerificationState: proto.BenignPositive}, "", 0)
	if len(byState) != 2 {
		t.Errorf("filter on BENIGN_POSITIVE lists %d events", len(byState))
	}

	errs := []struct {
		name  string
		id    string
		state proto.VerificationState
		desc  string
		kind  error
	}{
		{"unknown violation", "0123456789abcdef0123456789abcdef", proto.TruePositive, "", registry.ErrNotFound},
		{"unknown state", id, "MAYBE", "", registry.ErrInvalid},
		{"description too long", id, proto.TruePositive, strings.Repeat("d", 1001), registry.ErrInvalid},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.svc.PutVerificationState(tt.id, tt.state, tt.desc); !errors.Is(err, tt.kind) {
				t.Errorf("PutVerificationState: %v, want %v", err, tt.kind)
			}
		})
	}
	// The refused calls left the verdict alone, also across a restart.
	e.restart(newPublisher())
	events, _, _ = e.svc.ViolationEvents(t0, t0.Add(time.Hour), service.ViolationFilter{}, "", 0)
	if len(events) != 2 || events[0].VerificationState != proto.BenignPositive {
		t.Errorf("after a restart: %+v", events)
	}
}

// fleet raises events for two things under two profiles, one of whose
// behaviors suppresses alerts, and returns the events in time order.
func fleet(t *testing.T) (*env, []service.EventRecord) {
	t.Helper()
	e := newEnv(t, nil)
	quiet := portsBehavior("quiet", 3, 1, 1)
	quiet.SuppressAlerts = new(true)
	e.profile("loud", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.profile("soft", registry.AllThings, quiet)
	id := int64(0)
	for _, ports := range []int{5, 1, 5} {
		for _, thing := range []string{"door-1", "door-2"} {
			id++
			e.report(thing, portsReport(id, ports))
		}
		e.clock.Advance(time.Minute)
	}
	// 3 steps x 2 things x 2 profiles.
	for _, p := range []string{"loud", "soft"} {
		for _, th := range []string{"door-1", "door-2"} {
			e.events(p, th, 3)
		}
	}
	all, next, err := e.svc.ViolationEvents(t0, t0.Add(time.Hour), service.ViolationFilter{}, "", 0)
	if err != nil || next != "" || len(all) != 12 {
		t.Fatalf("ViolationEvents = %d events, next %q, %v; want 12", len(all), next, err)
	}
	return e, all
}

func TestViolationEventsFilters(t *testing.T) {
	e, all := fleet(t)
	no := false
	tests := []struct {
		name       string
		start, end time.Time
		f          service.ViolationFilter
		keep       func(ev service.EventRecord) bool
	}{
		{"everything", t0, t0.Add(time.Hour), service.ViolationFilter{}, func(service.EventRecord) bool { return true }},
		{"thing", t0, t0.Add(time.Hour), service.ViolationFilter{ThingName: "door-2"},
			func(ev service.EventRecord) bool { return ev.ThingName == "door-2" }},
		{"profile", t0, t0.Add(time.Hour), service.ViolationFilter{SecurityProfileName: "loud"},
			func(ev service.EventRecord) bool { return ev.SecurityProfileName == "loud" }},
		{"thing and profile", t0, t0.Add(time.Hour), service.ViolationFilter{ThingName: "door-1", SecurityProfileName: "soft"},
			func(ev service.EventRecord) bool { return ev.ThingName == "door-1" && ev.SecurityProfileName == "soft" }},
		{"static", t0, t0.Add(time.Hour), service.ViolationFilter{BehaviorCriteriaType: "STATIC"},
			func(service.EventRecord) bool { return true }},
		{"statistical", t0, t0.Add(time.Hour), service.ViolationFilter{BehaviorCriteriaType: "STATISTICAL"},
			func(service.EventRecord) bool { return false }},
		{"without suppressed", t0, t0.Add(time.Hour), service.ViolationFilter{ListSuppressedAlerts: &no},
			func(ev service.EventRecord) bool { return !ev.Suppressed }},
		{"verification state", t0, t0.Add(time.Hour), service.ViolationFilter{VerificationState: proto.Unknown},
			func(service.EventRecord) bool { return true }},
		// Start is inclusive and end exclusive.
		{"first minute", t0, t0.Add(time.Minute), service.ViolationFilter{},
			func(ev service.EventRecord) bool { return ev.ViolationEventTime < t0.Add(time.Minute).UnixMilli() }},
		{"second minute on", t0.Add(time.Minute), t0.Add(time.Hour), service.ViolationFilter{},
			func(ev service.EventRecord) bool { return ev.ViolationEventTime >= t0.Add(time.Minute).UnixMilli() }},
		{"before", t0.Add(-time.Hour), t0, service.ViolationFilter{}, func(service.EventRecord) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.DeleteFunc(slices.Clone(all), func(ev service.EventRecord) bool { return !tt.keep(ev) })
			got, next, err := e.svc.ViolationEvents(tt.start, tt.end, tt.f, "", 0)
			if err != nil || next != "" {
				t.Fatalf("ViolationEvents: next %q, %v", next, err)
			}
			if !sameEvents(got, want) {
				t.Errorf("got %d events %v\nwant %d %v", len(got), summary(got), len(want), summary(want))
			}
		})
	}
	if n := len(slices.DeleteFunc(slices.Clone(all), func(ev service.EventRecord) bool { return !ev.Suppressed })); n != 6 {
		t.Errorf("%d suppressed events, want the 6 of the quiet behavior", n)
	}
	suppressed := e.svc.ActiveViolations(service.ViolationFilter{})
	quiet := e.svc.ActiveViolations(service.ViolationFilter{ListSuppressedAlerts: &no})
	if len(suppressed) != 4 || len(quiet) != 2 {
		t.Errorf("ActiveViolations: %d in all, %d without suppressed; want 4 and 2", len(suppressed), len(quiet))
	}
	if got := e.svc.ActiveViolations(service.ViolationFilter{ThingName: "door-1", SecurityProfileName: "loud"}); len(got) != 1 {
		t.Errorf("ActiveViolations of door-1 under loud = %+v", got)
	}
}

// TestViolationEventsPaging lists the events page by page, with and
// without a filter: every event once, in order, and no empty last page.
func TestViolationEventsPaging(t *testing.T) {
	e, all := fleet(t)
	filters := map[string]service.ViolationFilter{"none": {}, "thing": {ThingName: "door-1"}}
	for name, f := range filters {
		want, _, _ := e.svc.ViolationEvents(t0, t0.Add(time.Hour), f, "", 0)
		for _, size := range []int{1, 2, 5, len(want), len(all) + 1} {
			var got []service.EventRecord
			token := ""
			for page := 0; ; page++ {
				if page > len(all) {
					t.Fatalf("filter %s, size %d: paging does not end", name, size)
				}
				events, next, err := e.svc.ViolationEvents(t0, t0.Add(time.Hour), f, token, size)
				if err != nil {
					t.Fatal(err)
				}
				if len(events) == 0 || len(events) > size {
					t.Fatalf("filter %s, size %d: page %d has %d events", name, size, page, len(events))
				}
				got = append(got, events...)
				if next == "" {
					break
				}
				token = next
			}
			if !sameEvents(got, want) {
				t.Errorf("filter %s, size %d: %v\nwant %v", name, size, summary(got), summary(want))
			}
		}
	}
	if _, _, err := e.svc.ViolationEvents(t0, t0.Add(time.Hour), service.ViolationFilter{}, "not base64!", 2); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("a bad token: %v, want ErrInvalid", err)
	}
}

func sameEvents(a, b []service.EventRecord) bool {
	return slices.EqualFunc(a, b, func(x, y service.EventRecord) bool {
		return x.ViolationID == y.ViolationID && x.ViolationEventType == y.ViolationEventType && x.ViolationEventTime == y.ViolationEventTime
	})
}

func summary(events []service.EventRecord) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.SecurityProfileName+"/"+ev.ThingName+" "+string(ev.ViolationEventType))
	}
	return out
}

// TestOutboxRetry publishes violations while the broker refuses them:
// the replies still go out, the messages stay in the outbox, and once the
// broker is back a tick publishes them in order and empties the outbox.
func TestOutboxRetry(t *testing.T) {
	e := newEnv(t, nil)
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.pub.failOn(violationTopics)
	e.report("door-1", portsReport(1, 5))
	e.report("door-2", portsReport(1, 5))
	e.clock.Advance(time.Minute)
	e.report("door-1", portsReport(2, 1))
	// The batch commits its outbox entries before it replies.
	if got := e.outboxLen(); got != 6 {
		t.Fatalf("outbox holds %d entries, want 6 (2 per event)", got)
	}
	if got := len(e.pub.all()); got != 3 {
		t.Fatalf("published %d messages while failing, want the 3 replies", got)
	}
	e.pub.failOn(nil)
	eventually(t, "the outbox to be published", func() bool { return e.outboxLen() == 0 })
	var topics []string
	for _, m := range e.pub.all() {
		if violationTopics(m.Topic) {
			topics = append(topics, m.Topic)
		}
	}
	want := []string{
		proto.ActiveViolationTopic("p", "door-1", "ports"), proto.ViolationTopic("p", "door-1"),
		proto.ActiveViolationTopic("p", "door-2", "ports"), proto.ViolationTopic("p", "door-2"),
		proto.ActiveViolationTopic("p", "door-1", "ports"), proto.ViolationTopic("p", "door-1"),
	}
	if !slices.Equal(topics, want) {
		t.Errorf("published %q\nwant %q", topics, want)
	}
	events := e.events("p", "door-1", 2)
	if events[0].ViolationEventType != proto.InAlarm || events[1].ViolationEventType != proto.AlarmCleared {
		t.Errorf("door-1 events %s", eventTypes(events))
	}
}
