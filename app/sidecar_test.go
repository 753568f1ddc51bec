package app

import (
	"errors"
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/mqttclient"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/internal/mosquittotest"
	"github.com/vigil-iot/vigil/proto"
)

// TestSidecarRaisesAlarmsOnTheExternalBroker runs the detector in-process
// against a real Mosquitto: a device's reports come in over the broker, and
// the reply and the violation event go back out on it.
func TestSidecarRaisesAlarmsOnTheExternalBroker(t *testing.T) {
	b := mosquittotest.Start(t)
	a, err := StartSidecar(Options{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: zerolog.Nop()},
		mqttclient.Options{Broker: b.URL(), ClientID: "detector"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.MQTTAddr() != b.URL() {
		t.Errorf("MQTTAddr() = %q, want the external broker %q", a.MQTTAddr(), b.URL())
	}
	if err := a.Subscribe("#", func(string, []byte) {}); !errors.Is(err, errNoEmbeddedBroker) {
		t.Errorf("Subscribe in sidecar mode: %v", err)
	}
	two := 2
	p := registry.Profile{Name: "doors", Behaviors: []proto.Behavior{{Name: "bytes-out", Metric: "aws:all-bytes-out",
		Criteria: &proto.BehaviorCriteria{ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: ptr(uint64(4096))},
			ConsecutiveDatapointsToAlarm: &two}}}}
	if _, err := a.Service().CreateProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := a.Service().Attach(p.Name, registry.AllThings); err != nil {
		t.Fatal(err)
	}

	got := make(chan string, 10)
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("scanner-1"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(0)
	for _, f := range []string{"$aws/things/scanner-1/defender/metrics/json/+", "$vigil/violations/#"} {
		if tok := c.Subscribe(f, 1, func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	base := time.Now().UnixMilli()
	for i := range 2 {
		report := fmt.Sprintf(`{"header":{"report_id":%d,"version":"1.0"},"metrics":{"network_stats":{"bytes_out":9000}}}`, base+int64(i))
		c.Publish("$aws/things/scanner-1/defender/metrics/json", 1, false, report).Wait()
	}
	want := map[string]int{"$aws/things/scanner-1/defender/metrics/json/accepted": 2, "$vigil/violations/doors/scanner-1": 1}
	for n := 0; n < 3; n++ {
		select {
		case topic := <-got:
			want[topic]--
		case <-time.After(10 * time.Second):
			t.Fatalf("missing messages (topic: count still expected): %v", want)
		}
	}
	for topic, n := range want {
		if n != 0 {
			t.Errorf("%s: %d messages missing", topic, n)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestSidecarFailsWithoutABroker(t *testing.T) {
	_, err := StartSidecar(Options{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: zerolog.Nop()},
		mqttclient.Options{Broker: "mqtt://127.0.0.1:1", ConnectTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("started with no broker to connect to")
	}
}
