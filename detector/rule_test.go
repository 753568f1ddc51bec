package detector

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// testLookup knows the aws: metrics and one custom metric of each type.
func testLookup(name string) (MetricInfo, bool) {
	types := map[string]proto.CustomMetricType{"battery": proto.CustomNumber, "codes": proto.CustomNumberList,
		"users": proto.CustomStringList, "peers": proto.CustomIPList}
	if t, ok := types[name]; ok {
		return CustomMetric(name, t), true
	}
	return DeviceMetric(name)
}

// behaviors decodes a JSON list of behaviors, refusing unknown fields so
// that a typo in a test cannot pass for a problem.
func behaviors(t *testing.T, text string) []proto.Behavior {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	var out []proto.Behavior
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("behaviors %s: %v", text, err)
	}
	return out
}

// A behavior that is valid, for the cases that spoil one part of it.
const okCriteria = `"criteria":{"comparisonOperator":"less-than-equals","value":{"count":4096}}`

func TestValidateBehaviors(t *testing.T) {
	cases := []struct {
		name      string
		behaviors string
		want      []string // the fields at fault, in order
	}{
		{"every operator on the kinds it fits", `[
			{"name":"lt","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":0}}},
			{"name":"lte","metric":"aws:num-listening-tcp-ports","criteria":{"comparisonOperator":"less-than-equals","value":{"count":5}}},
			{"name":"gt","metric":"aws:num-established-tcp-connections","criteria":{"comparisonOperator":"greater-than","value":{"count":1}}},
			{"name":"gte","metric":"aws:num-messages-sent","criteria":{"comparisonOperator":"greater-than-equals","value":{"count":1},"durationSeconds":300}},
			{"name":"battery-low","metric":"battery","criteria":{"comparisonOperator":"greater-than","value":{"number":-12.5}}},
			{"name":"battery-high","metric":"battery","criteria":{"comparisonOperator":"less-than","value":{"number":99.5},"durationSeconds":600}},
			{"name":"tcp","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[0,22,65535]}}},
			{"name":"udp","metric":"aws:listening-udp-ports","criteria":{"comparisonOperator":"not-in-port-set","value":{"ports":[]}}},
			{"name":"dest","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["10.0.0.0/8","192.0.2.7","2001:db8::/32","::1"]}}},
			{"name":"source","metric":"aws:source-ip-address","criteria":{"comparisonOperator":"not-in-cidr-set","value":{"cidrs":["203.0.113.0/24"]}}},
			{"name":"peers","metric":"peers","criteria":{"comparisonOperator":"not-in-cidr-set","value":{"cidrs":["fd00::/8"]}}},
			{"name":"codes","metric":"codes","criteria":{"comparisonOperator":"in-set","value":{"numbers":[1,2.5]}}},
			{"name":"users","metric":"users","criteria":{"comparisonOperator":"not-in-set","value":{"strings":["root"]}}},
			{"name":"shortest_window","metric":"aws:all-bytes-in","criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":60,"consecutiveDatapointsToAlarm":1,"consecutiveDatapointsToClear":10}},
			{"name":"longest:window","metric":"aws:all-packets-in","criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":86400,"consecutiveDatapointsToAlarm":10,"consecutiveDatapointsToClear":1}},
			{"name":"quiet","metric":"aws:all-packets-out",` + okCriteria + `,"suppressAlerts":true,"exportMetric":true}
		]`, nil},

		// names
		{"name with a blank", `[{"name":"bytes out","metric":"aws:all-bytes-out",` + okCriteria + `}]`,
			[]string{"behaviors[0](bytes out).name"}},
		{"no name", `[{"metric":"aws:all-bytes-out",` + okCriteria + `}]`,
			[]string{"behaviors[0].name"}},
		{"name of 129 characters", fmt.Sprintf(`[{"name":%q,"metric":"aws:all-bytes-out",%s}]`, strings.Repeat("a", 129), okCriteria),
			[]string{fmt.Sprintf("behaviors[0](%s).name", strings.Repeat("a", 129))}},
		{"duplicate name", `[{"name":"out","metric":"aws:all-bytes-out",` + okCriteria + `},{"name":"out","metric":"aws:all-bytes-in",` + okCriteria + `}]`,
			[]string{"behaviors[1](out).name"}},

		// metrics
		{"unknown metric", `[{"name":"b","metric":"aws:cpu",` + okCriteria + `}]`, []string{"behaviors[0](b).metric"}},
		{"undefined custom metric", `[{"name":"b","metric":"temperature","criteria":{"comparisonOperator":"less-than","value":{"number":1}}}]`,
			[]string{"behaviors[0](b).metric"}},
		{"no metric", `[{"name":"b",` + okCriteria + `}]`, []string{"behaviors[0](b).metric"}},
		{"dimensions", `[
			{"name":"in","metric":"aws:num-messages-sent","metricDimension":{"dimensionName":"topics"},"criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":300}},
			{"name":"not-in","metric":"aws:num-authorization-failures","metricDimension":{"dimensionName":"topics","operator":"NOT_IN"},"criteria":{"comparisonOperator":"less-than","value":{"count":1}}},
			{"name":"device-metric","metric":"aws:all-bytes-out","metricDimension":{"dimensionName":"topics"},"criteria":{"comparisonOperator":"less-than","value":{"count":1}}},
			{"name":"source-ip","metric":"aws:source-ip-address","metricDimension":{"dimensionName":"topics"},"criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["10.0.0.0/8"]}}},
			{"name":"operator","metric":"aws:num-messages-received","metricDimension":{"dimensionName":"topics","operator":"OUT"},"criteria":{"comparisonOperator":"less-than","value":{"count":1}}},
			{"name":"no-name","metric":"aws:message-byte-size","metricDimension":{"dimensionName":""},"criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":300}},
			{"name":"size-per-message","metric":"aws:message-byte-size","metricDimension":{"dimensionName":"topics"},"criteria":{"comparisonOperator":"less-than","value":{"count":1}}}
		]`, []string{"behaviors[2](device-metric).metricDimension", "behaviors[3](source-ip).metricDimension",
			"behaviors[4](operator).metricDimension.operator", "behaviors[5](no-name).metricDimension.dimensionName",
			"behaviors[6](size-per-message).criteria.durationSeconds"}},
		{"broker-side metrics with the values of their types", `[
			{"name":"failures","metric":"aws:num-authorization-failures","criteria":{"comparisonOperator":"less-than-equals","value":{"count":5},"durationSeconds":300}},
			{"name":"attempts","metric":"aws:num-connection-attempts","criteria":{"comparisonOperator":"less-than-equals","value":{"count":5},"durationSeconds":600}},
			{"name":"disconnects","metric":"aws:num-disconnects","criteria":{"comparisonOperator":"less-than-equals","value":{"count":10}}},
			{"name":"away","metric":"aws:disconnect-duration","criteria":{"comparisonOperator":"less-than-equals","value":{"count":5}}},
			{"name":"sent","metric":"aws:num-messages-sent","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p90"}}},
			{"name":"received","metric":"aws:num-messages-received","criteria":{"comparisonOperator":"less-than","value":{"count":100}}},
			{"name":"size","metric":"aws:message-byte-size","criteria":{"comparisonOperator":"less-than","value":{"count":4096}}},
			{"name":"from","metric":"aws:source-ip-address","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["10.0.0.0/8"]}}},
			{"name":"silence","metric":"vigil:report-silence","criteria":{"comparisonOperator":"less-than","value":{"count":900},"consecutiveDatapointsToAlarm":2}}
		]`, nil},
		{"broker-side metrics with values of the wrong type", `[
			{"name":"failures","metric":"aws:num-authorization-failures","criteria":{"comparisonOperator":"less-than-equals","value":{"number":5}}},
			{"name":"disconnects","metric":"aws:num-disconnects","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["10.0.0.0/8"]}}},
			{"name":"from","metric":"aws:source-ip-address","criteria":{"comparisonOperator":"in-cidr-set","value":{"count":1}}},
			{"name":"from-stat","metric":"aws:source-ip-address","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p90"}}},
			{"name":"silence","metric":"vigil:report-silence","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[1]}}}
		]`, []string{"behaviors[0](failures).criteria.value", "behaviors[1](disconnects).criteria.comparisonOperator",
			"behaviors[1](disconnects).criteria.value", "behaviors[2](from).criteria.value",
			"behaviors[3](from-stat).criteria.statisticalThreshold", "behaviors[4](silence).criteria.comparisonOperator",
			"behaviors[4](silence).criteria.value"}},

		// criteria
		{"no criteria", `[{"name":"b","metric":"aws:all-bytes-out"}]`, []string{"behaviors[0](b).criteria"}},
		{"machine learning", `[{"name":"b","metric":"aws:all-bytes-out","criteria":{"mlDetectionConfig":{"confidenceLevel":"HIGH"}}}]`,
			[]string{"behaviors[0](b).criteria.mlDetectionConfig"}},

		// statistical thresholds
		{"statistical thresholds on numeric metrics", `[
			{"name":"out","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p90"}}},
			{"name":"in","metric":"aws:all-bytes-in","criteria":{"comparisonOperator":"greater-than","statisticalThreshold":{"statistic":"p0.01","factor":2.5},"durationSeconds":3600,"consecutiveDatapointsToAlarm":3}},
			{"name":"conns","metric":"aws:num-established-tcp-connections","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p99.99"},"durationSeconds":600}},
			{"name":"battery","metric":"battery","criteria":{"comparisonOperator":"greater-than-equals","statisticalThreshold":{"statistic":"p10","factor":0.5}}},
			{"name":"below-max","metric":"aws:all-packets-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p100","factor":0.8}}},
			{"name":"above-min","metric":"aws:all-packets-in","criteria":{"comparisonOperator":"greater-than-equals","statisticalThreshold":{"statistic":"p0","factor":0.99}}},
			{"name":"upside-down","metric":"aws:all-packets-in","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p0"}}},
			{"name":"upside-up","metric":"aws:all-packets-out","criteria":{"comparisonOperator":"greater-than","statisticalThreshold":{"statistic":"p100"}}}
		]`, nil},
		{"statistical threshold with a value", `[{"name":"b","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"statisticalThreshold":{"statistic":"p90"}}}]`,
			[]string{"behaviors[0](b).criteria.value"}},
		{"statistics AWS does not know", `[
			{"name":"p95","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p95"}}},
			{"name":"none","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{}}},
			{"name":"upper","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"P90"}}}
		]`, []string{"behaviors[0](p95).criteria.statisticalThreshold.statistic", "behaviors[1](none).criteria.statisticalThreshold.statistic",
			"behaviors[2](upper).criteria.statisticalThreshold.statistic"}},
		{"factors of 0 and below", `[
			{"name":"zero","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p90","factor":0}}},
			{"name":"negative","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p90","factor":-2}}}
		]`, []string{"behaviors[0](zero).criteria.statisticalThreshold.factor", "behaviors[1](negative).criteria.statisticalThreshold.factor"}},
		// A statistical threshold on a list-based metric is one mistake,
		// reported once, whatever the operator; a set operator on a numeric
		// metric is the operator's mistake.
		{"statistical thresholds on sets, and with set operators", `[
			{"name":"ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p90"}}},
			{"name":"ips","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-cidr-set","statisticalThreshold":{"statistic":"p90"}}},
			{"name":"codes","metric":"codes","criteria":{"comparisonOperator":"in-set","statisticalThreshold":{"statistic":"p50"}}},
			{"name":"count","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"in-port-set","statisticalThreshold":{"statistic":"p50"}}},
			{"name":"unknown","metric":"aws:cpu","criteria":{"comparisonOperator":"not-in-set","statisticalThreshold":{"statistic":"p50"}}}
		]`, []string{"behaviors[0](ports).criteria.statisticalThreshold", "behaviors[1](ips).criteria.statisticalThreshold",
			"behaviors[2](codes).criteria.statisticalThreshold", "behaviors[3](count).criteria.comparisonOperator",
			"behaviors[4](unknown).metric", "behaviors[4](unknown).criteria.comparisonOperator"}},
		// A device is part of its own population: it is never above the
		// population's p100 nor below its p0, so with a factor of 1 or more
		// these behaviors are never violated, or always by the fleet's
		// extreme device.
		{"statistics a device decides itself", `[
			{"name":"lt-max","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p100"}}},
			{"name":"lte-max","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p100","factor":1}}},
			{"name":"lte-twice-max","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p100","factor":2}}},
			{"name":"gt-min","metric":"battery","criteria":{"comparisonOperator":"greater-than","statisticalThreshold":{"statistic":"p0"}}},
			{"name":"gte-half-min","metric":"battery","criteria":{"comparisonOperator":"greater-than-equals","statisticalThreshold":{"statistic":"p0","factor":2}}}
		]`, []string{"behaviors[0](lt-max).criteria.statisticalThreshold.statistic", "behaviors[1](lte-max).criteria.statisticalThreshold.statistic",
			"behaviors[2](lte-twice-max).criteria.statisticalThreshold.statistic", "behaviors[3](gt-min).criteria.statisticalThreshold.statistic",
			"behaviors[4](gte-half-min).criteria.statisticalThreshold.statistic"}},
		{"no operator", `[{"name":"b","metric":"aws:all-bytes-out","criteria":{"value":{"count":1}}}]`,
			[]string{"behaviors[0](b).criteria.comparisonOperator"}},
		{"unknown operator", `[{"name":"b","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"equals","value":{"count":1}}}]`,
			[]string{"behaviors[0](b).criteria.comparisonOperator"}},
		{"operators that do not fit the metric's kind", `[
			{"name":"count","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"in-port-set","value":{"count":1}}},
			{"name":"number","metric":"battery","criteria":{"comparisonOperator":"in-set","value":{"number":1}}},
			{"name":"ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"less-than","value":{"ports":[22]}}},
			{"name":"udp","metric":"aws:listening-udp-ports","criteria":{"comparisonOperator":"in-cidr-set","value":{"ports":[53]}}},
			{"name":"ips","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-set","value":{"cidrs":["10.0.0.0/8"]}}},
			{"name":"peers","metric":"peers","criteria":{"comparisonOperator":"not-in-port-set","value":{"cidrs":["10.0.0.0/8"]}}},
			{"name":"codes","metric":"codes","criteria":{"comparisonOperator":"greater-than","value":{"numbers":[1]}}},
			{"name":"users","metric":"users","criteria":{"comparisonOperator":"in-cidr-set","value":{"strings":["root"]}}}
		]`, []string{"behaviors[0](count).criteria.comparisonOperator", "behaviors[1](number).criteria.comparisonOperator",
			"behaviors[2](ports).criteria.comparisonOperator", "behaviors[3](udp).criteria.comparisonOperator",
			"behaviors[4](ips).criteria.comparisonOperator", "behaviors[5](peers).criteria.comparisonOperator",
			"behaviors[6](codes).criteria.comparisonOperator", "behaviors[7](users).criteria.comparisonOperator"}},

		// values
		{"no value", `[{"name":"b","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than"}}]`,
			[]string{"behaviors[0](b).criteria.value"}},
		{"value fields that do not fit the metric", `[
			{"name":"count","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"number":1}}},
			{"name":"number","metric":"battery","criteria":{"comparisonOperator":"less-than","value":{"count":1}}},
			{"name":"ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"cidrs":["10.0.0.0/8"]}}},
			{"name":"ips","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-cidr-set","value":{"ports":[22]}}},
			{"name":"codes","metric":"codes","criteria":{"comparisonOperator":"in-set","value":{"strings":["1"]}}},
			{"name":"users","metric":"users","criteria":{"comparisonOperator":"in-set","value":{"numbers":[1]}}},
			{"name":"two","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1,"number":1}}},
			{"name":"none","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{}}}
		]`, []string{"behaviors[0](count).criteria.value", "behaviors[1](number).criteria.value", "behaviors[2](ports).criteria.value",
			"behaviors[3](ips).criteria.value", "behaviors[4](codes).criteria.value", "behaviors[5](users).criteria.value",
			"behaviors[6](two).criteria.value", "behaviors[7](none).criteria.value"}},
		{"ports out of range", `[{"name":"b","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[22,65536,-1,80]}}}]`,
			[]string{"behaviors[0](b).criteria.value.ports[1]", "behaviors[0](b).criteria.value.ports[2]"}},
		{"bad CIDRs", `[{"name":"b","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"not-in-cidr-set","value":{"cidrs":["10.0.0.0/8","10.0.0.0/33","printer.example","2001:db8::/129",""]}}}]`,
			[]string{"behaviors[0](b).criteria.value.cidrs[1]", "behaviors[0](b).criteria.value.cidrs[2]",
				"behaviors[0](b).criteria.value.cidrs[3]", "behaviors[0](b).criteria.value.cidrs[4]"}},

		// durationSeconds and datapoints
		{"durationSeconds on set metrics", `[
			{"name":"ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[22]},"durationSeconds":300}},
			{"name":"ips","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["10.0.0.0/8"]},"durationSeconds":300}},
			{"name":"users","metric":"users","criteria":{"comparisonOperator":"in-set","value":{"strings":["root"]},"durationSeconds":300}}
		]`, []string{"behaviors[0](ports).criteria.durationSeconds", "behaviors[1](ips).criteria.durationSeconds",
			"behaviors[2](users).criteria.durationSeconds"}},
		{"durationSeconds out of range", `[
			{"name":"short","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":59}},
			{"name":"long","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":86460}},
			{"name":"odd","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":301}},
			{"name":"zero","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":0}}
		]`, []string{"behaviors[0](short).criteria.durationSeconds", "behaviors[1](long).criteria.durationSeconds",
			"behaviors[2](odd).criteria.durationSeconds", "behaviors[3](zero).criteria.durationSeconds"}},
		{"datapoints 0 and 11", `[{"name":"b","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"consecutiveDatapointsToAlarm":0,"consecutiveDatapointsToClear":11}}]`,
			[]string{"behaviors[0](b).criteria.consecutiveDatapointsToAlarm", "behaviors[0](b).criteria.consecutiveDatapointsToClear"}},
		{"datapoints 11 and -1", `[{"name":"b","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"consecutiveDatapointsToAlarm":11,"consecutiveDatapointsToClear":-1}}]`,
			[]string{"behaviors[0](b).criteria.consecutiveDatapointsToAlarm", "behaviors[0](b).criteria.consecutiveDatapointsToClear"}},

		// Every problem of a profile is returned, several per behavior
		// included, and the behaviors without problems add none. A behavior
		// with an unknown metric still has its other criteria checked.
		{"all the problems of a profile at once", `[
			{"name":"ok","metric":"aws:all-bytes-out",` + okCriteria + `},
			{"name":"bad name","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"consecutiveDatapointsToAlarm":0,"consecutiveDatapointsToClear":11}},
			{"name":"cpu","metric":"aws:cpu","criteria":{"comparisonOperator":"less-than","value":{"count":1},"durationSeconds":30,"consecutiveDatapointsToAlarm":11}},
			{"name":"ok","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"less-than","value":{"ports":[70000]},"durationSeconds":300}},
			{"name":"nothing"},
			{"name":"dest","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["10.0.0.0/8","nope"]}}}
		]`, []string{
			"behaviors[1](bad name).name",
			"behaviors[1](bad name).criteria.consecutiveDatapointsToAlarm",
			"behaviors[1](bad name).criteria.consecutiveDatapointsToClear",
			"behaviors[2](cpu).metric",
			"behaviors[2](cpu).criteria.consecutiveDatapointsToAlarm",
			"behaviors[2](cpu).criteria.durationSeconds",
			"behaviors[3](ok).name",
			"behaviors[3](ok).criteria.comparisonOperator",
			"behaviors[3](ok).criteria.durationSeconds",
			"behaviors[3](ok).criteria.value.ports[0]",
			"behaviors[4](nothing).metric",
			"behaviors[4](nothing).criteria",
			"behaviors[5](dest).criteria.value.cidrs[1]",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkProblems(t, ValidateBehaviors(behaviors(t, tc.behaviors), testLookup), tc.want)
		})
	}
}

func checkProblems(t *testing.T, problems []Problem, want []string) {
	t.Helper()
	var got []string
	for _, p := range problems {
		got = append(got, p.Field)
		if p.Message == "" || p.Error() != p.Field+": "+p.Message {
			t.Errorf("problem %q: message %q, error %q", p.Field, p.Message, p.Error())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems at\n  %s\nwant\n  %s\nall: %v", strings.Join(got, "\n  "), strings.Join(want, "\n  "), problems)
	}
}

func TestValidateBehaviorsLimits(t *testing.T) {
	t.Run("more than 100 behaviors", func(t *testing.T) {
		var list []proto.Behavior
		for i := range MaxBehaviors + 1 {
			list = append(list, behaviors(t, fmt.Sprintf(`[{"name":"b%d","metric":"aws:all-bytes-out",%s}]`, i, okCriteria))...)
		}
		checkProblems(t, ValidateBehaviors(list, nil), []string{"behaviors"})
		checkProblems(t, ValidateBehaviors(list[:MaxBehaviors], nil), nil)
	})
	t.Run("a number that is not finite", func(t *testing.T) {
		// JSON cannot carry NaN or infinities, but a behavior built in Go can.
		for _, n := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			b := proto.Behavior{Name: "b", Metric: "battery", Criteria: &proto.BehaviorCriteria{
				ComparisonOperator: OpLessThan, Value: &proto.MetricValue{Number: &n}}}
			checkProblems(t, ValidateBehaviors([]proto.Behavior{b}, testLookup), []string{"behaviors[0](b).criteria.value.number"})
		}
	})
	t.Run("a factor that is not finite", func(t *testing.T) {
		for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			b := proto.Behavior{Name: "b", Metric: "battery", Criteria: &proto.BehaviorCriteria{
				ComparisonOperator: OpLessThan, StatisticalThreshold: &proto.StatisticalThreshold{Statistic: "p90", Factor: &f}}}
			checkProblems(t, ValidateBehaviors([]proto.Behavior{b}, testLookup), []string{"behaviors[0](b).criteria.statisticalThreshold.factor"})
		}
	})
	t.Run("without a lookup only aws: metrics are known", func(t *testing.T) {
		list := behaviors(t, `[{"name":"b","metric":"battery","criteria":{"comparisonOperator":"less-than","value":{"number":1}}}]`)
		checkProblems(t, ValidateBehaviors(list, nil), []string{"behaviors[0](b).metric"})
	})
}

// TestSetProfileRefusesProblems checks that a profile with problems is
// refused with all of them and changes nothing: the profile in force goes
// on evaluating, and its alarm stays in force.
func TestSetProfileRefusesProblems(t *testing.T) {
	e := New(Options{Lookup: testLookup})
	good := Profile{Name: "p1", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out",`+okCriteria+`}]`)}
	if _, err := e.SetProfile(scenarioBase, good); err != nil {
		t.Fatal(err)
	}
	out := func(n float64) []Datapoint {
		return []Datapoint{{Metric: MetricBytesOut, Value: Value{Kind: KindCount, Number: n}}}
	}
	if got := e.Observe(scenarioBase, "t1", []string{"p1"}, out(5000)); len(got) != 1 || got[0].Type != proto.InAlarm {
		t.Fatalf("before: got %v, want one in-alarm", got)
	}
	bad := Profile{Name: "p1", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","value":{"count":1},"consecutiveDatapointsToAlarm":0}},{"name":"x y"}]`)}
	events, err := e.SetProfile(scenarioBase, bad)
	var pe ProblemsError
	if !errors.As(err, &pe) || len(events) != 0 {
		t.Fatalf("SetProfile: events %v, error %v; want a ProblemsError and no event", events, err)
	}
	if want := ValidateBehaviors(bad.Behaviors, testLookup); !slices.Equal(pe, want) || len(pe) != 4 {
		t.Errorf("ProblemsError %v, want the 4 problems of ValidateBehaviors %v", pe, want)
	}
	if !strings.Contains(err.Error(), "behaviors[0](out).criteria.consecutiveDatapointsToAlarm: ") || !strings.Contains(err.Error(), "; ") {
		t.Errorf("error %q does not list the problems", err)
	}
	if got := e.Observe(scenarioBase.Add(benchInterval), "t1", []string{"p1"}, out(100)); len(got) != 1 || got[0].Type != proto.AlarmCleared {
		t.Errorf("after: got %v, want the first profile's alarm cleared", got)
	}
}

// TestSelfComparedMessage checks that the refusal of a statistic a device
// decides itself says why.
func TestSelfComparedMessage(t *testing.T) {
	for _, text := range []string{
		`[{"name":"b","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p100"}}}]`,
		`[{"name":"b","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"greater-than","statisticalThreshold":{"statistic":"p0"}}}]`,
	} {
		problems := ValidateBehaviors(behaviors(t, text), nil)
		if len(problems) != 1 {
			t.Fatalf("%s: problems %v, want one", text, problems)
		}
		for _, part := range []string{"includes the device itself", "never violated", "always violated", "factor below 1"} {
			if !strings.Contains(problems[0].Message, part) {
				t.Errorf("message %q does not say %q", problems[0].Message, part)
			}
		}
	}
}

// TestStatisticalRule checks what a statistical behavior compiles to: the
// default window of 300 s, the percentile and the factor, and a threshold
// that multiplies the statistic for less-than operators and divides it for
// greater-than ones.
func TestStatisticalRule(t *testing.T) {
	rules, problems := compileBehaviors(behaviors(t, `[
		{"name":"lt","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than","statisticalThreshold":{"statistic":"p99.9","factor":2}}},
		{"name":"lte","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","statisticalThreshold":{"statistic":"p90"},"durationSeconds":600}},
		{"name":"gt","metric":"battery","criteria":{"comparisonOperator":"greater-than","statisticalThreshold":{"statistic":"p10","factor":4}}},
		{"name":"gte","metric":"battery","criteria":{"comparisonOperator":"greater-than-equals","statisticalThreshold":{"statistic":"p50","factor":0.5}}}
	]`), testLookup)
	if len(problems) > 0 || len(rules) != 4 {
		t.Fatalf("problems %v", problems)
	}
	want := []struct {
		duration   time.Duration
		percentile float64
		threshold  float64 // of a statistic of 100
	}{{300 * time.Second, 99.9, 200}, {600 * time.Second, 90, 100}, {300 * time.Second, 10, 25}, {300 * time.Second, 50, 200}}
	for i, r := range rules {
		if !r.statistical() || r.duration != want[i].duration || r.percentile != want[i].percentile || r.thresholdOf(100) != want[i].threshold {
			t.Errorf("%s: duration %v, percentile %v, threshold of 100 %v; want %+v", r.name, r.duration, r.percentile, r.thresholdOf(100), want[i])
		}
	}
}
