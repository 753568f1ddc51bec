package mosquittotest_test

import (
	"net"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/internal/mosquittotest"
)

const waitFor = 10 * time.Second

func connect(t *testing.T, b *mosquittotest.Broker, id string, clean bool, onMessage mqtt.MessageHandler) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID(id).SetCleanSession(clean).SetAutoReconnect(false)
	opts.SetDefaultPublishHandler(onMessage)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, b.URL(), tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func wait(t *testing.T, what string, tok mqtt.Token) {
	t.Helper()
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("%s: %v (timed out: %v)", what, tok.Error(), !tok.WaitTimeout(0))
	}
}

func receive(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("received %q, want %q", got, want)
		}
	case <-time.After(waitFor):
		t.Fatalf("no message within %v, want %q", waitFor, want)
	}
}

func collector() (chan string, mqtt.MessageHandler) {
	ch := make(chan string, 10)
	return ch, func(_ mqtt.Client, m mqtt.Message) { ch <- string(m.Payload()) }
}

func TestBroker(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, b *mosquittotest.Broker)
	}{
		{"delivers a message", func(t *testing.T, b *mosquittotest.Broker) {
			ch, h := collector()
			sub := connect(t, b, "sub", true, h)
			wait(t, "subscribe", sub.Subscribe("a/b", 1, nil))
			pub := connect(t, b, "pub", true, nil)
			wait(t, "publish", pub.Publish("a/b", 1, false, "hello"))
			receive(t, ch, "hello")
		}},
		// A retained message lives in the persistence file, so it proves the
		// state directory is written on Stop and read on start.
		{"keeps retained messages across a restart", func(t *testing.T, b *mosquittotest.Broker) {
			pub := connect(t, b, "pub", true, nil)
			wait(t, "publish", pub.Publish("kept", 1, true, "retained"))
			pub.Disconnect(100)
			b.Restart()
			ch, h := collector()
			sub := connect(t, b, "sub", true, h)
			wait(t, "subscribe", sub.Subscribe("kept", 1, nil))
			receive(t, ch, "retained")
		}},
		// A persistent session queues QoS 1 messages for an absent client,
		// and the queue must survive the restart as well.
		{"keeps sessions across a restart", func(t *testing.T, b *mosquittotest.Broker) {
			sub := connect(t, b, "durable", false, nil)
			wait(t, "subscribe", sub.Subscribe("queued", 1, nil))
			sub.Disconnect(100)
			pub := connect(t, b, "pub", true, nil)
			wait(t, "publish", pub.Publish("queued", 1, false, "while away"))
			pub.Disconnect(100)
			b.Restart()
			ch, h := collector()
			connect(t, b, "durable", false, h)
			receive(t, ch, "while away")
		}},
		{"stops listening on Stop", func(t *testing.T, b *mosquittotest.Broker) {
			b.Stop()
			b.Stop() // a second Stop does nothing
			if conn, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
				conn.Close()
				t.Fatalf("%s still accepts connections after Stop", b.Addr())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, mosquittotest.Start(t))
		})
	}
}
