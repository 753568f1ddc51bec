package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/internal/mosquittotest"
	"github.com/vigil-iot/vigil/proto"
)

// startDetector runs `vigil detect` against an external broker, with its
// API on a free port and its data in dir.
func startDetector(t *testing.T, b *mosquittotest.Broker, dir string) *server {
	t.Helper()
	s := &server{t: t, mqtt: b.Addr(), api: freeAddr(t), logs: &syncBuffer{}}
	s.args = []string{"detect", "--broker", b.URL(), "--http", s.api, "--data", dir, "--log-format", "json"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// attachProfile creates a profile and attaches it to all things.
func attachProfile(s *server, name string, profile map[string]any) {
	s.call("POST", "/api/security-profiles/"+name, profile, 200, nil)
	s.call("PUT", "/api/security-profiles/"+name+"/targets?securityProfileTargetArn=all/things", nil, 200, nil)
}

func TestSidecarAlarmOverExternalBroker(t *testing.T) {
	need(t, "mosquitto_pub")
	b := mosquittotest.Start(t)
	s := startDetector(t, b, t.TempDir())
	attachProfile(s, "door-limits", bytesOutProfile)

	events := subscribe(t, b.Addr(), "watch-events", "$vigil/violations/#")
	awaitSubscribed(t, b.Addr(), events, "$vigil/violations/probe/probe")
	replies := subscribe(t, b.Addr(), "watch-replies", "$aws/things/scanner-1/defender/metrics/json/+")
	awaitSubscribed(t, b.Addr(), replies, "$aws/things/scanner-1/defender/metrics/json/probe")
	topic := "$aws/things/scanner-1/defender/metrics/json"
	base := time.Now().UnixMilli()
	publish(t, b.Addr(), "scanner-1", "", topic, report(base+1, 5000))
	waitAccepted(t, s, 1)
	publish(t, b.Addr(), "scanner-1", "", topic, report(base+2, 5000))

	lines := events.waitFor("in-alarm", 10*time.Second, func(l []string) bool { return countContaining(l, `"in-alarm"`) >= 1 })
	if n := countContaining(lines, `"in-alarm"`, `"scanner-1"`, `"door-limits"`); n != 1 {
		t.Fatalf("got %d in-alarm events of scanner-1, want 1:\n%s", n, strings.Join(lines, "\n"))
	}
	active := subscribe(t, b.Addr(), "watch-active", "$vigil/active-violations/#")
	active.waitFor("retained active violation", 10*time.Second, func(l []string) bool {
		return countContaining(l, "1 $vigil/active-violations/door-limits/scanner-1/bytes-out", `"violationId"`) == 1
	})
	replies.waitFor("two accepted replies", 10*time.Second, func(l []string) bool {
		return countContaining(l, "/json/accepted", `"ACCEPTED"`) == 2
	})
}

// awaitSubscribed publishes probes on a topic of sub's filter until sub
// receives one: mosquitto_sub subscribes some time after it starts.
func awaitSubscribed(t *testing.T, mqttAddr string, sub *subscriber, topic string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for countContaining(sub.Lines(), topic) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the subscriber did not receive a probe on %s", topic)
		}
		publish(t, mqttAddr, "probe", "", topic, "probe")
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSidecarRestartsLoseAndRepeatNothing restarts Mosquitto, then `vigil
// detect`, while devices report, and checks that every expected alarm is
// raised exactly once: in the detector's records and on the broker.
func TestSidecarRestartsLoseAndRepeatNothing(t *testing.T) {
	need(t, "mosquitto_sub")
	b := mosquittotest.Start(t)
	s := startDetector(t, b, t.TempDir())
	attachProfile(s, "doors", bytesOutProfile) // two datapoints to alarm
	watcher := watchSession(t, b.URL())

	// A busy fleet violates all along: each of its devices alarms once.
	var stop atomic.Bool
	var wg sync.WaitGroup
	busy := make([]*device, 3)
	for i := range busy {
		busy[i] = newDevice(t, b.Addr(), fmt.Sprintf("busy-%d", i))
		wg.Go(func() {
			for !stop.Load() {
				busy[i].send(9000, 300*time.Millisecond)
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	acrossBroker, acrossDetector, whileDown := newDevice(t, b.Addr(), "across-broker"),
		newDevice(t, b.Addr(), "across-detector"), newDevice(t, b.Addr(), "while-down")
	mustSend(t, acrossBroker, acrossDetector)

	// The broker restarts between a device's first and second violation.
	b.Restart()
	for _, d := range append([]*device{acrossBroker, acrossDetector, whileDown}, busy...) {
		d.waitConnected(t)
	}
	mustSend(t, acrossBroker)
	watcher.waitInAlarm(t, "across-broker")

	// The detector stops; reports published meanwhile wait in its session.
	s.stop()
	publishOnly(t, acrossDetector, 9000)
	publishOnly(t, whileDown, 9000)
	publishOnly(t, whileDown, 9000)
	s.start()
	watcher.waitInAlarm(t, "across-detector", "while-down")
	stop.Store(true)
	wg.Wait()
	for _, d := range busy {
		d.waitConnected(t)
		if !d.send(9000, 10*time.Second) {
			t.Fatalf("%s: report not accepted after the restarts", d.thing)
		}
	}

	want := []string{"across-broker", "across-detector", "while-down", "busy-0", "busy-1", "busy-2"}
	checkRecordedOnce(t, s, want)
	watcher.waitInAlarm(t, want...)
	time.Sleep(500 * time.Millisecond) // a repeated event would arrive by now
	watcher.checkOnce(t, want)
	retained := subscribe(t, b.Addr(), "late-watcher", "$vigil/active-violations/#")
	retained.waitFor("a retained active violation per alarm", 10*time.Second, func(l []string) bool {
		return countContaining(l, "1 $vigil/active-violations/doors/") == len(want)
	})
}

// mustSend sends one violating report from each device and fails unless
// each is accepted.
func mustSend(t *testing.T, devices ...*device) {
	t.Helper()
	for _, d := range devices {
		if !d.send(9000, 15*time.Second) {
			t.Fatalf("%s: report not accepted", d.thing)
		}
	}
}

// publishOnly publishes a report at QoS 1 and waits for the broker's
// acknowledgement only.
func publishOnly(t *testing.T, d *device, bytesOut int) {
	t.Helper()
	d.lastID = max(d.lastID+1, time.Now().UnixMilli())
	tok := d.client.Publish("$aws/things/"+d.thing+"/defender/metrics/json", 1, false, report(d.lastID, bytesOut))
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: publish: %v", d.thing, tok.Error())
	}
}

// checkRecordedOnce checks the detector's violation events: exactly one
// in-alarm per thing of want, and none for another thing.
func checkRecordedOnce(t *testing.T, s *server, want []string) {
	t.Helper()
	var events struct {
		ViolationEvents []struct {
			ThingName          string          `json:"thingName"`
			ViolationEventType proto.EventType `json:"violationEventType"`
		} `json:"violationEvents"`
	}
	s.call("GET", fmt.Sprintf("/api/violation-events?startTime=%d&endTime=%d", time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Hour).Unix()), nil, 200, &events)
	perThing := map[string]int{}
	for _, ev := range events.ViolationEvents {
		if ev.ViolationEventType == proto.InAlarm {
			perThing[ev.ThingName]++
		}
	}
	for _, thing := range want {
		if perThing[thing] != 1 {
			t.Errorf("%s: %d in-alarm events recorded, want 1", thing, perThing[thing])
		}
		delete(perThing, thing)
	}
	if len(perThing) > 0 {
		t.Errorf("unexpected in-alarm events: %v", perThing)
	}
}

// sessionWatcher counts the in-alarm events per violation id on a
// persistent session, so that it misses none while the broker restarts.
type sessionWatcher struct {
	mu      sync.Mutex
	inAlarm map[string]int    // violation id -> in-alarm events
	things  map[string]string // violation id -> thing
}

func watchSession(t *testing.T, brokerURL string) *sessionWatcher {
	t.Helper()
	w := &sessionWatcher{inAlarm: map[string]int{}, things: map[string]string{}}
	opts := mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID("sidecar-watcher").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true)
	opts.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
		var ev proto.ViolationEvent
		if json.Unmarshal(m.Payload(), &ev) == nil && ev.ViolationEventType == proto.InAlarm {
			w.mu.Lock()
			w.inAlarm[ev.ViolationID]++
			w.things[ev.ViolationID] = ev.ThingName
			w.mu.Unlock()
		}
	})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher: connect: %v", tok.Error())
	}
	if tok := c.Subscribe("$vigil/violations/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher: subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return w
}

// alarmed returns the things that have an in-alarm event.
func (w *sessionWatcher) alarmed() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	for _, thing := range w.things {
		seen[thing] = true
	}
	return seen
}

// waitInAlarm waits until every one of things has an in-alarm event.
func (w *sessionWatcher) waitInAlarm(t *testing.T, things ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		seen, missing := w.alarmed(), []string(nil)
		for _, thing := range things {
			if !seen[thing] {
				missing = append(missing, thing)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no in-alarm event on the broker for %v", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOnce checks that each in-alarm was published once, and that only
// the things of want alarmed.
func (w *sessionWatcher) checkOnce(t *testing.T, want []string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var dup []string
	perThing := map[string]int{}
	for id, n := range w.inAlarm {
		perThing[w.things[id]]++
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s (%s) x%d", id, w.things[id], n))
		}
	}
	sort.Strings(dup)
	if len(dup) > 0 {
		t.Errorf("in-alarm published more than once: %s", strings.Join(dup, ", "))
	}
	for _, thing := range want {
		if perThing[thing] != 1 {
			t.Errorf("%s: %d violation ids in alarm on the broker, want 1", thing, perThing[thing])
		}
	}
	if len(perThing) != len(want) {
		t.Errorf("things in alarm on the broker: %v, want %v", perThing, want)
	}
}
