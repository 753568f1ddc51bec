package app

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
)

// TestMQTTAlertTopic subscribes a real MQTT client, as the operator, to a
// profile's alert topic and to the event topic: the alert topic carries
// the events of every behavior but the one with suppressAlerts, the event
// topic carries them all.
func TestMQTTAlertTopic(t *testing.T) {
	a, err := Start(Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), AllowAnonymous: true,
		ReportTime: true, OperatorPassword: "ops-secret", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p := portsProfile(map[string]registry.AlertTarget{registry.AlertMQTT: {Topic: "alerts/scanners"}})
	quiet := p.Behaviors[0]
	quiet.Name, quiet.SuppressAlerts = "few-ports-quiet", ptr(true)
	p.Behaviors = append(p.Behaviors, quiet)
	if _, err := a.Service().CreateProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := a.Service().Attach(p.Name, registry.AllThings); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string][]string{} // topic -> "type(behavior)"
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + a.MQTTAddr()).SetClientID("ops-console").
		SetUsername(OperatorUser).SetPassword("ops-secret"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	for _, f := range []string{"alerts/scanners", "$vigil/violations/#"} {
		tok := c.Subscribe(f, 1, func(_ mqtt.Client, m mqtt.Message) {
			var ev proto.ViolationEvent
			if err := json.Unmarshal(m.Payload(), &ev); err != nil {
				t.Errorf("%s: %v", m.Topic(), err)
			}
			mu.Lock()
			got[m.Topic()] = append(got[m.Topic()], string(ev.ViolationEventType)+"("+ev.Behavior.Name+")")
			mu.Unlock()
		})
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe to %s: %v", f, tok.Error())
		}
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	a.Service().HandleReport("$vigil/things/scanner-1/defender/metrics/json", portsReport(t, at, 9), "")
	a.Service().HandleReport("$vigil/things/scanner-1/defender/metrics/json", portsReport(t, at.Add(time.Minute), 1), "")
	count := func(topic string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(got[topic])
	}
	waitUntil(t, "4 events and 2 alerts", 10*time.Second, func() bool {
		return count("$vigil/violations/scanners/scanner-1") == 4 && count("alerts/scanners") == 2
	})
	time.Sleep(100 * time.Millisecond) // room for a stray alert of the suppressed behavior
	mu.Lock()
	defer mu.Unlock()
	if alerts := got["alerts/scanners"]; len(alerts) != 2 || alerts[0] != "in-alarm(few-ports)" || alerts[1] != "alarm-cleared(few-ports)" {
		t.Errorf("alert topic got %v, want the in-alarm and alarm-cleared of few-ports only", alerts)
	}
}
