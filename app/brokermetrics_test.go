package app

import (
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/internal/fakeclock"
	"github.com/vigil-iot/vigil/proto"
)

// window0 is the first 5-minute window of the tests.
var window0 = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)

// startWithClock starts vigil serve in-process, with anonymous devices and
// the clock at 10 s into window0.
func startWithClock(t *testing.T) (*App, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(window0.Add(10 * time.Second))
	a, err := Start(Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), AllowAnonymous: true,
		Logger: zerolog.Nop(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, clock
}

// applyProfile creates a profile and attaches it to all things.
func applyProfile(t *testing.T, a *App, name string, behaviors ...proto.Behavior) {
	t.Helper()
	if _, err := a.Service().CreateProfile(registry.Profile{Name: name, Behaviors: behaviors}); err != nil {
		t.Fatal(err)
	}
	if err := a.Service().Attach(name, registry.AllThings); err != nil {
		t.Fatal(err)
	}
}

// atMost is a behavior that a count above limit violates; durationSeconds
// is left out when seconds is 0.
func atMost(name, metric string, limit uint64, seconds int) proto.Behavior {
	b := proto.Behavior{Name: name, Metric: metric, Criteria: &proto.BehaviorCriteria{
		ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: proto.Count(limit)}}}
	if seconds > 0 {
		b.Criteria.DurationSeconds = &seconds
	}
	return b
}

// dialThing connects a paho client as an anonymous device.
func dialThing(t *testing.T, a *App, thing string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + a.MQTTAddr()).SetClientID(thing).
		SetAutoReconnect(false).SetConnectRetry(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", thing, tok.Error())
	}
	return c
}

// waitBroker waits until the broker's counts of a thing satisfy cond.
func waitBroker(t *testing.T, a *App, thing string, cond func(broker.ThingStats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(a.broker.Stats(thing)) {
		if time.Now().After(deadline) {
			t.Fatalf("broker counts of %s: %+v", thing, a.broker.Stats(thing))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitEvents waits until the recorded violation events in [start, end)
// satisfy cond, and returns them.
func waitEvents(t *testing.T, a *App, start, end time.Time, cond func([]service.EventRecord) bool) []service.EventRecord {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, _, err := a.Service().ViolationEvents(start, end, service.ViolationFilter{}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if cond(events) {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("events never came; got %+v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inAlarm returns a condition: an in-alarm event of the thing's behavior.
func inAlarm(thing, behavior string) func([]service.EventRecord) bool {
	return func(events []service.EventRecord) bool {
		return findEvent(events, thing, behavior, proto.InAlarm) != nil
	}
}

func findEvent(events []service.EventRecord, thing, behavior string, typ proto.EventType) *service.EventRecord {
	for i, ev := range events {
		if ev.ThingName == thing && ev.Behavior.Name == behavior && ev.ViolationEventType == typ {
			return &events[i]
		}
	}
	return nil
}

// TestReconnectStormRaisesDisconnectAlarm is acceptance point 2 of the
// broker-side metrics: a device that reconnects 50 times in a 5-minute
// window is in alarm on "more than 10 disconnects" once that window
// closes, with and without durationSeconds, while a steady device is not;
// the datapoints are in the history and the fleet statistics.
func TestReconnectStormRaisesDisconnectAlarm(t *testing.T) {
	a, clock := startWithClock(t)
	applyProfile(t, a, "connections",
		atMost("disconnects-per-window", detector.MetricDisconnects, 10, 0),
		atMost("disconnects-5m", detector.MetricDisconnects, 10, 300))
	steady := dialThing(t, a, "door-steady")
	defer steady.Disconnect(0)
	for i := range 50 {
		clock.Set(window0.Add(10*time.Second + time.Duration(i)*time.Second))
		dialThing(t, a, "door-flaky").Disconnect(0)
	}
	waitBroker(t, a, "door-flaky", func(s broker.ThingStats) bool { return s.Disconnects == 50 })

	clock.Set(window0.Add(5*time.Minute + time.Second)) // the broker window has closed
	events := waitEvents(t, a, window0, window0.Add(time.Hour), inAlarm("door-flaky", "disconnects-per-window"))
	ev := findEvent(events, "door-flaky", "disconnects-per-window", proto.InAlarm)
	if n := *ev.MetricValue.Count; n != 50 {
		t.Errorf("metric value %d, want 50 disconnects", n)
	}
	clock.Set(window0.Add(5*time.Minute + 31*time.Second)) // and the 300 s window's grace period
	events = waitEvents(t, a, window0, window0.Add(time.Hour), inAlarm("door-flaky", "disconnects-5m"))
	for _, ev := range events {
		if ev.ThingName != "door-flaky" {
			t.Errorf("event of a steady device: %+v", ev.ViolationEvent)
		}
	}

	waitPoints(t, a, "door-flaky", detector.MetricDisconnects, 1)
	points, _, err := a.history.Values("door-flaky", detector.MetricDisconnects, window0, window0.Add(time.Hour), "", 0)
	if err != nil || len(points) != 1 || points[0].Value.Number != 50 || !points[0].Time.Equal(window0.Add(5*time.Minute-time.Millisecond)) {
		t.Errorf("history of disconnects: %+v, %v; want 50 at the window's last millisecond", points, err)
	}
	waitFleet(t, a, "connections", detector.MetricDisconnects, func(p fleetstats.Point) bool {
		return p.Devices == 2 && p.Values["p100"] == 50 && p.Values["p0"] == 0
	})
}

// waitFleet waits for the first fleet summary of window0 to satisfy cond.
func waitFleet(t *testing.T, a *App, profile, metric string, cond func(fleetstats.Point) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		points, _, err := a.fleet.Series(profile, metric, window0, window0.Add(time.Hour), fleetstats.Period5m, []string{"p0", "p100"}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(points) > 0 && cond(points[0]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleet summaries of %s: %+v", metric, points)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestForbiddenPublishRaisesAuthorizationAlarm is the second half of
// acceptance point 2: a device publishing to a topic outside its ACL is in
// alarm on authorization failures, on messages sent outside the topics of
// a dimension (NOT_IN), and on a message larger than allowed, once the
// window closes.
func TestForbiddenPublishRaisesAuthorizationAlarm(t *testing.T) {
	a, clock := startWithClock(t)
	if _, err := a.Service().CreateDimension(registry.Dimension{Name: "own-reports", Type: registry.DimensionTopicFilter,
		StringValues: []string{"$vigil/things/${iot:ClientId}/defender/metrics/+"}}); err != nil {
		t.Fatal(err)
	}
	foreign := atMost("foreign-messages", detector.MetricMessagesSent, 0, 300)
	foreign.MetricDimension = &proto.MetricDimension{DimensionName: "own-reports", Operator: "NOT_IN"}
	// Sizes are judged per message: the honest device's three reports add
	// up to more than 100 bytes, none is larger.
	applyProfile(t, a, "acl", atMost("no-denials", detector.MetricAuthorizationFailures, 0, 0), foreign,
		atMost("small-messages", detector.MetricMessageByteSize, 100, 0))

	honest, intruder := dialThing(t, a, "door-honest"), dialThing(t, a, "door-owned")
	defer honest.Disconnect(0)
	defer intruder.Disconnect(0)
	for i := range 3 {
		report := fmt.Sprintf(`{"header":{"report_id":%d,"version":"1.0"},"metrics":{}}`, i+1)
		honest.Publish("$vigil/things/door-honest/defender/metrics/json", 1, false, report).Wait()
		intruder.Publish("$vigil/things/door-other/defender/metrics/json", 1, false, report).Wait()
		intruder.Publish("factory/doors/open", 1, false, "1").Wait()
	}
	intruder.Publish("exfiltrate", 1, false, make([]byte, 500)).Wait()
	waitBroker(t, a, "door-owned", func(s broker.ThingStats) bool { return s.AuthorizationFailures == 7 })

	clock.Set(window0.Add(5*time.Minute + 31*time.Second))
	events := waitEvents(t, a, window0, window0.Add(time.Hour), func(evs []service.EventRecord) bool {
		return inAlarm("door-owned", "no-denials")(evs) && inAlarm("door-owned", "foreign-messages")(evs) &&
			inAlarm("door-owned", "small-messages")(evs)
	})
	for behavior, want := range map[string]uint64{"no-denials": 7, "foreign-messages": 7, "small-messages": 500} {
		if ev := findEvent(events, "door-owned", behavior, proto.InAlarm); *ev.MetricValue.Count != want {
			t.Errorf("%s: value %d, want %d", behavior, *ev.MetricValue.Count, want)
		}
	}
	for _, ev := range events {
		if ev.ThingName != "door-owned" {
			t.Errorf("event of the honest device: %+v", ev.ViolationEvent)
		}
	}
	series := detector.SeriesName(detector.MetricMessagesSent, foreign.MetricDimension)
	waitPoints(t, a, "door-honest", series, 1)
	points, _, err := a.history.Values("door-honest", series, window0, window0.Add(time.Hour), "", 0)
	if err != nil || len(points) != 1 || points[0].Value.Number != 0 {
		t.Errorf("history of %s for the honest device: %+v, %v; want one 0", series, points, err)
	}
}

// TestReportSilenceRaisesAlarm is acceptance point 3: a device whose agent
// stops reporting while its MQTT connection stays up is in alarm on
// vigil:report-silence after the configured datapoints, one a minute,
// while a device that keeps reporting is not; when reports come back, the
// alarm clears.
func TestReportSilenceRaisesAlarm(t *testing.T) {
	a, clock := startWithClock(t)
	two := 2
	silence := proto.Behavior{Name: "agent-alive", Metric: detector.MetricReportSilence, Criteria: &proto.BehaviorCriteria{
		ComparisonOperator: "less-than", Value: &proto.MetricValue{Count: proto.Count(600)}, ConsecutiveDatapointsToAlarm: &two}}
	applyProfile(t, a, "agents", silence)

	killed, alive := dialThing(t, a, "door-killed"), dialThing(t, a, "door-alive")
	defer killed.Disconnect(0)
	defer alive.Disconnect(0)
	var reports int64
	send := func(c mqtt.Client, thing string) {
		reports++
		report := fmt.Sprintf(`{"header":{"report_id":%d,"version":"1.0"},"metrics":{}}`, reports)
		c.Publish("$vigil/things/"+thing+"/defender/metrics/json", 1, false, report).Wait()
		waitAcceptedReports(t, a, reports)
	}
	send(killed, "door-killed") // at 14:00:10
	send(alive, "door-alive")

	// The agent of door-killed dies at once; door-alive's reports go on.
	// Each step crosses a minute boundary, where both devices get a
	// datapoint: door-killed's 590, 650 and 710 seconds of silence.
	for i, at := range []time.Duration{10*time.Minute + 30*time.Second, 11*time.Minute + 20*time.Second, 12*time.Minute + 20*time.Second} {
		clock.Set(window0.Add(at))
		waitPoints(t, a, "door-killed", detector.MetricReportSilence, i+1)
		send(alive, "door-alive")
	}
	events := waitEvents(t, a, window0, window0.Add(time.Hour), inAlarm("door-killed", "agent-alive"))
	ev := findEvent(events, "door-killed", "agent-alive", proto.InAlarm)
	if got := *ev.MetricValue.Count; got != 710 {
		t.Errorf("silence %d s, want 710", got)
	}
	if !time.UnixMilli(ev.ViolationEventTime).Equal(window0.Add(12 * time.Minute)) {
		t.Errorf("in-alarm at %v, want the minute 14:12", time.UnixMilli(ev.ViolationEventTime).UTC())
	}
	if len(events) != 1 {
		t.Errorf("events %+v, want only door-killed's in-alarm", events)
	}

	// The agent comes back: the next minute is compliant, and clears.
	send(killed, "door-killed") // at 14:12:20
	clock.Set(window0.Add(13*time.Minute + time.Second))
	waitEvents(t, a, window0, window0.Add(time.Hour), func(evs []service.EventRecord) bool {
		return findEvent(evs, "door-killed", "agent-alive", proto.AlarmCleared) != nil
	})
}

// waitAcceptedReports waits for the service to have accepted n reports.
func waitAcceptedReports(t *testing.T, a *App, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for a.Service().AcceptedReports() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d reports accepted, want %d", a.Service().AcceptedReports(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitPoints waits until the history holds n datapoints of a thing's
// metric.
func waitPoints(t *testing.T, a *App, thing, metric string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		points, _, err := a.history.Values(thing, metric, window0, window0.Add(time.Hour), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(points) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d datapoints of %s for %s, want %d: %+v", len(points), metric, thing, n, points)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
