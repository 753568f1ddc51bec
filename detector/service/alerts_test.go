package service_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/alert"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

const hookSecret = "the receiver's secret"

// hookRequest is a webhook delivery as received.
type hookRequest struct {
	key    string
	event  proto.ViolationEvent
	signed bool
}

// hookReceiver records the webhook deliveries it gets.
type hookReceiver struct {
	mu  sync.Mutex
	got []hookRequest
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := hookRequest{key: r.Header.Get(alert.DeliveryHeader), signed: alert.Verify(hookSecret, body, r.Header.Get(alert.SignatureHeader))}
	if err := json.Unmarshal(body, &req.event); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.got = append(h.got, req)
	h.mu.Unlock()
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// withWebhooks runs an alert dispatcher beside the service, reading the
// webhooks from its registry.
func withWebhooks(t *testing.T) func(o *service.Options) {
	return func(o *service.Options) {
		reg := o.Registry
		d, err := alert.New(alert.Options{DB: o.DB, Logger: zerolog.Nop(), Lookup: func(profile string) (alert.Webhook, bool) {
			p, ok := reg.Profile(profile)
			hook, has := p.AlertTargets[registry.AlertWebhook]
			return alert.Webhook{URL: hook.URL, Secret: hook.Secret}, ok && has
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = d.Run(ctx)
		}()
		t.Cleanup(func() { cancel(); <-done })
		o.Alerts = d
	}
}

// TestAlertTargets sends a profile's events to its extra MQTT topic and to
// its webhook, except those of a behavior with suppressAlerts, which still
// go to the event topic and the violation records.
func TestAlertTargets(t *testing.T) {
	hooks := &hookReceiver{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	e := newEnv(t, withWebhooks(t))
	yes := true
	quiet := portsBehavior("ports-quiet", 3, 1, 1)
	quiet.SuppressAlerts = &yes
	_, err := e.svc.CreateProfile(registry.Profile{Name: "p",
		Behaviors: []proto.Behavior{portsBehavior("ports", 5, 1, 1), quiet},
		AlertTargets: map[string]registry.AlertTarget{
			registry.AlertMQTT:    {Topic: "alerts/ports"},
			registry.AlertWebhook: {URL: srv.URL + "/vigil", Secret: hookSecret},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Attach("p", registry.AllThings); err != nil {
		t.Fatal(err)
	}
	e.report("t1", portsReport(1, 9)) // both behaviors in alarm
	e.report("t1", portsReport(2, 1)) // both cleared
	events := e.events("p", "t1", 4)
	if got := eventTypes(events); got != "in-alarm(ports) in-alarm(ports-quiet) alarm-cleared(ports) alarm-cleared(ports-quiet)" {
		t.Fatalf("event topic: %s", got)
	}
	alerts := e.pub.waitFor(t, "alerts/ports", 2)
	eventually(t, "two webhook deliveries", func() bool { return len(hooks.requests()) >= 2 })
	var fromTopic []proto.ViolationEvent
	for _, m := range alerts {
		var ev proto.ViolationEvent
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if m.Retain || m.QoS != 1 {
			t.Errorf("alert topic message retained %v, QoS %d; want not retained, QoS 1", m.Retain, m.QoS)
		}
		fromTopic = append(fromTopic, ev)
	}
	if got := eventTypes(fromTopic); got != "in-alarm(ports) alarm-cleared(ports)" {
		t.Errorf("alert topic: %s, want the events of ports only", got)
	}
	reqs := hooks.requests()
	var fromHook []proto.ViolationEvent
	for _, r := range reqs {
		if !r.signed || r.key != service.DeliveryKey(r.event.ViolationID, r.event.ViolationEventType) {
			t.Errorf("webhook delivery %q: signed %v; want signed, keyed by violation and event type", r.key, r.signed)
		}
		fromHook = append(fromHook, r.event)
	}
	if got := eventTypes(fromHook); got != "in-alarm(ports) alarm-cleared(ports)" {
		t.Errorf("webhook: %s, want the events of ports only", got)
	}
	stored, _, err := e.svc.ViolationEvents(t0.Add(-1), t0.Add(1<<40), service.ViolationFilter{}, "", 0)
	if err != nil || len(stored) != 4 {
		t.Errorf("violation records: %d (%v), want all 4, suppressed ones included", len(stored), err)
	}
}
