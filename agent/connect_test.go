package agent_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/agent"
)

// TestConnectBacksOff points the agent at a server that closes every
// connection at once: the attempts must come further and further apart,
// not at a fixed interval, so that a fleet facing a broker that is down
// does not hammer it.
func TestConnectBacksOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var attempts atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			conn.Close()
		}
	}()
	client, err := agent.DialMQTT(agent.MQTTOptions{Broker: "mqtt://" + ln.Addr().String(), Thing: "door-1",
		FirstRetryDelay: 20 * time.Millisecond, MaxReconnectDelay: 640 * time.Millisecond, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	client.Close()
	// Delays of 10-20, 20-40, 40-80, 80-160, 160-320, 320-640 ms, then at
	// most 640 ms: from 6 to about 12 attempts in 2 s. At a fixed 20 ms
	// there would be near 100.
	if n := attempts.Load(); n < 4 || n > 20 {
		t.Errorf("%d connection attempts in 2 s; want the delays to double", n)
	}
	if client.Connected() {
		t.Error("connected to a server that speaks no MQTT")
	}
}
