package broker_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/vigil-iot/vigil/broker"
	"github.com/vigil-iot/vigil/proto"
)

// window is how many QoS 1 publishes each publisher keeps in flight.
const window = 64

// BenchmarkInlineIngest measures how many reports the broker takes in from
// devices over loopback TCP and hands to an inline subscriber: N paho
// publishers, QoS 1, 200-byte payloads, each to its own report topic. One op
// is one message. Every message must arrive.
func BenchmarkInlineIngest(b *testing.B) {
	for _, publishers := range []int{10, 100} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			benchmarkIngest(b, publishers)
		})
	}
}

func benchmarkIngest(b *testing.B, publishers int) {
	brk := start(b, broker.Options{AllowAnonymous: true})
	var received atomic.Int64
	if err := brk.Subscribe(proto.ReportFilter(proto.RootVigil), func(broker.Message) { received.Add(1) }); err != nil {
		b.Fatal(err)
	}
	clients := make([]paho.Client, publishers)
	for i := range clients {
		clients[i] = mustDial(b, brk, client{id: fmt.Sprintf("bench-%d", i)})
	}
	payload := make([]byte, 200)

	b.ResetTimer()
	begin := time.Now()
	var wg sync.WaitGroup
	for i, pc := range clients {
		n := b.N/publishers + btoi(i < b.N%publishers)
		topic := proto.ReportTopic{Root: proto.RootVigil, Thing: fmt.Sprintf("bench-%d", i), Format: proto.CBOR}.String()
		wg.Go(func() { publish(b, pc, topic, payload, n) })
	}
	wg.Wait()
	waitFor(b, &received, int64(b.N))
	elapsed := time.Since(begin)
	b.StopTimer()

	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if got := received.Load(); got != int64(b.N) {
		b.Fatalf("received %d of %d messages", got, b.N)
	}
}

// publish sends n messages at QoS 1, keeping up to window unacknowledged.
func publish(b *testing.B, pc paho.Client, topic string, payload []byte, n int) {
	tokens := make([]paho.Token, 0, window)
	for range n {
		if len(tokens) == window {
			if !wait1(b, tokens[0]) {
				return
			}
			tokens = tokens[1:]
		}
		tokens = append(tokens, pc.Publish(topic, 1, false, payload))
	}
	for _, tok := range tokens {
		if !wait1(b, tok) {
			return
		}
	}
}

// wait1 waits for one publish token, reporting a failure.
func wait1(b *testing.B, tok paho.Token) bool {
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		b.Errorf("publish: %v", tok.Error())
		return false
	}
	return true
}

// waitFor waits until counter reaches want, or a while after it stops
// moving.
func waitFor(b *testing.B, counter *atomic.Int64, want int64) {
	deadline := time.Now().Add(wait)
	for last := counter.Load(); last < want && time.Now().Before(deadline); last = counter.Load() {
		time.Sleep(time.Millisecond)
		if counter.Load() != last {
			deadline = time.Now().Add(wait)
		}
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}
