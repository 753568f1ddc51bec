package broker

import (
	"fmt"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/vigil-iot/vigil/proto"
)

// BenchmarkHookPublish measures what the broker's hook costs each message a
// device publishes: the whole OnPublish (session lookup, topic rules and
// counting), and the counting alone (the per-thing counters and, with
// dimensions, matching the topic against their filters). One op is one
// message, from 1024 things in parallel.
func BenchmarkHookPublish(b *testing.B) {
	for _, whole := range []bool{true, false} {
		for _, dims := range []int{0, 4} {
			name := map[bool]string{true: "OnPublish", false: "counting"}[whole]
			b.Run(fmt.Sprintf("%s/dimensions=%d", name, dims), func(b *testing.B) {
				benchmarkHookPublish(b, dims, whole)
			})
		}
	}
}

func benchmarkHookPublish(b *testing.B, dims int, whole bool) {
	brk, err := New(Options{AllowAnonymous: true})
	if err != nil {
		b.Fatal(err)
	}
	h := brk.hook
	var set []Dimension
	for i := range dims {
		set = append(set, Dimension{Name: fmt.Sprintf("d%d", i), Filters: []string{
			fmt.Sprintf("$vigil/things/%s/defender/metrics/x%d", ClientIDVariable, i), "$aws/things/+/defender/#", "alarms/#"}})
	}
	if err := brk.SetDimensions(set); err != nil {
		b.Fatal(err)
	}
	const things = 1024
	type device struct {
		pk packets.Packet
		s  *session
	}
	devices := make([]device, things)
	for i := range devices {
		name := fmt.Sprintf("scanner-%04d", i)
		cl := brk.server.NewClient(nil, "bench", name, false)
		s := &session{Identity: Identity{Thing: name}, cl: cl, stats: h.stats.of(name)}
		h.sessions.Store(name, s)
		topic := proto.ReportTopic{Root: proto.RootVigil, Thing: name, Format: proto.CBOR}.String()
		devices[i] = device{pk: packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, TopicName: topic, Payload: make([]byte, 200)}, s: s}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			d := &devices[i%things]
			i += 7
			if !whole {
				h.countSent(d.s, d.s.Thing, d.pk)
				continue
			}
			if _, err := h.OnPublish(d.s.cl, d.pk); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
