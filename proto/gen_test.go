package proto

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
)

// reportGen draws random valid reports. Every optional part is absent,
// present and empty, or present and filled, with about equal odds, and the
// values lean towards the edges: 0, 1, 2^64-1 counts, 2^63-1 report ids,
// ports 1 and 65535, IPv4, IPv6 with and without a zone, IPv4-mapped IPv6,
// unicode interface names, floats from 5e-324 to 1e308.
type reportGen struct {
	rng *rand.Rand
}

// newReportGen returns a generator with a fixed seed, so that a failure
// can be replayed.
func newReportGen(seed uint64) *reportGen {
	return &reportGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *reportGen) chance(n int) bool { return g.rng.IntN(n) == 0 }

func (g *reportGen) report() *Report {
	r := &Report{Header: Header{ReportID: g.reportID(), Version: pick(g, "1.0", "1.0", "1.1", "1.23")}}
	switch g.rng.IntN(3) {
	case 0:
		r.Metrics = g.metrics()
	case 1:
		r.CustomMetrics = g.customMetrics()
	default:
		r.Metrics, r.CustomMetrics = g.metrics(), g.customMetrics()
	}
	return r
}

func (g *reportGen) reportID() int64 {
	switch g.rng.IntN(5) {
	case 0:
		return 1
	case 1:
		return math.MaxInt64
	case 2:
		return int64(g.rng.Uint32()) + 1 // epoch seconds, as the embedded C agent
	}
	return g.rng.Int64N(math.MaxInt64) + 1
}

// count returns nil or a count near an edge.
func (g *reportGen) count() *uint64 {
	switch g.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return Count(0)
	case 2:
		return Count(math.MaxUint64)
	case 3:
		return Count(1 << 53) // the first integer a float64 cannot follow
	}
	return Count(g.rng.Uint64() >> g.rng.UintN(64))
}

func (g *reportGen) metrics() *Metrics {
	m := &Metrics{}
	if !g.chance(4) {
		m.ListeningTCPPorts = g.portList()
	}
	if !g.chance(4) {
		m.ListeningUDPPorts = g.portList()
	}
	if !g.chance(4) {
		m.NetworkStats = &NetworkStats{BytesIn: g.count(), BytesOut: g.count(), PacketsIn: g.count(), PacketsOut: g.count()}
	}
	if !g.chance(4) {
		m.TCPConnections = &TCPConnections{}
		if !g.chance(4) {
			m.TCPConnections.EstablishedConnections = g.established()
		}
	}
	return m
}

// listLen returns -1 (no list), 0 (an empty list) or a short length.
func (g *reportGen) listLen() int {
	switch g.rng.IntN(4) {
	case 0:
		return -1
	case 1:
		return 0
	}
	return 1 + g.rng.IntN(8)
}

func (g *reportGen) portList() *PortList {
	p := &PortList{Total: g.count()}
	if n := g.listLen(); n >= 0 {
		p.Ports = make([]Port, n)
		for i := range p.Ports {
			p.Ports[i] = Port{Port: g.port(1), Interface: g.interfaceName()}
		}
	}
	return p
}

// port returns a port number from low to 65535, often at an edge.
func (g *reportGen) port(low uint16) uint16 {
	switch g.rng.IntN(4) {
	case 0:
		return low
	case 1:
		return math.MaxUint16
	}
	return low + uint16(g.rng.IntN(math.MaxUint16-int(low)+1))
}

var interfaceNames = []string{"", "eth0", "lo", "wlan0", "enp0s31f6", "wlan-ü", "网卡0", "br-🛰", `we"ird\name`, strings.Repeat("x", maxInterfaceName)}

func (g *reportGen) interfaceName() string { return pick(g, interfaceNames...) }

func (g *reportGen) established() *EstablishedConnections {
	e := &EstablishedConnections{Total: g.count()}
	if n := g.listLen(); n >= 0 {
		e.Connections = make([]Connection, n)
		for i := range e.Connections {
			e.Connections[i] = Connection{
				RemoteAddr:     netip.AddrPortFrom(g.addr(), g.port(0)),
				LocalPort:      g.port(0),
				LocalInterface: g.interfaceName(),
			}
		}
	}
	return e
}

// addr returns an IPv4, IPv6 (with or without a zone) or IPv4-mapped
// address.
func (g *reportGen) addr() netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	switch g.rng.IntN(5) {
	case 0, 1:
		return netip.AddrFrom4([4]byte(b[:4]))
	case 2:
		return netip.AddrFrom16(b)
	case 3:
		return netip.AddrFrom16(b).WithZone(pick(g, "eth0", "1", "wlan-ü"))
	}
	return netip.AddrFrom16(netip.AddrFrom4([4]byte(b[:4])).As16()) // ::ffff:a.b.c.d
}

// customMetrics draws up to 5 custom metrics, in name order with each name
// once, as a decoded report holds them.
func (g *reportGen) customMetrics() []CustomMetric {
	list := []CustomMetric{}
	for range g.rng.IntN(6) {
		list = append(list, CustomMetric{g.metricName(), g.customValue()})
	}
	slices.SortFunc(list, compareCustomNames)
	return slices.CompactFunc(list, func(a, b CustomMetric) bool { return a.Name == b.Name })
}

const metricNameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-"

func (g *reportGen) metricName() string {
	n := 1 + g.rng.IntN(20)
	if g.chance(10) {
		n = 128
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = metricNameChars[g.rng.IntN(len(metricNameChars))]
	}
	if strings.HasPrefix(string(b), "aws:") {
		b[0] = 'x'
	}
	return string(b)
}

func (g *reportGen) customValue() CustomValue {
	n := max(g.listLen(), 0)
	switch g.rng.IntN(4) {
	case 0:
		return CustomValue{Type: CustomNumber, Number: g.float()}
	case 1:
		v := CustomValue{Type: CustomNumberList, Numbers: make([]float64, n)}
		for i := range v.Numbers {
			v.Numbers[i] = g.float()
		}
		return v
	case 2:
		v := CustomValue{Type: CustomStringList, Strings: make([]string, n)}
		for i := range v.Strings {
			v.Strings[i] = pick(g, "", "value_1", "ünïcödé", "tab\there", "nul\x00", `"quoted"`, "line\u2028sep", "🙂")
		}
		return v
	}
	v := CustomValue{Type: CustomIPList, IPs: make([]netip.Addr, n)}
	for i := range v.IPs {
		v.IPs[i] = g.addr()
	}
	return v
}

// float returns a finite float, often an integer or at an edge.
func (g *reportGen) float() float64 {
	switch g.rng.IntN(8) {
	case 0:
		return float64(g.rng.IntN(201) - 100)
	case 1:
		return pick(g, 0, math.Copysign(0, -1), 5e-324, math.MaxFloat64, -math.MaxFloat64, 1<<53, 1e15, 1e21, 0.1)
	case 2:
		return float64(g.rng.Int64()) // integers beyond 2^53
	case 3:
		return math.Float64frombits(g.rng.Uint64()&^(0x7ff<<52) | uint64(g.rng.IntN(0x7ff))<<52) // any exponent but NaN/Inf
	}
	return (g.rng.Float64() - 0.5) * math.Pow(10, float64(g.rng.IntN(40)-20))
}

// typicalReport is the report of a small Linux gateway: 3 listening TCP
// ports, 2 UDP, network stats, 5 connections and one custom number.
func typicalReport() *Report {
	conn := func(addr string, port uint16) Connection {
		return Connection{RemoteAddr: netip.MustParseAddrPort(addr), LocalPort: port, LocalInterface: "eth0"}
	}
	return &Report{
		Header: Header{ReportID: 1700000000123, Version: CurrentVersion},
		Metrics: &Metrics{
			ListeningTCPPorts: &PortList{Ports: []Port{{22, "eth0"}, {80, "eth0"}, {443, "eth0"}}, Total: Count(3)},
			ListeningUDPPorts: &PortList{Ports: []Port{{53, "eth0"}, {5353, "eth0"}}, Total: Count(2)},
			NetworkStats:      &NetworkStats{BytesIn: Count(29358693), BytesOut: Count(26485035), PacketsIn: Count(100135), PacketsOut: Count(113826)},
			TCPConnections: &TCPConnections{EstablishedConnections: &EstablishedConnections{
				Connections: []Connection{
					conn("192.168.0.1:8000", 22), conn("10.0.0.7:51514", 22), conn("[2001:db8::1]:443", 443),
					conn("172.16.4.2:1883", 80), conn("192.168.0.20:60000", 443),
				},
				Total: Count(5),
			}},
		},
		CustomMetrics: []CustomMetric{{"cpu_usage", CustomValue{Type: CustomNumber, Number: 12.5}}},
	}
}

func pick[T any](g *reportGen, choices ...T) T { return choices[g.rng.IntN(len(choices))] }
