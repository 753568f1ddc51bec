package detector

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-iot/vigil/proto"
)

func conns(addrs ...string) []proto.Connection {
	out := make([]proto.Connection, len(addrs))
	for i, a := range addrs {
		out[i] = proto.Connection{RemoteAddr: netip.MustParseAddrPort(a), LocalPort: 40000}
	}
	return out
}

func portList(total *uint64, ports ...uint16) *proto.PortList {
	l := &proto.PortList{Total: total}
	if ports != nil {
		l.Ports = []proto.Port{}
	}
	for _, p := range ports {
		l.Ports = append(l.Ports, proto.Port{Port: p, Interface: "eth0"})
	}
	return l
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func TestDatapoints(t *testing.T) {
	cases := []struct {
		name   string
		report proto.Report
		want   []string // METRIC=VALUE, as scenarios write values
	}{
		{"a full report", proto.Report{
			Metrics: &proto.Metrics{
				NetworkStats: &proto.NetworkStats{BytesIn: proto.Count(1), BytesOut: proto.Count(2), PacketsIn: proto.Count(3), PacketsOut: proto.Count(4)},
				// A total is preferred to the length of a list, which a device
				// may have sampled; the set is sorted and deduplicated.
				ListeningTCPPorts: portList(proto.Count(7), 443, 22, 443, 80),
				// Without a total, the count is the list's length.
				ListeningUDPPorts: portList(nil, 123, 53),
				// The count is the number of connections, not of distinct
				// addresses; the set reads IPv4-mapped addresses as IPv4.
				TCPConnections: &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{
					Connections: conns("[::ffff:10.0.0.1]:443", "10.0.0.1:8883", "[2001:db8::1]:443", "192.0.2.1:80")}},
			},
			CustomMetrics: []proto.CustomMetric{
				{Name: "battery", Value: proto.CustomValue{Type: proto.CustomNumber, Number: 42.5}},
				{Name: "codes", Value: proto.CustomValue{Type: proto.CustomNumberList, Numbers: []float64{3, 1, 3, -0.5}}},
				{Name: "peers", Value: proto.CustomValue{Type: proto.CustomIPList, IPs: addrs("::ffff:192.168.1.1", "10.0.0.1", "10.0.0.1", "fd00::1")}},
				{Name: "users", Value: proto.CustomValue{Type: proto.CustomStringList, Strings: []string{"bob", "alice", "bob"}}},
			},
		}, []string{
			"aws:all-bytes-in=1", "aws:all-bytes-out=2", "aws:all-packets-in=3", "aws:all-packets-out=4",
			"aws:num-listening-tcp-ports=7", "aws:num-listening-udp-ports=2", "aws:num-established-tcp-connections=4",
			"aws:listening-tcp-ports=[22,80,443]", "aws:listening-udp-ports=[53,123]",
			"aws:destination-ip-addresses=[10.0.0.1,192.0.2.1,2001:db8::1]",
			"battery=42.5", "codes=[-0.5,1,3]", "peers=[10.0.0.1,192.168.1.1,fd00::1]", "users=[alice,bob]",
		}},
		{"totals without lists give counts and no sets", proto.Report{Metrics: &proto.Metrics{
			ListeningTCPPorts: portList(proto.Count(3)),
			ListeningUDPPorts: portList(proto.Count(0)),
			TCPConnections:    &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{Total: proto.Count(2)}},
		}}, []string{"aws:num-listening-tcp-ports=3", "aws:num-listening-udp-ports=0", "aws:num-established-tcp-connections=2"}},
		{"empty lists give empty sets", proto.Report{Metrics: &proto.Metrics{
			ListeningTCPPorts: portList(nil, []uint16{}...),
			TCPConnections:    &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{Connections: []proto.Connection{}}},
		}}, []string{"aws:num-listening-tcp-ports=0", "aws:num-established-tcp-connections=0",
			"aws:listening-tcp-ports=[]", "aws:destination-ip-addresses=[]"}},
		{"some traffic counters", proto.Report{Metrics: &proto.Metrics{NetworkStats: &proto.NetworkStats{BytesOut: proto.Count(0)}}},
			[]string{"aws:all-bytes-out=0"}},
		{"connections block without connections", proto.Report{Metrics: &proto.Metrics{TCPConnections: &proto.TCPConnections{}}}, nil},
		{"custom metrics only", proto.Report{CustomMetrics: []proto.CustomMetric{{Name: "battery", Value: proto.CustomValue{Type: proto.CustomNumber, Number: -1}}}},
			[]string{"battery=-1"}},
		{"nothing", proto.Report{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, dp := range Datapoints(&tc.report) {
				info, ok := testLookup(dp.Metric)
				if !ok || info.Kind != dp.Value.Kind {
					t.Errorf("%s: kind %v, want %v", dp.Metric, dp.Value.Kind, info.Kind)
				}
				got = append(got, dp.Metric+"="+formatValue(&dp.Value))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("datapoints\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// TestDatapointsLeaveTheReport checks that sorting and deduplicating sets
// does not reorder the report's own lists, which the caller may keep.
func TestDatapointsLeaveTheReport(t *testing.T) {
	r := &proto.Report{CustomMetrics: []proto.CustomMetric{
		{Name: "codes", Value: proto.CustomValue{Type: proto.CustomNumberList, Numbers: []float64{3, 1, 3}}},
		{Name: "peers", Value: proto.CustomValue{Type: proto.CustomIPList, IPs: addrs("::ffff:10.0.0.2", "10.0.0.1")}},
		{Name: "users", Value: proto.CustomValue{Type: proto.CustomStringList, Strings: []string{"bob", "alice"}}},
	}}
	Datapoints(r)
	c := r.CustomMetrics
	if !slices.Equal(c[0].Value.Numbers, []float64{3, 1, 3}) || !slices.Equal(c[2].Value.Strings, []string{"bob", "alice"}) ||
		!slices.Equal(c[1].Value.IPs, addrs("::ffff:10.0.0.2", "10.0.0.1")) {
		t.Errorf("the report's lists changed: %+v", c)
	}
}

func TestValueMetricValue(t *testing.T) {
	cases := []struct {
		v    Value
		want proto.MetricValue
	}{
		{Value{Kind: KindCount, Number: 4097}, proto.MetricValue{Count: proto.Count(4097)}},
		{Value{Kind: KindPorts, Ports: []uint16{22, 80}}, proto.MetricValue{Ports: []int{22, 80}}},
		{Value{Kind: KindIPs, IPs: addrs("10.0.0.1", "2001:db8::1")}, proto.MetricValue{Cidrs: []string{"10.0.0.1/32", "2001:db8::1/128"}}},
		{Value{Kind: KindNumbers, Numbers: []float64{1.5}}, proto.MetricValue{Numbers: []float64{1.5}}},
		{Value{Kind: KindStrings, Strings: []string{"root"}}, proto.MetricValue{Strings: []string{"root"}}},
	}
	for _, tc := range cases {
		got := tc.v.MetricValue()
		if (got.Count == nil) != (tc.want.Count == nil) || got.Count != nil && *got.Count != *tc.want.Count ||
			!slices.Equal(got.Ports, tc.want.Ports) || !slices.Equal(got.Cidrs, tc.want.Cidrs) ||
			!slices.Equal(got.Numbers, tc.want.Numbers) || !slices.Equal(got.Strings, tc.want.Strings) {
			t.Errorf("%v: got %+v, want %+v", tc.v.Kind, got, tc.want)
		}
	}
	n := Value{Kind: KindNumber, Number: -2.5}.MetricValue()
	if n.Number == nil || *n.Number != -2.5 || n.Count != nil {
		t.Errorf("number: got %+v", n)
	}
}

// TestMappedAddressesMatchIPv4CIDRs runs a report through Datapoints and
// Observe: an IPv4-mapped address, as a dual-stack device may write it,
// matches an IPv4 CIDR, in the destination set and in a custom list alike.
func TestMappedAddressesMatchIPv4CIDRs(t *testing.T) {
	e := newTestEngine(t, Profile{Name: "p1", Behaviors: behaviors(t, `[
		{"name":"dest","metric":"aws:destination-ip-addresses","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["192.168.0.0/16"]}}},
		{"name":"peers","metric":"peers","criteria":{"comparisonOperator":"in-cidr-set","value":{"cidrs":["192.168.0.0/16"]}}}
	]`)})
	r := &proto.Report{
		Metrics: &proto.Metrics{TCPConnections: &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{
			Connections: conns("[::ffff:192.168.1.1]:443")}}},
		CustomMetrics: []proto.CustomMetric{{Name: "peers", Value: proto.CustomValue{Type: proto.CustomIPList, IPs: addrs("::ffff:192.168.1.2")}}},
	}
	if got := e.Observe(at(0), "t1", []string{"p1"}, Datapoints(r)); len(got) != 0 {
		t.Errorf("mapped addresses inside the CIDR raised %s", eventTypes(got))
	}
}
