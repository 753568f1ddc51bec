package detector

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// The benchmarks model the reference fleet: 10,000 things reporting every 5
// minutes to one profile of 10 behaviors.
const (
	benchThings    = 10_000
	benchBehaviors = 10
	benchInterval  = 5 * time.Minute
)

// benchProfile mixes the kinds of behavior: static limits on gauges and
// counters, counters summed over windows, port sets and a CIDR set.
func benchProfile(tb testing.TB) Profile {
	var behaviors []proto.Behavior
	err := json.Unmarshal([]byte(`[
	{"name":"bytes-out","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","value":{"count":1000000},"durationSeconds":300,"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":2}},
	{"name":"bytes-in","metric":"aws:all-bytes-in","criteria":{"comparisonOperator":"less-than-equals","value":{"count":1000000},"durationSeconds":300}},
	{"name":"packets-out","metric":"aws:all-packets-out","criteria":{"comparisonOperator":"less-than","value":{"count":10000},"durationSeconds":600}},
	{"name":"packets-in","metric":"aws:all-packets-in","criteria":{"comparisonOperator":"less-than","value":{"count":10000}}},
	{"name":"tcp-count","metric":"aws:num-listening-tcp-ports","criteria":{"comparisonOperator":"less-than-equals","value":{"count":5}}},
	{"name":"udp-count","metric":"aws:num-listening-udp-ports","criteria":{"comparisonOperator":"less-than-equals","value":{"count":5}}},
	{"name":"connections","metric":"aws:num-established-tcp-connections","criteria":{"comparisonOperator":"less-than","value":{"count":50}, "consecutiveDatapointsToAlarm":3}},
	{"name":"tcp-ports","metric":"aws:listening-tcp-ports","criteria":{"comparisonOperator":"in-port-set","value":{"ports":[22,80,443,8883]}}},
	{"name":"udp-ports","metric":"aws:listening-udp-ports","criteria":{"comparisonOperator":"not-in-port-set","value":{"ports":[23,69,1900,5353]}}},
	{"name":"destinations","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["10.0.0.0/8","192.168.0.0/16","203.0.113.0/24","2001:db8::/32"]}}}
	]`), &behaviors)
	if err != nil || len(behaviors) != benchBehaviors {
		tb.Fatalf("bench profile: %v", err)
	}
	return Profile{Name: "scanners", Behaviors: behaviors}
}

// benchReports returns the datapoints of a few reports of an ID-card
// scanner: traffic deltas, two listening TCP ports, one UDP port and a few
// connections to the back office; every eighth one breaks a behavior.
func benchReports() [][]Datapoint {
	var out [][]Datapoint
	for i := range 8 {
		bytes := uint64(20_000 + 1000*i)
		r := &proto.Report{Header: proto.Header{ReportID: int64(i + 1), Version: "1.0"}, Metrics: &proto.Metrics{
			ListeningTCPPorts: &proto.PortList{Ports: []proto.Port{{Port: 22}, {Port: 8883}}},
			ListeningUDPPorts: &proto.PortList{Ports: []proto.Port{{Port: 123}}},
			NetworkStats: &proto.NetworkStats{BytesIn: proto.Count(bytes), BytesOut: proto.Count(bytes / 2),
				PacketsIn: proto.Count(bytes / 500), PacketsOut: proto.Count(bytes / 700)},
			TCPConnections: &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{Connections: []proto.Connection{
				{RemoteAddr: netip.MustParseAddrPort("10.1.2.3:8883")},
				{RemoteAddr: netip.MustParseAddrPort("192.168.7.20:443")},
				{RemoteAddr: netip.MustParseAddrPort("[2001:db8::10]:443")},
			}}},
		}}
		if i == 7 {
			r.Metrics.ListeningTCPPorts.Ports = append(r.Metrics.ListeningTCPPorts.Ports, proto.Port{Port: 4444})
			ec := r.Metrics.TCPConnections.EstablishedConnections
			ec.Connections = append(ec.Connections, proto.Connection{RemoteAddr: netip.MustParseAddrPort("198.51.100.66:6667")})
		}
		out = append(out, Datapoints(r))
	}
	return out
}

func benchThingNames() []string {
	names := make([]string, benchThings)
	for i := range names {
		names[i] = fmt.Sprintf("scanner-%05d", i)
	}
	return names
}

func benchEngine(tb testing.TB) *Engine {
	e := New(Options{})
	if _, err := e.SetProfile(scenarioBase, benchProfile(tb)); err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkObserve measures the evaluation of reports: each iteration is
// one report of one thing, the things taking turns every 5 minutes of
// engine time so that windows close as they would in a fleet.
func BenchmarkObserve(b *testing.B) {
	e, names, reports := benchEngine(b), benchThingNames(), benchReports()
	profiles := []string{"scanners"}
	step := benchInterval / benchThings
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now := scenarioBase.Add(time.Duration(i) * step)
		e.Observe(now, names[i%benchThings], profiles, reports[(i/benchThings+i)%len(reports)])
		if i%benchThings == benchThings-1 {
			e.TakeDirty()
		}
	}
	b.ReportMetric(float64(b.N*benchBehaviors)/b.Elapsed().Seconds(), "evals/s")
}

// BenchmarkStateMemory measures the heap the engine keeps per thing once
// each of 10,000 things has reported a few times under 10 behaviors, after
// persistence has taken the dirty set. The thing names are the caller's and
// are not counted.
func BenchmarkStateMemory(b *testing.B) {
	names, reports := benchThingNames(), benchReports()
	profiles := []string{"scanners"}
	var perThing float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := benchEngine(b)
		for round := range 3 {
			for i, name := range names {
				now := scenarioBase.Add(time.Duration(round)*benchInterval + time.Duration(i)*benchInterval/benchThings)
				e.Observe(now, name, profiles, reports[(round+i)%len(reports)])
			}
		}
		e.TakeDirty()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perThing = float64(after.HeapAlloc-before.HeapAlloc) / benchThings
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perThing, "B/thing")
}

// statBenchSizes are the fleets of BenchmarkStatisticalTick.
var statBenchSizes = []int{100_000, 1_000_000}

// BenchmarkStatisticalTick measures the Tick that closes one 5-minute
// window of a statistical behavior for every device of a fleet: the
// statistic of the window's population (exact, by selection) and every
// device's evaluation. With "less-than-equals p90" and factor 2 few devices
// violate; with factor 1 (AWS's semantics) a tenth of the fleet violates in
// every window and as many alarms clear, so the Tick touches a fifth of the
// devices' alarms. Each iteration first fills the next window, untimed,
// empties the dirty set as persistence would, and collects the garbage of
// the filling.
func BenchmarkStatisticalTick(b *testing.B) {
	for _, factor := range []float64{2, 1} {
		p := Profile{Name: "fleet", Behaviors: []proto.Behavior{{Name: "bytes-out", Metric: MetricBytesOut,
			Criteria: &proto.BehaviorCriteria{ComparisonOperator: OpLessThanEquals,
				StatisticalThreshold: &proto.StatisticalThreshold{Statistic: "p90", Factor: &factor}}}}}
		for _, n := range statBenchSizes {
			b.Run(fmt.Sprintf("factor=%v/devices=%dk", factor, n/1000), func(b *testing.B) {
				benchStatisticalTick(b, p, n)
			})
		}
	}
}

func benchStatisticalTick(b *testing.B, p Profile, n int) {
	e := New(Options{})
	if _, err := e.SetProfile(scenarioBase, p); err != nil {
		b.Fatal(err)
	}
	names, values := statBenchFleet(n)
	profiles := []string{"fleet"}
	e.Tick(scenarioBase) // as in a running engine, the things are not due for a silence check
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		start := scenarioBase.Add(time.Duration(i) * benchInterval)
		for j, name := range names {
			e.Observe(start.Add(time.Minute), name, profiles, bytesOut(values[(i+j)%n]))
		}
		forgetDirty(e)
		runtime.GC() // the filling's garbage is not the Tick's
		b.StartTimer()
		e.Tick(start.Add(benchInterval + benchInterval/10))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/device")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/tick")
}

// forgetDirty empties the dirty set as TakeDirty does, without sorting a
// million names.
func forgetDirty(e *Engine) {
	for _, d := range e.dirty {
		if d.state != nil {
			d.state.dirty = false
		}
	}
	e.dirty = e.dirty[:0]
}

// statBenchFleet names n devices and gives them log-normal bytes out.
func statBenchFleet(n int) ([]string, []float64) {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	names, values := make([]string, n), make([]float64, n)
	for i := range names {
		names[i] = fmt.Sprintf("scanner-%07d", i)
		values[i] = math.Round(20_000 * math.Exp(0.5*rng.NormFloat64()))
	}
	return names, values
}

// BenchmarkTickIdle measures the Tick that runs every second while no
// window is due and no thing has been silent too long, for 100,000 things
// under 10 behaviors.
func BenchmarkTickIdle(b *testing.B) {
	e, reports := benchEngine(b), benchReports()
	profiles := []string{"scanners"}
	for i := range 10 * benchThings {
		e.Observe(scenarioBase.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("scanner-%06d", i), profiles, reports[i%len(reports)])
	}
	e.Tick(scenarioBase.Add(4 * time.Minute)) // one full pass, to learn when the next check is due
	now := scenarioBase.Add(4*time.Minute + time.Second)
	b.ReportAllocs()
	for b.Loop() {
		if len(e.Tick(now)) != 0 {
			b.Fatal("events from an idle tick")
		}
	}
}
