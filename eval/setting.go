package eval

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// Setting is one profile configuration under evaluation.
type Setting struct {
	// Name is short, for the tables ("p90x3-dp2").
	Name string
	// About says what the setting checks, in a line.
	About     string
	Behaviors []proto.Behavior
	// PerCity attaches one copy of the profile to each city instead of one
	// to the whole fleet, so that each city is its own population for the
	// statistical behaviors.
	PerCity bool
}

// profiles returns the engine profiles of the setting: one, or one per
// city.
func (s Setting) profiles(cities []string) []detector.Profile {
	if !s.PerCity {
		return []detector.Profile{{Name: s.Name, Behaviors: s.Behaviors}}
	}
	out := make([]detector.Profile, len(cities))
	for i, c := range cities {
		out[i] = detector.Profile{Name: s.Name + "-" + c, Behaviors: s.Behaviors}
	}
	return out
}

// The fleet's fixed shape, which the set behaviors of every setting
// enforce: sim's listening ports and its factory network.
var (
	expectedTCP  = []int{22, 8080}
	expectedUDP  = []int{68, 123}
	expectedCIDR = sim.ExpectedCIDR.String()
)

// NormalPeakBytesOut is the largest bytes out of a scanner in 5 minutes
// without an incident: the ceiling of the simulated daily curve and its
// noise.
const NormalPeakBytesOut = sim.MaxBytesOut

// SetBehaviors are the behaviors every setting shares: listening ports and
// peers fixed by the fleet's design, and a connection count.
func SetBehaviors() []proto.Behavior {
	return []proto.Behavior{
		{Name: "listening-tcp-ports", Metric: detector.MetricListeningTCPPorts,
			Criteria: &proto.BehaviorCriteria{ComparisonOperator: "in-port-set", Value: &proto.MetricValue{Ports: expectedTCP}, ConsecutiveDatapointsToAlarm: ptr(1), ConsecutiveDatapointsToClear: ptr(1)}},
		{Name: "listening-udp-ports", Metric: detector.MetricListeningUDPPorts,
			Criteria: &proto.BehaviorCriteria{ComparisonOperator: "in-port-set", Value: &proto.MetricValue{Ports: expectedUDP}, ConsecutiveDatapointsToAlarm: ptr(1), ConsecutiveDatapointsToClear: ptr(1)}},
		{Name: "peers-in-factory-network", Metric: detector.MetricDestinationIPs,
			Criteria: &proto.BehaviorCriteria{ComparisonOperator: "in-cidr-set", Value: &proto.MetricValue{Cidrs: []string{expectedCIDR}}, ConsecutiveDatapointsToAlarm: ptr(1), ConsecutiveDatapointsToClear: ptr(2)}},
		{Name: "few-connections", Metric: detector.MetricNumEstablishedTCP,
			Criteria: &proto.BehaviorCriteria{ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: ptr[uint64](10)}, ConsecutiveDatapointsToAlarm: ptr(2), ConsecutiveDatapointsToClear: ptr(2)}},
	}
}

// Statistical returns the traffic behaviors that compare a device's bytes
// and packets out, per 5 minutes, with factor times a percentile of its
// peers in the same window.
func Statistical(statistic string, factor float64, datapoints int) []proto.Behavior {
	crit := func() *proto.BehaviorCriteria {
		return &proto.BehaviorCriteria{ComparisonOperator: "less-than-equals", DurationSeconds: ptr(300),
			StatisticalThreshold:         &proto.StatisticalThreshold{Statistic: statistic, Factor: ptr(factor)},
			ConsecutiveDatapointsToAlarm: ptr(datapoints), ConsecutiveDatapointsToClear: ptr(2)}
	}
	return []proto.Behavior{
		{Name: "bytes-out-vs-fleet", Metric: detector.MetricBytesOut, Criteria: crit()},
		{Name: "packets-out-vs-fleet", Metric: detector.MetricPacketsOut, Criteria: crit()},
	}
}

// Ceiling returns the traffic behavior that bounds bytes out per 5
// minutes by a fixed value.
func Ceiling(bytes uint64, datapoints int) []proto.Behavior {
	return []proto.Behavior{{Name: "bytes-out-ceiling", Metric: detector.MetricBytesOut,
		Criteria: &proto.BehaviorCriteria{ComparisonOperator: "less-than-equals", Value: &proto.MetricValue{Count: ptr(bytes)},
			DurationSeconds: ptr(300), ConsecutiveDatapointsToAlarm: ptr(datapoints), ConsecutiveDatapointsToClear: ptr(2)}}}
}

// family is a traffic check under comparison, at a given number of
// datapoints to alarm.
type family struct {
	name, about string
	perCity     bool
	traffic     func(datapoints int) []proto.Behavior
}

var families = []family{
	{name: "p90x3", about: "bytes and packets out <= 3 x fleet p90",
		traffic: func(dp int) []proto.Behavior { return Statistical("p90", 3, dp) }},
	{name: "p99x2", about: "bytes and packets out <= 2 x fleet p99",
		traffic: func(dp int) []proto.Behavior { return Statistical("p99", 2, dp) }},
	{name: "ceiling", about: fmt.Sprintf("bytes out <= %d (the normal peak)", NormalPeakBytesOut),
		traffic: func(dp int) []proto.Behavior { return Ceiling(NormalPeakBytesOut, dp) }},
	{name: "ceiling+p90x3", about: fmt.Sprintf("bytes out <= %d, and bytes and packets out <= 3 x fleet p90", NormalPeakBytesOut),
		traffic: func(dp int) []proto.Behavior { return join(Ceiling(NormalPeakBytesOut, dp), Statistical("p90", 3, dp)) }},
	{name: "city-p90x1.5", about: "bytes and packets out <= 1.5 x p90 of the city (a profile per city)", perCity: true,
		traffic: func(dp int) []proto.Behavior { return Statistical("p90", 1.5, dp) }},
	{name: "city-p99x1", about: "bytes and packets out <= p99 of the city (deliberately tight)", perCity: true,
		traffic: func(dp int) []proto.Behavior { return Statistical("p99", 1, dp) }},
}

// Grid returns the settings of the comparison: each traffic check (fleet
// p90 and p99 thresholds, a static ceiling at the fleet's normal peak, the
// two together, and per-city thresholds) at 1, 2 and 3 datapoints to
// alarm, each with SetBehaviors.
func Grid() []Setting {
	var out []Setting
	for _, f := range families {
		for _, dp := range []int{1, 2, 3} {
			out = append(out, Setting{Name: fmt.Sprintf("%s-dp%d", f.name, dp), PerCity: f.perCity,
				About:     fmt.Sprintf("%s, %d datapoint(s) to alarm", f.about, dp),
				Behaviors: join(SetBehaviors(), f.traffic(dp))})
		}
	}
	return out
}

// LoadProfile reads a security profile in AWS's JSON shape (as
// `vigil admin profile create --file` takes it) as a setting.
func LoadProfile(path string) (Setting, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Setting{}, fmt.Errorf("read profile: %w", err)
	}
	var p registry.Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return Setting{}, fmt.Errorf("decode profile %s: %w", path, err)
	}
	if problems := detector.ValidateBehaviors(p.Behaviors, detector.DeviceMetricsOnly); len(problems) > 0 {
		return Setting{}, fmt.Errorf("profile %s: %w", path, detector.ProblemsError(problems))
	}
	return Setting{Name: p.Name, About: "profile file " + path, Behaviors: p.Behaviors}, nil
}

func join(lists ...[]proto.Behavior) []proto.Behavior {
	var out []proto.Behavior
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
