package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

// TestStatisticalThresholdThroughTheService runs a statistical behavior
// end to end in report time: twelve scanners report one window, one of them
// sends five times its peers, and the event recorded when the window closes
// names the threshold and the population it came from.
func TestStatisticalThresholdThroughTheService(t *testing.T) {
	a, err := Start(Options{MQTTAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), AllowAnonymous: true,
		ReportTime: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	factor := 2.0
	one := 1
	p := registry.Profile{Name: "fleet-relative", Behaviors: []proto.Behavior{{
		Name: "bytes-out-vs-peers", Metric: "aws:all-bytes-out",
		Criteria: &proto.BehaviorCriteria{ComparisonOperator: "less-than-equals", ConsecutiveDatapointsToAlarm: &one,
			StatisticalThreshold: &proto.StatisticalThreshold{Statistic: "p90", Factor: &factor}},
	}}}
	if _, err := a.Service().CreateProfile(p); err != nil {
		t.Fatal(err)
	}
	if err := a.Service().Attach(p.Name, registry.AllThings); err != nil {
		t.Fatal(err)
	}
	window := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	send := func(thing int, at time.Time, bytesOut uint64) {
		r := sampleReport(at.UnixMilli())
		r.Metrics.NetworkStats.BytesOut = proto.Count(bytesOut)
		data, err := proto.Encode(r, proto.JSON, proto.LongKeys)
		if err != nil {
			t.Fatal(err)
		}
		a.Service().HandleReport(fmt.Sprintf("$aws/things/scanner-%02d/defender/metrics/json", thing), data, "")
	}
	for i := range 12 {
		v := uint64(10000 + 100*i)
		if i == 7 {
			v = 50000
		}
		send(i, window.Add(time.Minute), v)
	}
	// A report past the window's end plus its grace moves the report clock on.
	send(0, window.Add(6*time.Minute), 10000)
	var events []service.EventRecord
	deadline := time.Now().Add(10 * time.Second)
	for len(events) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		events, _, err = a.Service().ViolationEvents(window, window.Add(time.Hour), service.ViolationFilter{}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(events) != 1 {
		t.Fatalf("got %d events, want the one in-alarm of scanner-07: %+v", len(events), events)
	}
	ev := events[0]
	if ev.ThingName != "scanner-07" || ev.ViolationEventType != proto.InAlarm {
		t.Fatalf("event %+v, want in-alarm of scanner-07", ev.ViolationEvent)
	}
	th := ev.StatisticalThreshold
	if th == nil || th.Statistic != "p90" || th.Population != 12 || th.Value != 2*11100 {
		t.Fatalf("threshold %+v, want p90 x 2 = 22200 over 12 devices", th)
	}
}
