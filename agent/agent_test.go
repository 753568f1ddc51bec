package agent_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/agent"
	"github.com/vigil-iot/vigil/agent/collect"
	"github.com/vigil-iot/vigil/proto"
)

// at returns a clock that reads the given epoch milliseconds, one per call,
// and stays on the last one.
func at(ms ...int64) func() time.Time {
	i := 0
	return func() time.Time {
		t := time.UnixMilli(ms[min(i, len(ms)-1)])
		i++
		return t
	}
}

func newAgent(t *testing.T, opts agent.Options) *agent.Agent {
	t.Helper()
	if opts.Thing == "" {
		opts.Thing = "t1"
	}
	if opts.Collector == nil {
		opts.Collector = &fakeCollector{}
	}
	a, err := agent.New(opts)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return a
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		opts      agent.Options
		wantTopic string
		wantErr   string
	}{
		{name: "defaults", opts: agent.Options{Thing: "t1"}, wantTopic: "$vigil/things/t1/defender/metrics/json"},
		{name: "AWS root and CBOR", opts: agent.Options{Thing: "t1", TopicRoot: proto.RootAWS, Format: proto.CBOR},
			wantTopic: "$aws/things/t1/defender/metrics/cbor"},
		{name: "MessagePack", opts: agent.Options{Thing: "pump-7", Format: proto.MsgPack},
			wantTopic: "$vigil/things/pump-7/defender/metrics/msgpack"},
		{name: "no thing", opts: agent.Options{}, wantErr: "thingName"},
		{name: "thing with a wildcard", opts: agent.Options{Thing: "a+b"}, wantErr: "thingName"},
		{name: "thing too long", opts: agent.Options{Thing: strings.Repeat("x", 129)}, wantErr: "thingName"},
		{name: "unknown root", opts: agent.Options{Thing: "t1", TopicRoot: "$sys"}, wantErr: `topic root "$sys"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Collector = &fakeCollector{}
			a, err := agent.New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New: error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := a.Topic(); got != tt.wantTopic {
				t.Errorf("Topic() = %q, want %q", got, tt.wantTopic)
			}
		})
	}
}

func TestReportIDsStrictlyIncrease(t *testing.T) {
	tests := []struct {
		name  string
		clock []int64
		want  []int64
	}{
		{"clock moves forward", []int64{1000, 2000, 3000}, []int64{1000, 2000, 3000}},
		// Several reports in one millisecond (a fast retry loop, a coarse
		// clock) must still get distinct ids.
		{"clock stands still", []int64{1000, 1000, 1000}, []int64{1000, 1001, 1002}},
		// An NTP step backwards must not make the server reject the
		// agent's reports as replays until the clock catches up.
		{"clock steps back", []int64{5000, 4000, 3000, 5001, 6000}, []int64{5000, 5001, 5002, 5003, 6000}},
		{"clock steps back by less than the lead", []int64{5000, 5000, 4999, 5003}, []int64{5000, 5001, 5002, 5003}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAgent(t, agent.Options{Now: at(tt.clock...)})
			for i, want := range tt.want {
				r, err := a.NextReport(context.Background())
				if err != nil {
					t.Fatalf("report %d: %v", i, err)
				}
				if r.Header.ReportID != want {
					t.Errorf("report %d: id %d, want %d", i, r.Header.ReportID, want)
				}
				if err := r.Validate(); err != nil {
					t.Errorf("report %d does not validate: %v", i, err)
				}
			}
		})
	}
}

func TestFirstReportHasNoNetworkStats(t *testing.T) {
	c := &fakeCollector{deltas: []collect.NetworkDeltas{{}, {BytesIn: 10, BytesOut: 20, PacketsIn: 1, PacketsOut: 2}, {}}}
	a := newAgent(t, agent.Options{Collector: c})
	want := []*proto.NetworkStats{nil, stats(10, 20, 1, 2), stats(0, 0, 0, 0)}
	for i, w := range want {
		r, err := a.NextReport(context.Background())
		if err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		if got := r.Metrics.NetworkStats; !equalStats(got, w) {
			t.Errorf("report %d: network_stats %s, want %s", i, formatStats(got), formatStats(w))
		}
		if err := r.Validate(); err != nil {
			t.Errorf("report %d does not validate: %v", i, err)
		}
	}
}

// step is one report of a carry-over scenario: the traffic the collector
// measures, how the publish goes, and what the report that went out holds.
type step struct {
	traffic      uint64 // bytes in; the other counters follow from it
	collectFails bool
	disconnected bool
	publishErr   error
	wantErr      error   // nil: ReportOnce succeeds
	wantBytesIn  *uint64 // bytes_in of the recorded payload; nil: no network_stats
}

func TestTrafficOfUndeliveredReportsIsCarried(t *testing.T) {
	errLost := errors.New("connection lost before Publish completed")
	tests := []struct {
		name  string
		steps []step
	}{
		{"delivered reports carry nothing", []step{
			{traffic: 0}, {traffic: 5, wantBytesIn: proto.Count(5)}, {traffic: 7, wantBytesIn: proto.Count(7)},
		}},
		{"not connected", []step{
			{traffic: 0},
			{traffic: 5, disconnected: true, wantErr: agent.ErrNotConnected},
			{traffic: 7, wantBytesIn: proto.Count(12)},
		}},
		{"publish fails", []step{
			{traffic: 0},
			{traffic: 5, publishErr: errLost, wantErr: errLost, wantBytesIn: proto.Count(5)},
			{traffic: 7, wantBytesIn: proto.Count(12)},
		}},
		// The broker may have the report already; carrying its traffic
		// would count it twice.
		{"unconfirmed publish is not carried", []step{
			{traffic: 0},
			{traffic: 5, publishErr: agent.ErrPublishUnconfirmed, wantErr: agent.ErrPublishUnconfirmed, wantBytesIn: proto.Count(5)},
			{traffic: 7, wantBytesIn: proto.Count(7)},
		}},
		{"an outage of several reports", []step{
			{traffic: 0},
			{traffic: 5, disconnected: true, wantErr: agent.ErrNotConnected},
			{traffic: 6, publishErr: errLost, wantErr: errLost, wantBytesIn: proto.Count(11)},
			{traffic: 7, disconnected: true, wantErr: agent.ErrNotConnected},
			{traffic: 8, wantBytesIn: proto.Count(26)},
			{traffic: 1, wantBytesIn: proto.Count(1)},
		}},
		// The first report has no traffic, so losing it loses nothing.
		{"undelivered first report", []step{
			{traffic: 0, disconnected: true, wantErr: agent.ErrNotConnected},
			{traffic: 7, wantBytesIn: proto.Count(7)},
		}},
		// A report that could not even be built keeps what was carried.
		{"collect failure keeps the carried traffic", []step{
			{traffic: 0},
			{traffic: 5, disconnected: true, wantErr: agent.ErrNotConnected},
			{collectFails: true, wantErr: errCollect},
			{traffic: 7, wantBytesIn: proto.Count(12)},
		}},
		// Sums saturate instead of wrapping to a small number.
		{"carried traffic saturates", []step{
			{traffic: 0},
			{traffic: math.MaxUint64 - 1, disconnected: true, wantErr: agent.ErrNotConnected},
			{traffic: 7, wantBytesIn: proto.Count(math.MaxUint64)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeCollector{}
			for _, s := range tt.steps {
				c.deltas = append(c.deltas, collect.NetworkDeltas{BytesIn: s.traffic, BytesOut: s.traffic / 2, PacketsIn: 3, PacketsOut: 1})
				c.fail = append(c.fail, s.collectFails)
			}
			pub := newPublisher()
			a := newAgent(t, agent.Options{Collector: c})
			for i, s := range tt.steps {
				pub.set(!s.disconnected, s.publishErr)
				before, _, _ := pub.last(proto.JSON)
				err := a.ReportOnce(context.Background(), pub)
				if !errors.Is(err, s.wantErr) || (err == nil) != (s.wantErr == nil) {
					t.Fatalf("step %d: ReportOnce error %v, want %v", i, err, s.wantErr)
				}
				n, r, derr := pub.last(proto.JSON)
				if derr != nil {
					t.Fatalf("step %d: published payload does not decode: %v", i, derr)
				}
				if n == before {
					if s.wantBytesIn != nil {
						t.Fatalf("step %d: nothing published, want bytes_in %d", i, *s.wantBytesIn)
					}
					continue
				}
				checkBytesIn(t, i, r, s.wantBytesIn)
			}
		})
	}
}

func checkBytesIn(t *testing.T, i int, r *proto.Report, want *uint64) {
	t.Helper()
	ns := r.Metrics.NetworkStats
	switch {
	case want == nil && ns != nil:
		t.Errorf("step %d: network_stats %s, want none", i, formatStats(ns))
	case want != nil && (ns == nil || ns.BytesIn == nil):
		t.Errorf("step %d: no network_stats, want bytes_in %d", i, *want)
	case want != nil && *ns.BytesIn != *want:
		t.Errorf("step %d: bytes_in %d, want %d", i, *ns.BytesIn, *want)
	}
}

func TestReportOnceWritesTheFormat(t *testing.T) {
	sample := collect.Sample{
		ListeningTCP: []collect.Listener{{Port: 22}, {Port: 8883, Interface: "eth0"}},
		ListeningUDP: []collect.Listener{{Port: 123, Interface: "eth0"}},
	}
	for _, format := range proto.Formats {
		for _, keys := range []proto.KeyStyle{proto.LongKeys, proto.ShortKeys} {
			t.Run(format.String()+"/"+keys.String(), func(t *testing.T) {
				pub := newPublisher()
				a := newAgent(t, agent.Options{Format: format, Keys: keys, Collector: &fakeCollector{sample: sample}, Now: at(42)})
				if err := a.ReportOnce(context.Background(), pub); err != nil {
					t.Fatalf("ReportOnce: %v", err)
				}
				if pub.topics[0] != a.Topic() {
					t.Errorf("published to %q, want %q", pub.topics[0], a.Topic())
				}
				_, r, err := pub.last(format)
				if err != nil {
					t.Fatalf("payload does not decode as %v: %v", format, err)
				}
				if r.Header.ReportID != 42 || len(r.Metrics.ListeningTCPPorts.Ports) != 2 {
					t.Errorf("decoded report %s, want id 42 and two TCP ports", encodeJSON(t, r))
				}
				short := !strings.Contains(string(pub.payloads[0]), "report_id")
				if short != (keys == proto.ShortKeys) {
					t.Errorf("payload with %v keys holds short keys = %v", keys, short)
				}
			})
		}
	}
}

func TestCustomMetricsInReports(t *testing.T) {
	cpu := []proto.CustomMetric{{Name: "cpu", Value: proto.CustomValue{Type: proto.CustomNumber, Number: 3}}}
	mem := proto.CustomMetric{Name: "mem", Value: proto.CustomValue{Type: proto.CustomNumber, Number: 4}}
	tests := []struct {
		name    string
		source  agent.CustomSource
		want    []proto.CustomMetric
		wantLog string
	}{
		{name: "no source"},
		{name: "values", source: customFunc(func(context.Context) ([]proto.CustomMetric, error) { return cpu, nil }), want: cpu},
		// A broken source costs only the custom metrics; the report still
		// carries the network metrics and goes out.
		{name: "failing source", source: customFunc(func(context.Context) ([]proto.CustomMetric, error) {
			return nil, errors.New("sensor offline")
		}), wantLog: "sensor offline"},
		// A source of the caller's may break the order or repeat a name.
		{name: "out of order", source: customFunc(func(context.Context) ([]proto.CustomMetric, error) {
			return []proto.CustomMetric{mem, cpu[0]}, nil
		}), want: []proto.CustomMetric{cpu[0], mem}},
		{name: "name twice", source: customFunc(func(context.Context) ([]proto.CustomMetric, error) {
			return []proto.CustomMetric{mem, cpu[0], mem}, nil
		}), wantLog: `custom metric \"mem\" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			pub := newPublisher()
			a := newAgent(t, agent.Options{Custom: tt.source, Logger: zerolog.New(&logs)})
			if err := a.ReportOnce(context.Background(), pub); err != nil {
				t.Fatalf("ReportOnce: %v", err)
			}
			_, r, err := pub.last(proto.JSON)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(r.CustomMetrics, tt.want) {
				t.Errorf("custom metrics %v, want %v", r.CustomMetrics, tt.want)
			}
			if r.Metrics == nil || r.Metrics.ListeningTCPPorts == nil {
				t.Errorf("report lost its metrics: %s", encodeJSON(t, r))
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log %q does not mention %q", logs.String(), tt.wantLog)
			}
		})
	}
}

func TestRunReportsUntilCancelled(t *testing.T) {
	var logs syncBuffer
	pub := newPublisher()
	pub.published = make(chan struct{})
	pub.set(false, nil) // the first report finds no connection
	a := newAgent(t, agent.Options{Interval: 5 * time.Millisecond, Logger: zerolog.New(&logs)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, pub) }()

	waitUntil(t, "a report found no connection", func() bool { return strings.Contains(logs.String(), "not connected") })
	pub.set(true, nil)
	for range 3 {
		select {
		case <-pub.published:
		case <-time.After(5 * time.Second):
			t.Fatal("Run stopped publishing")
		}
	}
	cancel()
	go func() { // let a publish that raced with cancel finish
		for range pub.published {
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	close(pub.published)
	reports, err := pub.all(proto.JSON)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Header.ReportID <= reports[i-1].Header.ReportID {
			t.Errorf("report %d has id %d after %d", i, reports[i].Header.ReportID, reports[i-1].Header.ReportID)
		}
	}
}

// waitUntil polls cond until it holds, and fails the test when it does not
// within ten seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !waitFor(cond, 10*time.Second) {
		t.Fatalf("timed out waiting until %s", what)
	}
}

// waitFor polls cond for up to limit and reports whether it came to hold.
func waitFor(cond func() bool, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func equalStats(a, b *proto.NetworkStats) bool {
	if a == nil || b == nil {
		return a == b
	}
	return formatStats(a) == formatStats(b)
}

func formatStats(s *proto.NetworkStats) string {
	if s == nil {
		return "none"
	}
	v := func(p *uint64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{in %sB/%sp, out %sB/%sp}", v(s.BytesIn), v(s.PacketsIn), v(s.BytesOut), v(s.PacketsOut))
}
