package service

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// TestWindowDatapoints pins how one thing's broker counts become the
// datapoints of one window.
func TestWindowDatapoints(t *testing.T) {
	start := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	end := start.Add(BrokerWindow)
	a, b := netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("192.0.2.1")
	all := map[string]bool{}
	for _, m := range []string{detector.MetricConnectionAttempts, detector.MetricAuthorizationFailures, detector.MetricDisconnects,
		detector.MetricMessagesSent, detector.MetricMessagesReceived, detector.MetricMessageByteSize, detector.MetricSourceIP,
		detector.MetricDisconnectDuration, detector.SeriesLargestMessage, detector.SeriesSmallestMessage, "aws:num-messages-sent/IN/cmd", "aws:num-messages-sent/NOT_IN/cmd",
		"aws:num-authorization-failures/NOT_IN/cmd"} {
		all[m] = true
	}
	for _, tc := range []struct {
		name      string
		prev, cur BrokerCounts
		wanted    map[string]bool
		want      string
	}{{
		name: "connected all along: counters grow, its address, 0 minutes away",
		prev: BrokerCounts{ConnectionAttempts: 1, MessagesSent: 10, BytesSent: 1000},
		cur: BrokerCounts{ConnectionAttempts: 1, MessagesSent: 15, BytesSent: 1500, MessagesReceived: 5, LargestMessage: 180, SmallestMessage: 20,
			Connections: []BrokerConnection{{Addr: a, Start: start.Add(-time.Hour)}}},
		wanted: all,
		want: "aws:disconnect-duration=0 aws:message-byte-size/largest=180 aws:message-byte-size/smallest=20 aws:message-byte-size=500 " +
			"aws:num-authorization-failures=0 aws:num-connection-attempts=0 " +
			"aws:num-disconnects=0 aws:num-messages-received=5 aws:num-messages-sent=5 aws:source-ip-address=[10.0.0.7]",
	}, {
		name: "reconnected from another address: both addresses",
		prev: BrokerCounts{ConnectionAttempts: 1},
		cur: BrokerCounts{ConnectionAttempts: 3, Disconnects: 1, AuthorizationFailures: 1, Connections: []BrokerConnection{
			{Addr: a, Start: start.Add(-time.Hour), End: start.Add(time.Minute)}, {Addr: b, Start: start.Add(2 * time.Minute)}}},
		wanted: map[string]bool{detector.MetricConnectionAttempts: true, detector.MetricDisconnects: true, detector.MetricSourceIP: true},
		want:   "aws:num-connection-attempts=2 aws:num-disconnects=1 aws:source-ip-address=[10.0.0.7 192.0.2.1]",
	}, {
		name: "gone before the window: only the minutes away",
		prev: BrokerCounts{ConnectionAttempts: 1, Disconnects: 1},
		cur: BrokerCounts{ConnectionAttempts: 1, Disconnects: 1, Connections: []BrokerConnection{
			{Addr: a, Start: start.Add(-time.Hour), End: start.Add(-7*time.Minute - 30*time.Second)}}},
		wanted: all,
		want:   "aws:disconnect-duration=12",
	}, {
		name: "gone longer than the silence timeout: nothing",
		cur: BrokerCounts{Connections: []BrokerConnection{
			{Addr: a, Start: start.Add(-72 * time.Hour), End: start.Add(-49 * time.Hour)}}},
		wanted: all,
		want:   "",
	}, {
		name: "refused all along: failures and attempts count, no address",
		prev: BrokerCounts{ConnectionAttempts: 4, AuthorizationFailures: 4},
		cur:  BrokerCounts{ConnectionAttempts: 9, AuthorizationFailures: 9},
		wanted: map[string]bool{detector.MetricConnectionAttempts: true, detector.MetricAuthorizationFailures: true,
			detector.MetricSourceIP: true, detector.MetricDisconnectDuration: true},
		want: "aws:num-authorization-failures=5 aws:num-connection-attempts=5",
	}, {
		name: "dimension IN and NOT_IN, and a new generation starting from zero",
		prev: BrokerCounts{MessagesSent: 100, AuthorizationFailures: 1, Dimensions: []DimensionCounts{{Name: "cmd", Generation: 1, MessagesSent: 90}}},
		cur: BrokerCounts{MessagesSent: 130, AuthorizationFailures: 4, Connections: []BrokerConnection{{Start: start.Add(-time.Hour)}},
			Dimensions: []DimensionCounts{{Name: "cmd", Generation: 2, MessagesSent: 20, AuthorizationFailures: 1}}},
		wanted: all,
		want: "aws:disconnect-duration=0 aws:message-byte-size/largest=0 aws:message-byte-size/smallest=0 aws:message-byte-size=0 " +
			"aws:num-authorization-failures/NOT_IN/cmd=2 aws:num-authorization-failures=3 " +
			"aws:num-connection-attempts=0 aws:num-disconnects=0 aws:num-messages-received=0 " +
			"aws:num-messages-sent/IN/cmd=20 aws:num-messages-sent/NOT_IN/cmd=10 aws:num-messages-sent=30",
	}, {
		name:   "counts that went down started again",
		prev:   BrokerCounts{MessagesSent: 100},
		cur:    BrokerCounts{MessagesSent: 7},
		wanted: map[string]bool{detector.MetricMessagesSent: true},
		want:   "aws:num-messages-sent=7",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{}
			got := describe(s.windowDatapoints(&tc.cur, &tc.prev, start, end, tc.wanted))
			if got != tc.want {
				t.Errorf("datapoints\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}

// describe writes datapoints as "metric=value", sorted.
func describe(dps []detector.Datapoint) string {
	var parts []string
	for _, dp := range dps {
		switch dp.Value.Kind {
		case detector.KindIPs:
			parts = append(parts, fmt.Sprintf("%s=%v", dp.Metric, dp.Value.IPs))
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", dp.Metric, dp.Value.Number))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// fakeBroker is a BrokerSource of made-up devices, all connected, each
// with some messages and one failure more each window.
type fakeBroker struct {
	things []BrokerCounts
}

func (f *fakeBroker) EachThing(fn func(BrokerCounts)) {
	for _, c := range f.things {
		fn(c)
	}
}

func (f *fakeBroker) EachWindow(fn func(BrokerCounts)) {
	for i := range f.things {
		c := &f.things[i]
		c.MessagesSent += 3
		c.AuthorizationFailures++
		fn(*c)
	}
}

func (f *fakeBroker) CountDimensions([]registry.Dimension) error { return nil }

// BenchmarkBrokerWindow measures the end of a 5-minute window for a fleet
// whose profile has two broker-side behaviors: reading every device's
// counts, making and evaluating its datapoints, and recording them. It
// runs with the engine locked, spread over ticks for large fleets. One op
// is one device.
func BenchmarkBrokerWindow(b *testing.B) {
	const devices = 10000
	db, err := store.Open("", store.Options{InMemory: true, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	reg, err := registry.Load(db)
	if err != nil {
		b.Fatal(err)
	}
	src := &fakeBroker{}
	start := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	for i := range devices {
		src.things = append(src.things, BrokerCounts{Thing: fmt.Sprintf("door-%05d", i),
			Connections: []BrokerConnection{{Addr: netip.MustParseAddr("10.0.0.1"), Start: start.Add(-time.Hour)}}})
	}
	s, err := New(Options{DB: db, Registry: reg, Publisher: nopPublisher{}, Logger: zerolog.Nop(), Broker: src, Now: func() time.Time { return start }})
	if err != nil {
		b.Fatal(err)
	}
	limit := uint64(10)
	p := registry.Profile{Name: "p", Behaviors: []proto.Behavior{
		{Name: "failures", Metric: detector.MetricAuthorizationFailures, Criteria: &proto.BehaviorCriteria{ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: &limit}}},
		{Name: "sent", Metric: detector.MetricMessagesSent, Criteria: &proto.BehaviorCriteria{ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: &limit}}},
	}}
	if _, err := s.CreateProfile(p); err != nil {
		b.Fatal(err)
	}
	if err := s.Attach("p", registry.AllThings); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += devices {
		batch := db.NewBatch()
		s.mu.Lock()
		s.brokerWin.todo = s.closeBrokerWindow(start.Add(time.Duration(i/devices) * BrokerWindow))
		s.evaluateBroker(batch, devices)
		s.mu.Unlock()
		batch.Discard()
	}
}

type nopPublisher struct{}

func (nopPublisher) Publish(string, []byte, bool, byte) error { return nil }
