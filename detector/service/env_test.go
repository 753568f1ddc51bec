package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/internal/fakeclock"
	"github.com/vigil-iot/vigil/proto"
)

// t0 is the service clock when a test starts.
var t0 = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

// waitLimit bounds every wait for the service; a healthy run takes
// milliseconds, or about a second where a tick is awaited.
const waitLimit = 10 * time.Second

// message is one message the service published.
type message struct {
	Topic   string
	Payload []byte
	Retain  bool
	QoS     byte
}

var errBrokerDown = errors.New("broker down")

// publisher records what the service publishes. While fail says so for a
// topic, publishing to it fails and nothing is recorded.
type publisher struct {
	mu      sync.Mutex
	msgs    []message
	refused []string // topics of the failed publishes
	fail    func(topic string) bool
	changed chan struct{}
}

func newPublisher() *publisher { return &publisher{changed: make(chan struct{})} }

func (p *publisher) Publish(topic string, payload []byte, retain bool, qos byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil && p.fail(topic) {
		p.refused = append(p.refused, topic)
		return errBrokerDown
	}
	p.msgs = append(p.msgs, message{Topic: topic, Payload: bytes.Clone(payload), Retain: retain, QoS: qos})
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

// failOn makes publishing fail for the topics fn selects; nil heals.
func (p *publisher) failOn(fn func(topic string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = fn
}

// violationTopics selects the messages about violations, not the replies.
func violationTopics(topic string) bool {
	return strings.HasPrefix(topic, proto.ViolationsRoot+"/") || strings.HasPrefix(topic, proto.ActiveViolationsRoot+"/")
}

// refusedOn counts the failed publishes to a topic.
func (p *publisher) refusedOn(topic string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, t := range p.refused {
		if t == topic {
			n++
		}
	}
	return n
}

// on returns the messages published so far on a topic.
func (p *publisher) on(topic string) []message {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []message
	for _, m := range p.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// all returns every message published so far.
func (p *publisher) all() []message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]message(nil), p.msgs...)
}

// waitFor waits until at least n messages have been published on topic and
// returns them all.
func (p *publisher) waitFor(t *testing.T, topic string, n int) []message {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		p.mu.Lock()
		changed := p.changed
		p.mu.Unlock()
		if got := p.on(topic); len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %d messages on %s; have %d", n, topic, len(p.on(topic)))
		}
	}
}

// eventually polls cond until it holds, and fails the test if it does not
// within waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// env is a running service on a real store in a temporary directory.
type env struct {
	t       *testing.T
	dir     string
	db      *store.DB
	reg     *registry.Registry
	svc     *service.Service
	pub     *publisher
	clock   *fakeclock.Clock
	tweak   func(o *service.Options)
	replies map[string]int // replies consumed per thing and format
	stop    func()
}

// newEnv starts a service; tweak, when not nil, adjusts its options.
func newEnv(t *testing.T, tweak func(o *service.Options)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: fakeclock.New(t0), tweak: tweak}
	// Registered first, so it runs last: after the cleanups that tweak
	// registers for what it runs beside the service on the same store.
	t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
	})
	e.start(newPublisher())
	return e
}

// start opens the store, loads the registry and runs a new service that
// publishes to pub.
func (e *env) start(pub *publisher) {
	e.t.Helper()
	db, err := store.Open(e.dir, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		e.t.Fatal(err)
	}
	reg, err := registry.Load(db)
	if err != nil {
		e.t.Fatal(err)
	}
	opts := service.Options{DB: db, Registry: reg, Publisher: pub, Logger: zerolog.Nop(), Now: e.clock.Now}
	if e.tweak != nil {
		e.tweak(&opts)
	}
	svc, err := service.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stopped := false
	e.db, e.reg, e.svc, e.pub, e.replies = db, reg, svc, pub, map[string]int{}
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
		if err := db.Close(); err != nil {
			e.t.Errorf("close store: %v", err)
		}
	}
}

// restart stops the service, closes the store, and starts a new service
// on the same directory that publishes to pub.
func (e *env) restart(pub *publisher) {
	e.t.Helper()
	e.stop()
	e.start(pub)
}

func reportTopic(thing string, f proto.Format) string {
	return proto.ReportTopic{Root: proto.RootVigil, Thing: thing, Format: f}.String()
}

// send hands a payload to the service as published by sender on thing's
// report topic, and returns the reply it gets.
func (e *env) send(thing string, f proto.Format, payload []byte, sender string) (proto.Reply, string) {
	e.t.Helper()
	topic := reportTopic(thing, f)
	e.svc.HandleReport(topic, payload, sender)
	return e.reply(thing, f)
}

// reply waits for the next reply to thing's reports in format f and
// returns it with the topic it came on.
func (e *env) reply(thing string, f proto.Format) (proto.Reply, string) {
	e.t.Helper()
	topic := reportTopic(thing, f)
	key := topic
	n := e.replies[key]
	var got []message
	eventually(e.t, "a reply on "+topic, func() bool {
		got = nil
		for _, m := range e.pub.all() {
			if strings.HasPrefix(m.Topic, topic+"/") {
				got = append(got, m)
			}
		}
		return len(got) > n
	})
	e.replies[key] = n + 1
	m := got[n]
	r, err := proto.DecodeReply(f, m.Payload)
	if err != nil {
		e.t.Fatalf("reply on %s: %v", m.Topic, err)
	}
	if m.Retain {
		e.t.Errorf("reply on %s is retained", m.Topic)
	}
	return r, m.Topic
}

// report sends a report, in JSON from the thing itself, and fails the test
// unless it is accepted.
func (e *env) report(thing string, r *proto.Report) {
	e.t.Helper()
	reply, _ := e.send(thing, proto.JSON, encode(e.t, r, proto.JSON), thing)
	if reply.Status != proto.Accepted {
		e.t.Fatalf("report %d of %s rejected: %+v", r.Header.ReportID, thing, reply.StatusDetails)
	}
}

func encode(t *testing.T, r *proto.Report, f proto.Format) []byte {
	t.Helper()
	data, err := proto.Encode(r, f, proto.LongKeys)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// portsReport is a report listing n listening TCP ports.
func portsReport(id int64, n int) *proto.Report {
	ports := make([]proto.Port, n)
	for i := range ports {
		ports[i] = proto.Port{Port: uint16(8000 + i)}
	}
	return &proto.Report{Header: proto.Header{ReportID: id, Version: proto.CurrentVersion},
		Metrics: &proto.Metrics{ListeningTCPPorts: &proto.PortList{Ports: ports}}}
}

// customReport is a report with one custom metric.
func customReport(id int64, name string, v proto.CustomValue) *proto.Report {
	return &proto.Report{Header: proto.Header{ReportID: id, Version: proto.CurrentVersion},
		CustomMetrics: []proto.CustomMetric{{Name: name, Value: v}}}
}

// portsBehavior alarms when a thing listens on more than max TCP ports.
func portsBehavior(name string, max uint64, toAlarm, toClear int) proto.Behavior {
	return proto.Behavior{Name: name, Metric: "aws:num-listening-tcp-ports", Criteria: &proto.BehaviorCriteria{
		ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: proto.Count(max)},
		ConsecutiveDatapointsToAlarm: &toAlarm, ConsecutiveDatapointsToClear: &toClear}}
}

// profile creates a profile and attaches it to target.
func (e *env) profile(name string, target registry.Target, behaviors ...proto.Behavior) {
	e.t.Helper()
	if _, err := e.svc.CreateProfile(registry.Profile{Name: name, Behaviors: behaviors}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.Attach(name, target); err != nil {
		e.t.Fatal(err)
	}
}

// events waits for n violation events of a thing under a profile and
// returns them decoded.
func (e *env) events(profile, thing string, n int) []proto.ViolationEvent {
	e.t.Helper()
	msgs := e.pub.waitFor(e.t, proto.ViolationTopic(profile, thing), n)
	out := make([]proto.ViolationEvent, len(msgs))
	for i, m := range msgs {
		if m.Retain || m.QoS != 1 {
			e.t.Errorf("event on %s: retain %v, QoS %d; want not retained, QoS 1", m.Topic, m.Retain, m.QoS)
		}
		if err := json.Unmarshal(m.Payload, &out[i]); err != nil {
			e.t.Fatalf("event on %s: %v", m.Topic, err)
		}
	}
	return out
}

// active waits for n messages on an active-violation topic and returns
// them; each must be retained.
func (e *env) active(profile, thing, behavior string, n int) []message {
	e.t.Helper()
	msgs := e.pub.waitFor(e.t, proto.ActiveViolationTopic(profile, thing, behavior), n)
	for _, m := range msgs {
		if !m.Retain || m.QoS != 1 {
			e.t.Errorf("active violation on %s: retain %v, QoS %d; want retained, QoS 1", m.Topic, m.Retain, m.QoS)
		}
	}
	return msgs
}

func decodeActive(t *testing.T, m message) proto.ActiveViolation {
	t.Helper()
	var a proto.ActiveViolation
	if err := json.Unmarshal(m.Payload, &a); err != nil {
		t.Fatalf("active violation on %s: %v (%q)", m.Topic, err, m.Payload)
	}
	return a
}

// outboxLen counts the entries left in the store's outbox.
func (e *env) outboxLen() int {
	e.t.Helper()
	n := 0
	if err := e.db.ScanOutbox(func(uint64, []byte) error { n++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func eventTypes(events []proto.ViolationEvent) string {
	var parts []string
	for _, ev := range events {
		parts = append(parts, fmt.Sprintf("%s(%s)", ev.ViolationEventType, ev.Behavior.Name))
	}
	return strings.Join(parts, " ")
}
