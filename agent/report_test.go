package agent_test

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-iot/vigil/agent"
	"github.com/vigil-iot/vigil/agent/collect"
	"github.com/vigil-iot/vigil/proto"
)

func portList(ports ...proto.Port) *proto.PortList {
	if ports == nil {
		ports = []proto.Port{}
	}
	return &proto.PortList{Ports: ports, Total: proto.Count(uint64(len(ports)))}
}

func established(conns ...proto.Connection) *proto.TCPConnections {
	if conns == nil {
		conns = []proto.Connection{}
	}
	return &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{
		Connections: conns, Total: proto.Count(uint64(len(conns))),
	}}
}

func stats(bytesIn, bytesOut, packetsIn, packetsOut uint64) *proto.NetworkStats {
	return &proto.NetworkStats{
		BytesIn: proto.Count(bytesIn), BytesOut: proto.Count(bytesOut),
		PacketsIn: proto.Count(packetsIn), PacketsOut: proto.Count(packetsOut),
	}
}

func header(id int64) proto.Header { return proto.Header{ReportID: id, Version: proto.CurrentVersion} }

func TestBuildReport(t *testing.T) {
	peer4 := netip.MustParseAddrPort("203.0.113.7:443")
	peer6 := netip.MustParseAddrPort("[2001:db8::1]:8883")
	tests := []struct {
		name    string
		sample  collect.Sample
		traffic *collect.NetworkDeltas
		custom  []proto.CustomMetric
		want    *proto.Report
	}{
		{
			// An idle host still reports its lists, empty, with a total of
			// zero: "no ports" is a datapoint, a missing list is not.
			name: "empty host",
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(), ListeningUDPPorts: portList(), TCPConnections: established(),
			}},
		},
		{
			name: "listening ports keep their interface, wildcard binds have none",
			sample: collect.Sample{
				ListeningTCP: []collect.Listener{{Port: 22, Interface: collect.AllInterfaces}, {Port: 80, Interface: "eth0"}},
				ListeningUDP: []collect.Listener{{Port: 53, Interface: "lo"}, {Port: 68, Interface: collect.AllInterfaces}},
			},
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(proto.Port{Port: 22}, proto.Port{Port: 80, Interface: "eth0"}),
				ListeningUDPPorts: portList(proto.Port{Port: 53, Interface: "lo"}, proto.Port{Port: 68}),
				TCPConnections:    established(),
			}},
		},
		{
			// Port 0 is not a port a peer can reach, and the contract
			// rejects it, so it is left out and not counted in the total.
			name: "port 0 is skipped",
			sample: collect.Sample{
				ListeningTCP: []collect.Listener{{Port: 0, Interface: "eth0"}, {Port: 443, Interface: "eth0"}},
				ListeningUDP: []collect.Listener{{Port: 0}},
			},
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(proto.Port{Port: 443, Interface: "eth0"}),
				ListeningUDPPorts: portList(),
				TCPConnections:    established(),
			}},
		},
		{
			name: "established connections, IPv4 and IPv6",
			sample: collect.Sample{Established: []collect.Connection{
				{Remote: peer4, LocalPort: 51234, LocalInterface: "eth0"},
				{Remote: peer6, LocalPort: 40000, LocalInterface: collect.AllInterfaces},
			}},
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(), ListeningUDPPorts: portList(),
				TCPConnections: established(
					proto.Connection{RemoteAddr: peer4, LocalPort: 51234, LocalInterface: "eth0"},
					proto.Connection{RemoteAddr: peer6, LocalPort: 40000},
				),
			}},
		},
		{
			name:    "traffic becomes network_stats",
			traffic: &collect.NetworkDeltas{BytesIn: 1500, BytesOut: 900, PacketsIn: 12, PacketsOut: 9},
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(), ListeningUDPPorts: portList(), TCPConnections: established(),
				NetworkStats: stats(1500, 900, 12, 9),
			}},
		},
		{
			// A quiet interval is a real datapoint of zero traffic, unlike
			// the first report, which has no traffic at all.
			name:    "zero traffic is still reported",
			traffic: &collect.NetworkDeltas{},
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(), ListeningUDPPorts: portList(), TCPConnections: established(),
				NetworkStats: stats(0, 0, 0, 0),
			}},
		},
		{
			name:   "custom metrics",
			custom: []proto.CustomMetric{{Name: "cpu", Value: proto.CustomValue{Type: proto.CustomNumber, Number: 12.5}}},
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(), ListeningUDPPorts: portList(), TCPConnections: established(),
			}, CustomMetrics: []proto.CustomMetric{{Name: "cpu", Value: proto.CustomValue{Type: proto.CustomNumber, Number: 12.5}}}},
		},
		{
			name:   "an empty custom metric set is left out",
			custom: []proto.CustomMetric{},
			want: &proto.Report{Header: header(7), Metrics: &proto.Metrics{
				ListeningTCPPorts: portList(), ListeningUDPPorts: portList(), TCPConnections: established(),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := agent.BuildReport(7, tt.sample, tt.traffic, tt.custom)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("BuildReport:\n got %s\nwant %s", encodeJSON(t, got), encodeJSON(t, tt.want))
			}
			if err := got.Validate(); err != nil {
				t.Errorf("built report does not validate: %v\n%s", err, encodeJSON(t, got))
			}
		})
	}
}

// TestBuildReportWildcardInterface pins the wire form of a wildcard bind:
// the interface key is absent, not an empty string.
func TestBuildReportWildcardInterface(t *testing.T) {
	s := collect.Sample{
		ListeningTCP: []collect.Listener{{Port: 22, Interface: collect.AllInterfaces}},
		Established:  []collect.Connection{{Remote: netip.MustParseAddrPort("192.0.2.1:22"), LocalPort: 22}},
	}
	got := encodeJSON(t, agent.BuildReport(1, s, nil, nil))
	for _, key := range []string{`"interface"`, `"local_interface"`} {
		if strings.Contains(got, key) {
			t.Errorf("report holds %s for a wildcard bind: %s", key, got)
		}
	}
}

func encodeJSON(t *testing.T, r *proto.Report) string {
	t.Helper()
	data, err := proto.Encode(r, proto.JSON, proto.LongKeys)
	if err != nil {
		t.Fatalf("encode report: %v", err)
	}
	return string(data)
}
