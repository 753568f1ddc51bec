package detector

import (
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// TestDimensionedBehaviorReadsItsSeries checks that a behavior with a
// dimension evaluates the datapoints of its series only: the metric's own
// datapoints, and those of the other operator, leave it alone.
func TestDimensionedBehaviorReadsItsSeries(t *testing.T) {
	e := New(Options{})
	b := behaviors(t, `[{"name":"b","metric":"aws:num-messages-sent","metricDimension":{"dimensionName":"cmd","operator":"NOT_IN"},
		"criteria":{"comparisonOperator":"less-than-equals","value":{"count":10}}}]`)
	if _, err := e.SetProfile(time.Time{}, Profile{Name: "p", Behaviors: b}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	count := func(metric string, n float64) Datapoint {
		return Datapoint{Metric: metric, Value: Value{Kind: KindCount, Number: n}}
	}
	series := SeriesName(MetricMessagesSent, &proto.MetricDimension{DimensionName: "cmd", Operator: "NOT_IN"})
	if series != "aws:num-messages-sent/NOT_IN/cmd" {
		t.Fatalf("series name %q", series)
	}
	quiet := []Datapoint{count(MetricMessagesSent, 50), count("aws:num-messages-sent/IN/cmd", 50), count(series, 3)}
	if ev := e.Observe(now, "t1", []string{"p"}, quiet); len(ev) != 0 {
		t.Fatalf("events %v from datapoints of other series", ev)
	}
	ev := e.Observe(now.Add(time.Minute), "t1", []string{"p"}, []Datapoint{count(series, 11)})
	if len(ev) != 1 || ev[0].Type != proto.InAlarm || ev[0].Value.Number != 11 {
		t.Fatalf("events %v, want one in-alarm at 11", ev)
	}
}

func TestBehaviorSeries(t *testing.T) {
	for _, tc := range []struct {
		behavior, want string
	}{
		{`{"name":"b","metric":"aws:message-byte-size","criteria":{"comparisonOperator":"less-than","value":{"count":1024}}}`, SeriesLargestMessage},
		{`{"name":"b","metric":"aws:message-byte-size","criteria":{"comparisonOperator":"greater-than-equals","value":{"count":8}}}`, SeriesSmallestMessage},
		{`{"name":"b","metric":"aws:message-byte-size","criteria":{"comparisonOperator":"less-than","value":{"count":1024},"durationSeconds":300}}`, MetricMessageByteSize},
		{`{"name":"b","metric":"aws:message-byte-size","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p90"}}}`, MetricMessageByteSize},
		{`{"name":"b","metric":"aws:message-byte-size","metricDimension":{"dimensionName":"d"},"criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":300}}`, "aws:message-byte-size/IN/d"},
		{`{"name":"b","metric":"aws:num-messages-sent","criteria":{"comparisonOperator":"less-than","value":{"count":1}}}`, MetricMessagesSent},
	} {
		if got := BehaviorSeries(behaviors(t, "["+tc.behavior+"]")[0]); got != tc.want {
			t.Errorf("%s: series %q, want %q", tc.behavior, got, tc.want)
		}
	}
}
