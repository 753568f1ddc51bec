package mqttclient_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/detector/mqttclient"
	"github.com/vigil-iot/vigil/internal/mosquittotest"
)

const waitFor = 10 * time.Second

func reportTopic(thing string) string { return "$aws/things/" + thing + "/defender/metrics/json" }

// inbox records what the handler receives.
type inbox struct {
	mu  sync.Mutex
	got []string
	ch  chan string
}

func newInbox() *inbox { return &inbox{ch: make(chan string, 1000)} }

func (b *inbox) handle(topic string, payload []byte) {
	b.mu.Lock()
	b.got = append(b.got, string(payload))
	b.mu.Unlock()
	b.ch <- string(payload)
}

func (b *inbox) next(t *testing.T) string {
	t.Helper()
	select {
	case p := <-b.ch:
		return p
	case <-time.After(waitFor):
		t.Fatal("no report handed over")
		return ""
	}
}

func dial(t *testing.T, b *mosquittotest.Broker, h mqttclient.Handler) *mqttclient.Client {
	t.Helper()
	c, err := mqttclient.Dial(context.Background(), mqttclient.Options{Broker: b.URL(), ClientID: "detector", PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Receive(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	return c
}

func device(t *testing.T, b *mosquittotest.Broker) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("device").SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func send(t *testing.T, d mqtt.Client, topic, payload string) {
	t.Helper()
	if tok := d.Publish(topic, 1, false, payload); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("device publish: %v", tok.Error())
	}
}

// answer publishes the reply to a report, as the detector does once the
// report is committed.
func answer(t *testing.T, c *mqttclient.Client, topic string) {
	t.Helper()
	if err := c.Publish(topic+"/accepted", []byte("{}"), false, 0); err != nil {
		t.Fatal(err)
	}
}

func TestReportsArriveInOrder(t *testing.T) {
	b := mosquittotest.Start(t)
	in := newInbox()
	c := dial(t, b, in.handle)
	d := device(t, b)
	for i := range 50 {
		d.Publish(reportTopic(fmt.Sprintf("t%d", i%3)), 1, false, fmt.Sprint(i))
	}
	for i := range 50 {
		got := in.next(t)
		if got != fmt.Sprint(i) {
			t.Fatalf("report %d handed over as %s", i, got)
		}
		answer(t, c, reportTopic(fmt.Sprintf("t%d", i%3)))
	}
	if n := c.Unanswered(); n != 0 {
		t.Fatalf("%d reports unanswered after every reply", n)
	}
}

// A report the detector has not answered is delivered again to the next
// session; an answered one is not.
func TestUnansweredReportsComeBack(t *testing.T) {
	b := mosquittotest.Start(t)
	in := newInbox()
	c := dial(t, b, in.handle)
	d := device(t, b)
	send(t, d, reportTopic("t1"), "answered")
	in.next(t)
	answer(t, c, reportTopic("t1"))
	send(t, d, reportTopic("t1"), "unanswered")
	in.next(t)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	again := newInbox()
	dial(t, b, again.handle)
	if got := again.next(t); got != "unanswered" {
		t.Fatalf("the next session got %q first, want the unanswered report", got)
	}
	select {
	case got := <-again.ch:
		t.Fatalf("the next session also got %q", got)
	case <-time.After(300 * time.Millisecond):
	}
}

// Reports published while the detector is away wait in its session.
func TestReportsWaitForTheDetector(t *testing.T) {
	b := mosquittotest.Start(t)
	first := dial(t, b, newInbox().handle)
	_ = first.Close()
	d := device(t, b)
	send(t, d, reportTopic("t1"), "while away")
	in := newInbox()
	dial(t, b, in.handle)
	if got := in.next(t); got != "while away" {
		t.Fatalf("got %q", got)
	}
}

// The handler blocks until the detector has published a QoS 1 message, as
// the detector's queue does when it is full: the publish must still be
// acknowledged, or the two would wait for each other.
func TestBlockedHandlerDoesNotStopPublishing(t *testing.T) {
	b := mosquittotest.Start(t)
	var c *mqttclient.Client
	published := make(chan error, 10)
	c = dial(t, b, func(topic string, _ []byte) {
		published <- c.Publish("$vigil/violations/p/t1", []byte("event"), false, 1)
		answer(t, c, topic)
	})
	d := device(t, b)
	for range 3 {
		send(t, d, reportTopic("t1"), "r")
		select {
		case err := <-published:
			if err != nil {
				t.Fatalf("publish from a blocked handler: %v", err)
			}
		case <-time.After(waitFor):
			t.Fatal("publish from a blocked handler never returned")
		}
	}
}

func TestPublishWhileTheBrokerIsDown(t *testing.T) {
	b := mosquittotest.Start(t)
	c := dial(t, b, newInbox().handle)
	b.Stop()
	deadline := time.Now().Add(waitFor)
	for {
		err := c.Publish("$vigil/violations/p/t1", []byte("event"), false, 1)
		if errors.Is(err, mqttclient.ErrNotConnected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish with the broker down: %v, want ErrNotConnected", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDrainWaitsForAnswers(t *testing.T) {
	b := mosquittotest.Start(t)
	in := newInbox()
	c := dial(t, b, in.handle)
	send(t, device(t, b), reportTopic("t1"), "r")
	in.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Drain(ctx); err == nil {
		t.Fatal("drained with a report unanswered")
	}
	go func() { _ = c.Publish(reportTopic("t1")+"/accepted", []byte("{}"), false, 0) }()
	if err := c.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestBadOptions(t *testing.T) {
	for name, o := range map[string]mqttclient.Options{
		"no broker":      {},
		"no host":        {Broker: "mqtt://"},
		"unknown scheme": {Broker: "http://127.0.0.1:1883"},
		"CA without TLS": {Broker: "mqtt://127.0.0.1:1883", CAFile: "ca.pem"},
		"cert, no key":   {Broker: "mqtts://127.0.0.1:8883", CertFile: "c.pem"},
		"missing CA":     {Broker: "mqtts://127.0.0.1:8883", CAFile: "/nonexistent/ca.pem"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := mqttclient.Dial(context.Background(), o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
