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

// TestRestart stops a service with an alarm in force, an alarm counting
// towards in-alarm, and messages a failing broker left in the outbox; a new
// service on the same store republishes the active violations as retained
// messages, publishes the outbox, and goes on counting where the old one
// stopped, without raising any alarm twice.
func TestRestart(t *testing.T) {
	e := newEnv(t, nil)
	e.profile("fast", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.profile("slow", registry.AllThings, portsBehavior("ports", 100, 3, 1))

	// door-1: in alarm under fast, published while the broker worked.
	e.report("door-1", portsReport(1, 5))
	fast1 := e.events("fast", "door-1", 1)[0]
	e.active("fast", "door-1", "ports", 1)
	// door-2: in alarm under fast too, and two of the three violations slow
	// needs.
	for id := range int64(2) {
		e.clock.Advance(time.Minute)
		e.report("door-2", portsReport(id+1, 200))
	}
	// door-3: in alarm under fast while the broker refuses violations.
	e.pub.failOn(violationTopics)
	e.report("door-3", portsReport(1, 5))
	if got := e.outboxLen(); got != 2 {
		t.Fatalf("outbox holds %d entries before the restart, want 2", got)
	}
	if got := e.pub.on(proto.ViolationTopic("fast", "door-3")); len(got) != 0 {
		t.Fatalf("the failing broker got %d events", len(got))
	}
	activeBefore := e.svc.ActiveViolations(service.ViolationFilter{})

	pub := newPublisher()
	e.clock.Advance(time.Minute)
	e.restart(pub)

	// The retained active violations are published again, from the store.
	for _, thing := range []string{"door-1", "door-2", "door-3"} {
		msgs := e.active("fast", thing, "ports", 1)
		if a := decodeActive(t, msgs[0]); a.ThingName != thing || a.ViolationID == "" {
			t.Errorf("republished active violation of %s: %+v", thing, a)
		}
	}
	if a := decodeActive(t, e.active("fast", "door-1", "ports", 1)[0]); a.ViolationID != fast1.ViolationID {
		t.Errorf("door-1's violation id changed across the restart: %s, want %s", a.ViolationID, fast1.ViolationID)
	}
	// The outbox the failing broker left is published, then emptied.
	ev3 := e.events("fast", "door-3", 1)[0]
	if ev3.ViolationEventType != proto.InAlarm {
		t.Errorf("door-3's outbox event %+v", ev3)
	}
	eventually(t, "an empty outbox", func() bool { return e.outboxLen() == 0 })
	if got := e.svc.ActiveViolations(service.ViolationFilter{}); !slices.EqualFunc(got, activeBefore, func(a, b service.ActiveRecord) bool {
		return a.ViolationID == b.ViolationID
	}) {
		t.Errorf("active violations after the restart %+v, want %+v", got, activeBefore)
	}

	// door-2's third violation raises the alarm: the count survived.
	e.clock.Advance(time.Minute)
	e.report("door-2", portsReport(3, 200))
	if ev := e.events("slow", "door-2", 1); ev[0].ViolationEventType != proto.InAlarm {
		t.Errorf("door-2 event %+v", ev[0])
	}
	// The last report ids survived.
	if r, _ := e.send("door-1", proto.JSON, encode(t, portsReport(1, 6), proto.JSON), ""); r.Status != proto.Rejected || r.StatusDetails.ErrorCode != proto.InvalidReportID {
		t.Errorf("a report id from before the restart: %+v", r)
	}
	// door-1 still violates: its alarm goes on, without a second in-alarm.
	e.report("door-1", portsReport(2, 6))
	e.report("door-1", portsReport(3, 1))
	events := e.events("fast", "door-1", 1)
	if len(events) != 1 || events[0].ViolationEventType != proto.AlarmCleared || events[0].ViolationID != fast1.ViolationID {
		t.Errorf("door-1 events after the restart: %s, want only the clear of %s", eventTypes(events), fast1.ViolationID)
	}
	if got := pub.on(proto.ViolationTopic("slow", "door-2")); len(got) != 1 {
		t.Errorf("door-2 has %d events under slow, want one in-alarm", len(got))
	}
	// Every event ever raised is listed once.
	all, _, err := e.svc.ViolationEvents(t0, t0.Add(time.Hour), service.ViolationFilter{}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range all {
		got = append(got, ev.SecurityProfileName+"/"+ev.ThingName+" "+string(ev.ViolationEventType))
	}
	slices.Sort(got)
	want := []string{"fast/door-1 alarm-cleared", "fast/door-1 in-alarm", "fast/door-2 in-alarm", "fast/door-3 in-alarm", "slow/door-2 in-alarm"}
	if !slices.Equal(got, want) {
		t.Errorf("events %q\nwant %q", got, want)
	}
}

// TestRestartRepublishFirst checks the order after a restart: the retained
// active violations and the outbox go out before any new message.
func TestRestartRepublishFirst(t *testing.T) {
	e := newEnv(t, nil)
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.pub.failOn(violationTopics)
	e.report("door-1", portsReport(1, 5))
	pub := newPublisher()
	e.restart(pub)
	e.report("door-2", portsReport(1, 1))
	msgs := pub.all()
	var topics []string
	for _, m := range msgs {
		topics = append(topics, m.Topic)
	}
	// The active violation once from the store and once from the outbox,
	// the outbox's event, then the reply.
	want := []string{
		proto.ActiveViolationTopic("p", "door-1", "ports"),
		proto.ActiveViolationTopic("p", "door-1", "ports"),
		proto.ViolationTopic("p", "door-1"),
		reportTopic("door-2", proto.JSON) + "/accepted",
	}
	if !slices.Equal(topics, want) {
		t.Errorf("published after the restart:\n%s\nwant\n%s", strings.Join(topics, "\n"), strings.Join(want, "\n"))
	}
}

// TestBrokerRecovers fails every publish for a while: replies are lost (a
// device sends its next report anyway) but violation messages wait in the
// outbox and go out on a tick once the broker is back.
func TestBrokerRecovers(t *testing.T) {
	e := newEnv(t, nil)
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.pub.failOn(func(string) bool { return true })
	e.svc.HandleReport(reportTopic("door-1", proto.JSON), encode(t, portsReport(1, 5), proto.JSON), "")
	reply := reportTopic("door-1", proto.JSON) + "/accepted"
	eventually(t, "the reply to fail", func() bool { return e.pub.refusedOn(reply) == 1 })
	// The reply goes out after the commit, and the outbox after the reply.
	eventually(t, "the outbox to fail", func() bool { return e.pub.refusedOn(proto.ActiveViolationTopic("p", "door-1", "ports")) > 0 })
	if got := e.outboxLen(); got != 2 {
		t.Fatalf("outbox holds %d entries, want 2", got)
	}
	e.pub.failOn(nil)
	ev := e.events("p", "door-1", 1)[0]
	if ev.ViolationEventType != proto.InAlarm {
		t.Errorf("event %+v", ev)
	}
	e.active("p", "door-1", "ports", 1)
	eventually(t, "an empty outbox", func() bool { return e.outboxLen() == 0 })
	if got := e.pub.on(reply); len(got) != 0 {
		t.Errorf("a reply that failed was sent again: %d", len(got))
	}
}

// TestSilentThingInvalidated lets a thing in alarm fall silent past the
// silence timeout: a tick ends its alarm with alarm-invalidated.
func TestSilentThingInvalidated(t *testing.T) {
	e := newEnv(t, func(o *service.Options) { o.SilenceTimeout = time.Hour })
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.report("door-1", portsReport(1, 5))
	e.clock.Advance(61 * time.Minute)
	events := e.events("p", "door-1", 2)
	if events[1].ViolationEventType != proto.AlarmInvalidated || events[1].ViolationID != events[0].ViolationID {
		t.Fatalf("events %s, want in-alarm then alarm-invalidated", eventTypes(events))
	}
	if msgs := e.active("p", "door-1", "ports", 2); len(msgs[1].Payload) != 0 {
		t.Errorf("retained active violation after the invalidation: %q", msgs[1].Payload)
	}
	if got := e.svc.ActiveViolations(service.ViolationFilter{}); len(got) != 0 {
		t.Errorf("ActiveViolations = %+v", got)
	}
}

// TestRetention moves the clock past the retention of an event: a tick
// deletes it.
func TestRetention(t *testing.T) {
	e := newEnv(t, func(o *service.Options) { o.Retention = time.Hour })
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.report("door-1", portsReport(1, 5))
	e.events("p", "door-1", 1)
	list := func() int {
		events, _, err := e.svc.ViolationEvents(t0.Add(-time.Hour), t0.Add(24*time.Hour), service.ViolationFilter{}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	if n := list(); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	e.clock.Advance(3 * time.Hour)
	eventually(t, "retention to delete the event", func() bool { return list() == 0 })
}

// TestRetentionForgetsEndedViolations checks that the records of an ended
// violation (its index and verification state) go with its events, while an
// active one is kept whatever its age.
func TestRetentionForgetsEndedViolations(t *testing.T) {
	e := newEnv(t, func(o *service.Options) { o.Retention = time.Hour })
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	e.report("door-1", portsReport(1, 5))
	e.report("door-2", portsReport(1, 5))
	ended := e.events("p", "door-1", 1)[0].ViolationID
	active := e.events("p", "door-2", 1)[0].ViolationID
	e.report("door-1", portsReport(2, 3))
	e.events("p", "door-1", 2)
	if err := e.svc.PutVerificationState(ended, proto.TruePositive, "seen"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Hour)
	eventually(t, "retention to forget the ended violation", func() bool {
		return errors.Is(e.svc.PutVerificationState(ended, proto.FalsePositive, ""), registry.ErrNotFound)
	})
	if err := e.svc.PutVerificationState(active, proto.BenignPositive, "still in force"); err != nil {
		t.Fatalf("the active violation was forgotten: %v", err)
	}
}

// TestLastSeenSurvivesRestart: a thing's state is not saved for reports
// that change nothing but its last-seen time; after a restart the time of
// its last report still counts, so it is not found silent too soon.
func TestLastSeenSurvivesRestart(t *testing.T) {
	e := newEnv(t, func(o *service.Options) { o.SilenceTimeout = time.Hour })
	e.profile("p", registry.AllThings, portsBehavior("ports", 9, 1, 1))
	e.report("door-2", portsReport(1, 5)) // then silent
	for i := range 4 {
		e.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		e.report("door-1", portsReport(int64(i+1), 5)) // compliant: nothing but the time changes
	}
	e.restart(newPublisher())
	known := func(thing string) bool { _, ok := e.svc.LastReport(thing); return ok }
	e.clock.Set(t0.Add(62 * time.Minute))
	eventually(t, "door-2 forgotten after an hour of silence", func() bool { return !known("door-2") })
	if !known("door-1") {
		t.Fatal("door-1 forgotten 59 minutes after its last report")
	}
	e.clock.Set(t0.Add(64 * time.Minute))
	eventually(t, "door-1 forgotten after an hour of silence", func() bool { return !known("door-1") })
}
