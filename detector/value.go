package detector

import (
	"net/netip"
	"slices"

	"github.com/vigil-iot/vigil/proto"
)

// Value is the value of one datapoint. Kind says which field holds it.
type Value struct {
	Kind    ValueKind    `json:"kind"`
	Number  float64      `json:"number,omitempty"`
	Ports   []uint16     `json:"ports,omitempty"`
	IPs     []netip.Addr `json:"ips,omitempty"`
	Numbers []float64    `json:"numbers,omitempty"`
	Strings []string     `json:"strings,omitempty"`
}

// Empty reports whether a set value holds no element.
func (v Value) Empty() bool {
	switch v.Kind {
	case KindPorts:
		return len(v.Ports) == 0
	case KindIPs:
		return len(v.IPs) == 0
	case KindNumbers:
		return len(v.Numbers) == 0
	case KindStrings:
		return len(v.Strings) == 0
	}
	return false
}

// MetricValue converts the value to the AWS MetricValue shape.
func (v Value) MetricValue() *proto.MetricValue {
	mv := &proto.MetricValue{}
	switch v.Kind {
	case KindCount:
		mv.Count = proto.Count(uint64(v.Number))
	case KindNumber:
		n := v.Number
		mv.Number = &n
	case KindPorts:
		mv.Ports = make([]int, len(v.Ports))
		for i, p := range v.Ports {
			mv.Ports[i] = int(p)
		}
	case KindIPs:
		mv.Cidrs = make([]string, len(v.IPs))
		for i, ip := range v.IPs {
			mv.Cidrs[i] = netip.PrefixFrom(ip, ip.BitLen()).String()
		}
	case KindNumbers:
		mv.Numbers = slices.Clone(v.Numbers)
	case KindStrings:
		mv.Strings = slices.Clone(v.Strings)
	}
	return mv
}

// Datapoint is one metric's value from one report.
type Datapoint struct {
	Metric string
	Value  Value
}

// Datapoints extracts every metric a report carries. Counts use the list's
// total when the device gave one; sets are deduplicated and sorted, and
// IPv4-mapped addresses are read as IPv4.
func Datapoints(r *proto.Report) []Datapoint {
	return AppendDatapoints(nil, r)
}

// AppendDatapoints is Datapoints appending to dps, so that a caller can
// reuse a slice.
func AppendDatapoints(dps []Datapoint, r *proto.Report) []Datapoint {
	// Room for every device-side metric: 4 traffic counts, 3 counts of
	// lists, 3 sets, and the custom metrics.
	dps = slices.Grow(dps, 10+len(r.CustomMetrics))
	count := func(name string, n uint64, ok bool) {
		if ok {
			dps = append(dps, Datapoint{Metric: name, Value: Value{Kind: KindCount, Number: float64(n)}})
		}
	}
	if m := r.Metrics; m != nil {
		if ns := m.NetworkStats; ns != nil {
			for _, c := range []struct {
				name string
				v    *uint64
			}{{MetricBytesIn, ns.BytesIn}, {MetricBytesOut, ns.BytesOut}, {MetricPacketsIn, ns.PacketsIn}, {MetricPacketsOut, ns.PacketsOut}} {
				if c.v != nil {
					count(c.name, *c.v, true)
				}
			}
		}
		n, ok := r.NumListeningTCPPorts()
		count(MetricNumListeningTCP, n, ok)
		n, ok = r.NumListeningUDPPorts()
		count(MetricNumListeningUDP, n, ok)
		n, ok = r.NumEstablishedConnections()
		count(MetricNumEstablishedTCP, n, ok)
		// A list given with its total only is not a set: it gives no datapoint,
		// where an empty list would clear an alarm.
		if p := m.ListeningTCPPorts; p != nil && p.Ports != nil {
			dps = append(dps, Datapoint{Metric: MetricListeningTCPPorts, Value: Value{Kind: KindPorts, Ports: ports(p)}})
		}
		if p := m.ListeningUDPPorts; p != nil && p.Ports != nil {
			dps = append(dps, Datapoint{Metric: MetricListeningUDPPorts, Value: Value{Kind: KindPorts, Ports: ports(p)}})
		}
		if tc := m.TCPConnections; tc != nil && tc.EstablishedConnections != nil && tc.EstablishedConnections.Connections != nil {
			dps = append(dps, Datapoint{Metric: MetricDestinationIPs, Value: Value{Kind: KindIPs, IPs: remoteIPs(tc.EstablishedConnections.Connections)}})
		}
	}
	for _, m := range r.CustomMetrics { // in name order
		dps = append(dps, Datapoint{Metric: m.Name, Value: customValue(m.Value)})
	}
	return dps
}

func ports(p *proto.PortList) []uint16 {
	out := make([]uint16, 0, len(p.Ports))
	for _, port := range p.Ports {
		out = append(out, port.Port)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func remoteIPs(conns []proto.Connection) []netip.Addr {
	out := make([]netip.Addr, 0, len(conns))
	for _, c := range conns {
		out = append(out, c.RemoteAddr.Addr())
	}
	return ipSet(out)
}

// ipSet unmaps IPv4-mapped IPv6 addresses, so that they match IPv4 CIDRs,
// then sorts and deduplicates the addresses in place.
func ipSet(ips []netip.Addr) []netip.Addr {
	for i, ip := range ips {
		ips[i] = ip.Unmap()
	}
	slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(ips)
}

// customValue converts a custom metric's value; its lists are sets like
// the others, copied so that the report's slices are left as they were.
func customValue(c proto.CustomValue) Value {
	switch c.Type {
	case proto.CustomNumber:
		return Value{Kind: KindNumber, Number: c.Number}
	case proto.CustomNumberList:
		return Value{Kind: KindNumbers, Numbers: slices.Compact(slices.Sorted(slices.Values(c.Numbers)))}
	case proto.CustomStringList:
		return Value{Kind: KindStrings, Strings: slices.Compact(slices.Sorted(slices.Values(c.Strings)))}
	}
	return Value{Kind: KindIPs, IPs: ipSet(slices.Clone(c.IPs))}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
