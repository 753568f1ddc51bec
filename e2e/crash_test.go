package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/proto"
)

// device is a paho client reporting for one thing and reading its replies.
type device struct {
	thing   string
	client  mqtt.Client
	replies chan proto.Reply
	lastID  int64
}

func newDevice(t *testing.T, mqttAddr, thing string) *device {
	t.Helper()
	d := &device{thing: thing, replies: make(chan proto.Reply, 64)}
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID(thing).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetCleanSession(true)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("$aws/things/"+thing+"/defender/metrics/json/+", 1, func(_ mqtt.Client, m mqtt.Message) {
			if rep, err := proto.DecodeReply(proto.JSON, m.Payload()); err == nil {
				d.replies <- rep
			}
		}).WaitTimeout(5 * time.Second)
	})
	d.client = mqtt.NewClient(opts)
	d.client.Connect().WaitTimeout(5 * time.Second)
	t.Cleanup(func() { d.client.Disconnect(50) })
	return d
}

// send publishes a report and reports whether it was answered "accepted"
// within the timeout. A report whose answer was lost may still have been
// counted by the server.
func (d *device) send(bytesOut int, timeout time.Duration) bool {
	d.lastID = max(d.lastID+1, time.Now().UnixMilli())
	for len(d.replies) > 0 {
		<-d.replies
	}
	if !d.client.IsConnectionOpen() {
		return false
	}
	d.client.Publish("$aws/things/"+d.thing+"/defender/metrics/json", 1, false, report(d.lastID, bytesOut))
	deadline := time.After(timeout)
	for {
		select {
		case rep := <-d.replies:
			if rep.ReportID == d.lastID {
				return rep.Status == proto.Accepted
			}
		case <-deadline:
			return false
		}
	}
}

func (d *device) waitConnected(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !d.client.IsConnectionOpen() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reconnect", d.thing)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the reply subscription land
}

// eventWatcher counts the in-alarm events published per violation id,
// across reconnects.
type eventWatcher struct {
	mu      sync.Mutex
	inAlarm map[string]int
	things  map[string]string
}

func watchEvents(t *testing.T, mqttAddr string) *eventWatcher {
	t.Helper()
	w := &eventWatcher{inAlarm: map[string]int{}, things: map[string]string{}}
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("crash-watcher").
		SetAutoReconnect(true).SetConnectRetry(true).SetMaxReconnectInterval(200 * time.Millisecond)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("$vigil/violations/#", 1, func(_ mqtt.Client, m mqtt.Message) {
			var ev proto.ViolationEvent
			if json.Unmarshal(m.Payload(), &ev) == nil && ev.ViolationEventType == proto.InAlarm {
				w.mu.Lock()
				w.inAlarm[ev.ViolationID]++
				w.things[ev.ViolationID] = ev.ThingName
				w.mu.Unlock()
			}
		}).WaitTimeout(5 * time.Second)
	})
	c := mqtt.NewClient(opts)
	c.Connect().WaitTimeout(5 * time.Second)
	t.Cleanup(func() { c.Disconnect(50) })
	return w
}

// TestCrashLosesAndRepeatsNothing kills `vigil serve` with SIGKILL while
// reports flow and alarms are active, restarts it on the same data, and
// checks that no active violation was lost, no in-alarm was published or
// recorded twice, and alarm counters resumed where they stood.
func TestCrashLosesAndRepeatsNothing(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "--allow-anonymous")
	profile := map[string]any{"behaviors": []any{map[string]any{
		"name": "bytes-out", "metric": "aws:all-bytes-out",
		"criteria": map[string]any{"comparisonOperator": "less-than-equals", "value": map[string]any{"count": 4096},
			"consecutiveDatapointsToAlarm": 3, "consecutiveDatapointsToClear": 3},
	}}}
	s.call("POST", "/api/security-profiles/crash", profile, 200, nil)
	s.call("PUT", "/api/security-profiles/crash/targets?securityProfileTargetArn=all/things", nil, 200, nil)
	watcher := watchEvents(t, s.mqtt)

	// Before the crash: "early" is in alarm; "resume" has two violations
	// counted, one short of the alarm.
	early, resume := newDevice(t, s.mqtt, "early"), newDevice(t, s.mqtt, "resume")
	for i := 0; i < 3; i++ {
		if !early.send(9000, 5*time.Second) {
			t.Fatal("early: report not accepted")
		}
	}
	for i := 0; i < 2; i++ {
		if !resume.send(9000, 5*time.Second) {
			t.Fatal("resume: report not accepted")
		}
	}
	// A fleet keeps reporting violating values while the server is killed.
	var stop atomic.Bool
	var wg sync.WaitGroup
	fleet := make([]*device, 8)
	for i := range fleet {
		fleet[i] = newDevice(t, s.mqtt, fmt.Sprintf("busy-%d", i))
		wg.Add(1)
		go func(d *device) {
			defer wg.Done()
			for !stop.Load() {
				d.send(9000, 500*time.Millisecond)
				time.Sleep(10 * time.Millisecond)
			}
		}(fleet[i])
	}
	time.Sleep(700 * time.Millisecond)
	s.kill()
	time.Sleep(300 * time.Millisecond)
	s.start()
	time.Sleep(700 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, d := range append(fleet, early, resume) {
		d.waitConnected(t)
	}

	// "early" is still active, and its retained message is back.
	var active struct {
		ActiveViolations []struct {
			ViolationID string `json:"violationId"`
			ThingName   string `json:"thingName"`
		} `json:"activeViolations"`
	}
	s.call("GET", "/api/active-violations?thingName=early", nil, 200, &active)
	if len(active.ActiveViolations) != 1 {
		t.Fatalf("active violations of early after the restart: %+v", active.ActiveViolations)
	}
	late := subscribe(t, s.mqtt, "late-watcher", "$vigil/active-violations/crash/early/#")
	late.waitFor("the retained active violation of early", 10*time.Second, func(l []string) bool {
		return countContaining(l, active.ActiveViolations[0].ViolationID) == 1
	})

	// "resume" alarms at its first violation after the restart: its two
	// earlier ones were counted once each.
	if !resume.send(9000, 5*time.Second) {
		t.Fatal("resume: report after the restart not accepted")
	}
	s.call("GET", "/api/active-violations?thingName=resume", nil, 200, &active)
	if len(active.ActiveViolations) != 1 {
		t.Fatalf("resume did not alarm at its third violation across the restart: %+v", active.ActiveViolations)
	}

	// Every thing that kept violating has exactly one in-alarm in the
	// history, and no in-alarm was published twice.
	for _, d := range fleet {
		for i := 0; i < 3; i++ {
			d.send(9000, 5*time.Second)
		}
	}
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
	for _, d := range append(fleet, early, resume) {
		if perThing[d.thing] != 1 {
			t.Errorf("%s: %d in-alarm events recorded, want 1", d.thing, perThing[d.thing])
		}
	}
	time.Sleep(300 * time.Millisecond)
	watcher.mu.Lock()
	defer watcher.mu.Unlock()
	var dup []string
	for id, n := range watcher.inAlarm {
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s (%s) x%d", id, watcher.things[id], n))
		}
	}
	if len(dup) > 0 {
		t.Fatalf("in-alarm published more than once: %s", strings.Join(dup, ", "))
	}
}
