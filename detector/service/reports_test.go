package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

func TestNewRequiresDependencies(t *testing.T) {
	if _, err := service.New(service.Options{}); err == nil {
		t.Fatal("New without a store, registry and publisher succeeded")
	}
}

// TestReportAccepted sends a report in each format: the reply comes on the
// accepted topic, in the report's format, with the report id and the
// server's receive time.
func TestReportAccepted(t *testing.T) {
	for i, f := range proto.Formats {
		t.Run(f.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			id := int64(100 + i)
			e.clock.Set(t0.Add(time.Duration(i) * time.Minute))
			r, topic := e.send("door-1", f, encode(t, portsReport(id, 2), f), "door-1")
			if want := reportTopic("door-1", f) + "/accepted"; topic != want {
				t.Errorf("reply on %s, want %s", topic, want)
			}
			want := proto.Reply{ThingName: "door-1", ReportID: id, Status: proto.Accepted, Timestamp: e.clock.Now().UnixMilli()}
			if r != want {
				t.Errorf("reply %+v, want %+v", r, want)
			}
			if got := e.svc.AcceptedReports(); got != 1 {
				t.Errorf("AcceptedReports = %d, want 1", got)
			}
		})
	}
}

// TestAWSTopic answers a report published under AWS's root on AWS's
// reply topic.
func TestAWSTopic(t *testing.T) {
	e := newEnv(t, nil)
	topic := proto.ReportTopic{Root: proto.RootAWS, Thing: "door-1", Format: proto.CBOR}.String()
	e.svc.HandleReport(topic, encode(t, portsReport(1, 1), proto.CBOR), "")
	msgs := e.pub.waitFor(t, topic+"/accepted", 1)
	if r, err := proto.DecodeReply(proto.CBOR, msgs[0].Payload); err != nil || r.Status != proto.Accepted {
		t.Fatalf("reply %+v, %v", r, err)
	}
}

// TestIgnoredTopics hands the service messages that are not reports: it
// answers none of them.
func TestIgnoredTopics(t *testing.T) {
	e := newEnv(t, nil)
	payload := encode(t, portsReport(1, 1), proto.JSON)
	for _, topic := range []string{
		reportTopic("door-1", proto.JSON) + "/accepted",
		reportTopic("door-1", proto.JSON) + "/rejected",
		"$vigil/things/door-1/shadow/update",
		"other/topic",
		"$vigil/things/door-1/defender/metrics/xml",
	} {
		e.svc.HandleReport(topic, payload, "")
	}
	// A report sent after them is the first thing answered.
	e.report("door-1", portsReport(1, 1))
	if got := e.pub.all(); len(got) != 1 {
		t.Errorf("published %d messages, want only the reply: %+v", len(got), got)
	}
}

// TestReportRejected sends reports that must be rejected, each after an
// accepted report with id 10 at t0: the reply comes on the rejected topic
// with the error code, and a rejected report leaves no trace.
func TestReportRejected(t *testing.T) {
	temp := proto.CustomValue{Type: proto.CustomNumber, Number: 21.5}
	tests := []struct {
		name    string
		tweak   func(o *service.Options)
		format  proto.Format
		payload func(t *testing.T) []byte
		sender  string
		advance time.Duration
		code    proto.ErrorCode
		id      int64 // the report id the reply names
	}{
		{name: "undecodable", format: proto.JSON, payload: raw(`{"header":`), code: proto.InvalidPayload},
		{name: "undecodable cbor", format: proto.CBOR, payload: raw("\xff\x00"), code: proto.InvalidPayload},
		{name: "json sent as msgpack", format: proto.MsgPack, payload: encoded(portsReport(11, 1), proto.JSON), code: proto.InvalidPayload},
		{name: "too large", tweak: func(o *service.Options) { o.MaxReportSize = 160 },
			format: proto.JSON, payload: encoded(portsReport(11, 20), proto.JSON), code: proto.ReportTooLarge},
		{name: "same report id", format: proto.MsgPack, payload: encoded(portsReport(10, 1), proto.MsgPack), code: proto.InvalidReportID, id: 10},
		{name: "older report id", format: proto.CBOR, payload: encoded(portsReport(9, 1), proto.CBOR), code: proto.InvalidReportID, id: 9},
		{name: "sooner than the minimum interval", tweak: func(o *service.Options) { o.MinInterval = time.Minute },
			format: proto.JSON, payload: encoded(portsReport(11, 1), proto.JSON), advance: 59 * time.Second, code: proto.Throttled, id: 11},
		{name: "undefined custom metric", format: proto.JSON,
			payload: encoded(customReport(11, "pressure", temp), proto.JSON), code: proto.UnknownCustomMetric, id: 11},
		{name: "custom metric of the wrong type", format: proto.JSON,
			payload: encoded(customReport(11, "temp", proto.CustomValue{Type: proto.CustomStringList, Strings: []string{"a"}}), proto.JSON),
			code:    proto.CustomMetricTypeMismatch, id: 11},
		{name: "another thing's report", format: proto.JSON, payload: encoded(portsReport(11, 1), proto.JSON),
			sender: "door-2", code: proto.InvalidThingName, id: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.tweak)
			if _, err := e.svc.CreateCustomMetric(registry.CustomMetric{Name: "temp", Type: proto.CustomNumber}); err != nil {
				t.Fatal(err)
			}
			e.report("door-1", portsReport(10, 1))
			e.clock.Advance(tt.advance)
			sender := tt.sender
			if sender == "" {
				sender = "door-1"
			}
			r, topic := e.send("door-1", tt.format, tt.payload(t), sender)
			if want := reportTopic("door-1", tt.format) + "/rejected"; topic != want {
				t.Errorf("reply on %s, want %s", topic, want)
			}
			if r.Status != proto.Rejected || r.StatusDetails == nil || r.StatusDetails.ErrorCode != tt.code || r.StatusDetails.ErrorMessage == "" {
				t.Fatalf("reply %+v (%+v), want %s", r, r.StatusDetails, tt.code)
			}
			if r.ThingName != "door-1" || r.ReportID != tt.id || r.Timestamp != e.clock.Now().UnixMilli() {
				t.Errorf("reply names %s, report %d at %d; want door-1, %d at %d", r.ThingName, r.ReportID, r.Timestamp, tt.id, e.clock.Now().UnixMilli())
			}
			if got := e.svc.AcceptedReports(); got != 1 {
				t.Errorf("AcceptedReports = %d, want 1", got)
			}
			// The rejected report did not move the thing's last report id
			// or time: the next report in order is accepted.
			e.clock.Advance(time.Hour)
			e.report("door-1", portsReport(11, 1))
		})
	}
}

func raw(s string) func(*testing.T) []byte {
	return func(*testing.T) []byte { return []byte(s) }
}

func encoded(r *proto.Report, f proto.Format) func(*testing.T) []byte {
	return func(t *testing.T) []byte { return encode(t, r, f) }
}

// TestThingName checks who may publish a thing's report: the thing itself
// or a trusted publisher (no sender), and not another thing.
func TestThingName(t *testing.T) {
	e := newEnv(t, nil)
	payload := func(id int64) []byte { return encode(t, portsReport(id, 1), proto.JSON) }
	if r, _ := e.send("door-1", proto.JSON, payload(1), "door-1"); r.Status != proto.Accepted {
		t.Errorf("the thing's own report: %+v", r.StatusDetails)
	}
	if r, _ := e.send("door-1", proto.JSON, payload(2), ""); r.Status != proto.Accepted {
		t.Errorf("a trusted publisher's report: %+v", r.StatusDetails)
	}
	if r, _ := e.send("door-1", proto.JSON, payload(3), "door-2"); r.Status != proto.Rejected || r.StatusDetails.ErrorCode != proto.InvalidThingName {
		t.Errorf("another thing's report: %+v %+v", r, r.StatusDetails)
	}
	// A thing name that cannot be one, in the topic itself.
	bad := "$vigil/things/door\x01/defender/metrics/json"
	e.svc.HandleReport(bad, payload(1), "")
	msgs := e.pub.waitFor(t, bad+"/rejected", 1)
	if r, err := proto.DecodeReply(proto.JSON, msgs[0].Payload); err != nil || r.StatusDetails.ErrorCode != proto.InvalidThingName {
		t.Errorf("bad thing name in the topic: %+v, %v", r, err)
	}
}

func TestLenientReportID(t *testing.T) {
	e := newEnv(t, func(o *service.Options) { o.LenientReportID = true })
	for _, id := range []int64{5, 5, 3, 4} {
		e.report("door-1", portsReport(id, 1))
	}
	if got := e.svc.AcceptedReports(); got != 4 {
		t.Errorf("AcceptedReports = %d, want 4", got)
	}
}

// TestMinInterval steps the injected clock around the minimum interval,
// which counts from the last accepted report.
func TestMinInterval(t *testing.T) {
	e := newEnv(t, func(o *service.Options) { o.MinInterval = time.Minute })
	steps := []struct {
		advance time.Duration
		status  proto.Status
	}{
		{0, proto.Accepted},
		{30 * time.Second, proto.Rejected},
		{29 * time.Second, proto.Rejected}, // 59 s after the accepted one
		{time.Second, proto.Accepted},      // 60 s: allowed
		{time.Minute, proto.Accepted},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		r, _ := e.send("door-1", proto.JSON, encode(t, portsReport(int64(i+1), 1), proto.JSON), "")
		if r.Status != s.status {
			t.Errorf("step %d (+%v): %s %+v, want %s", i, s.advance, r.Status, r.StatusDetails, s.status)
		}
		if r.Status == proto.Rejected && r.StatusDetails.ErrorCode != proto.Throttled {
			t.Errorf("step %d: code %s, want Throttled", i, r.StatusDetails.ErrorCode)
		}
	}
	// Things are throttled apart.
	if r, _ := e.send("door-2", proto.JSON, encode(t, portsReport(1, 1), proto.JSON), ""); r.Status != proto.Accepted {
		t.Errorf("another thing's first report: %+v", r.StatusDetails)
	}
}

// TestCustomMetricReport accepts a custom metric of its type and raises an
// alarm from it.
func TestCustomMetricReport(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.svc.CreateCustomMetric(registry.CustomMetric{Name: "temp", Type: proto.CustomNumber}); err != nil {
		t.Fatal(err)
	}
	limit := 50.0
	e.profile("heat", registry.AllThings, proto.Behavior{Name: "hot", Metric: "temp", Criteria: &proto.BehaviorCriteria{
		ComparisonOperator: "less-than", Value: &proto.MetricValue{Number: &limit}}})
	e.report("door-1", customReport(1, "temp", proto.CustomValue{Type: proto.CustomNumber, Number: 20}))
	e.report("door-1", customReport(2, "temp", proto.CustomValue{Type: proto.CustomNumber, Number: 75.5}))
	ev := e.events("heat", "door-1", 1)[0]
	if ev.ViolationEventType != proto.InAlarm || ev.MetricValue == nil || ev.MetricValue.Number == nil || *ev.MetricValue.Number != 75.5 {
		t.Errorf("event %+v", ev)
	}
	// A metric in use by a profile cannot be deleted.
	if err := e.svc.DeleteCustomMetric("temp"); !strings.Contains(errString(err), "used by") {
		t.Errorf("DeleteCustomMetric of a metric in use: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestReportTime takes datapoint times from report ids: the events and the
// active violation carry the report's time, while the reply carries the
// server's.
func TestReportTime(t *testing.T) {
	e := newEnv(t, func(o *service.Options) { o.ReportTime = true })
	e.profile("p", registry.AllThings, portsBehavior("ports", 3, 1, 1))
	reportAt := time.Date(2023, 2, 3, 4, 5, 6, 789_000_000, time.UTC)
	id := reportAt.UnixMilli()
	reply, _ := e.send("door-1", proto.JSON, encode(t, portsReport(id, 5), proto.JSON), "")
	if reply.Status != proto.Accepted || reply.Timestamp != t0.UnixMilli() {
		t.Fatalf("reply %+v, want accepted at the server time %d", reply, t0.UnixMilli())
	}
	ev := e.events("p", "door-1", 1)[0]
	if ev.ViolationEventTime != id || ev.ViolationStartTime != id {
		t.Errorf("event at %d (start %d), want the report time %d", ev.ViolationEventTime, ev.ViolationStartTime, id)
	}
	active := e.svc.ActiveViolations(service.ViolationFilter{})
	if len(active) != 1 || active[0].LastViolationTime != id || active[0].ViolationStartTime != id {
		t.Fatalf("active violations %+v", active)
	}
	events, _, err := e.svc.ViolationEvents(reportAt, reportAt.Add(time.Millisecond), service.ViolationFilter{}, "", 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("events at the report time: %d, %v", len(events), err)
	}
	// The next report clears the alarm at its own time, a day later.
	next := reportAt.Add(24 * time.Hour).UnixMilli()
	e.report("door-1", portsReport(next, 1))
	if ev := e.events("p", "door-1", 2)[1]; ev.ViolationEventType != proto.AlarmCleared || ev.ViolationEventTime != next {
		t.Errorf("clear %+v, want alarm-cleared at %d", ev, next)
	}
}

// audiencePublisher is a publisher that knows nobody subscribes to the
// replies of one thing.
type audiencePublisher struct {
	*publisher
	deaf string
}

func (p audiencePublisher) MayHaveSubscribers(topic string) bool {
	return !strings.Contains(topic, "/things/"+p.deaf+"/")
}

// TestNoReplyWithoutAudience accepts the reports of a thing nobody listens
// to without making replies for it; the others still get theirs.
func TestNoReplyWithoutAudience(t *testing.T) {
	e := newEnv(t, func(o *service.Options) {
		o.Publisher = audiencePublisher{publisher: o.Publisher.(*publisher), deaf: "door-1"}
	})
	e.svc.HandleReport(reportTopic("door-1", proto.JSON), encode(t, portsReport(1, 1), proto.JSON), "door-1")
	e.svc.HandleReport(reportTopic("door-1", proto.JSON), []byte(`{"header":{}}`), "door-1") // rejected
	if r, _ := e.send("door-2", proto.JSON, encode(t, portsReport(1, 1), proto.JSON), "door-2"); r.Status != proto.Accepted {
		t.Fatalf("door-2's report: %+v", r)
	}
	eventually(t, "both accepted reports counted", func() bool { return e.svc.AcceptedReports() == 2 })
	for _, m := range e.pub.all() {
		if strings.Contains(m.Topic, "/things/door-1/") {
			t.Errorf("a reply nobody can receive was published on %s", m.Topic)
		}
	}
}
