package agent

import (
	"time"

	"github.com/vigil-iot/vigil/agent/collect"
	"github.com/vigil-iot/vigil/proto"
)

// reportIDs hands out strictly increasing report ids from a clock in epoch
// milliseconds.
type reportIDs struct{ last int64 }

func (r *reportIDs) next(now time.Time) int64 {
	id := now.UnixMilli()
	if id <= r.last {
		id = r.last + 1
	}
	r.last = id
	return id
}

// BuildReport turns a sample, the traffic since the previous report and the
// custom metrics into a report. A nil traffic leaves network_stats out.
func BuildReport(id int64, s collect.Sample, traffic *collect.NetworkDeltas, custom []proto.CustomMetric) *proto.Report {
	r := &proto.Report{
		Header: proto.Header{ReportID: id, Version: proto.CurrentVersion},
		Metrics: &proto.Metrics{
			ListeningTCPPorts: portList(s.ListeningTCP),
			ListeningUDPPorts: portList(s.ListeningUDP),
			TCPConnections:    connections(s.Established),
		},
	}
	if traffic != nil {
		r.Metrics.NetworkStats = &proto.NetworkStats{
			BytesIn:    proto.Count(traffic.BytesIn),
			BytesOut:   proto.Count(traffic.BytesOut),
			PacketsIn:  proto.Count(traffic.PacketsIn),
			PacketsOut: proto.Count(traffic.PacketsOut),
		}
	}
	if len(custom) > 0 {
		r.CustomMetrics = custom
	}
	return r
}

func portList(ls []collect.Listener) *proto.PortList {
	ports := make([]proto.Port, 0, len(ls))
	for _, l := range ls {
		if l.Port == 0 {
			continue
		}
		ports = append(ports, proto.Port{Port: l.Port, Interface: l.Interface})
	}
	return &proto.PortList{Ports: ports, Total: proto.Count(uint64(len(ports)))}
}

func connections(cs []collect.Connection) *proto.TCPConnections {
	out := make([]proto.Connection, 0, len(cs))
	for _, c := range cs {
		out = append(out, proto.Connection{RemoteAddr: c.Remote, LocalPort: c.LocalPort, LocalInterface: c.LocalInterface})
	}
	return &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{
		Connections: out,
		Total:       proto.Count(uint64(len(out))),
	}}
}

// addTraffic sums two traffic deltas, saturating rather than wrapping.
func addTraffic(a, b collect.NetworkDeltas) collect.NetworkDeltas {
	sat := func(x, y uint64) uint64 {
		if x+y < x {
			return ^uint64(0)
		}
		return x + y
	}
	return collect.NetworkDeltas{
		BytesIn:    sat(a.BytesIn, b.BytesIn),
		BytesOut:   sat(a.BytesOut, b.BytesOut),
		PacketsIn:  sat(a.PacketsIn, b.PacketsIn),
		PacketsOut: sat(a.PacketsOut, b.PacketsOut),
	}
}
