package sim

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// The traffic model, per 5-minute interval.
const (
	// PeakBytesOut is the mean bytes out at the 8:00 and 20:00 peaks.
	PeakBytesOut = 14_500
	// MaxBytesOut bounds the bytes out of a report that no incident shapes.
	MaxBytesOut = 17_500
	// Noise is the spread of the per-interval noise of each scanner: its
	// traffic is the daily curve times a factor drawn in [1-Noise, 1+Noise].
	Noise = 0.2

	nightBytesOut  = 600
	dayBytesOut    = 2000
	peakWidthHours = 1.25
	// rebootFraction is the share of an interval's traffic left when the
	// scanner rebooted during it.
	rebootFraction = 0.03
	// outPacketSize and inPacketSize are the mean packet sizes: uploads
	// out, mostly acknowledgements in.
	outPacketSize = 540
	inPacketSize  = 110
)

// The fleet's network: every normal peer is inside ExpectedCIDR.
var (
	// ExpectedCIDR holds every remote address a healthy scanner talks to.
	ExpectedCIDR = netip.MustParsePrefix("10.0.0.0/8")
	// UpdateServer is the fleet's software update and time server.
	UpdateServer = netip.MustParseAddrPort("10.255.0.20:443")
	// ListeningTCP and ListeningUDP are the ports every scanner listens on:
	// SSH and its local web console; DHCP and NTP.
	ListeningTCP = []uint16{22, 8080}
	ListeningUDP = []uint16{68, 123}
)

const iface = "eth0"

// DailyCurve is the mean bytes out of a scanner in a 5-minute interval at
// a local time of day (in hours, 0 to 24): low at night, a plateau during
// the day, and peaks of PeakBytesOut at 8:00 and 20:00 when the shifts
// change and card data is uploaded.
func DailyCurve(hour float64) float64 {
	peak := func(center float64) float64 {
		d := math.Abs(hour - center)
		d = math.Min(d, 24-d)
		return math.Exp(-d * d / (2 * peakWidthHours * peakWidthHours))
	}
	plateau := math.Exp(-(hour - 14) * (hour - 14) / 32)
	return nightBytesOut + dayBytesOut*plateau + peakAmplitude*(peak(8)+peak(20))
}

// peakAmplitude makes DailyCurve(8) equal PeakBytesOut.
var peakAmplitude = PeakBytesOut - nightBytesOut - dayBytesOut*math.Exp(-36.0/32)

// Condition is what shapes the report of one thing in one interval.
type Condition struct {
	// Time is when the report is made: the interval's start plus the
	// thing's fixed phase. The report id is Time in epoch milliseconds.
	Time time.Time
	// Offline is set during a network outage of the thing: it makes no
	// report.
	Offline bool
	// Silent is set during an outage burst: the report is kept and sent
	// when the burst ends.
	Silent bool
	// Reboot is set when the thing rebooted during the interval: its
	// traffic is near zero.
	Reboot bool
	// Incidents are the incidents active at Time.
	Incidents []Incident
}

// Condition returns what shapes the report of thing i in the interval that
// holds t.
func (f *Fleet) Condition(i int, t time.Time) Condition {
	k := f.slotOf(t)
	c := Condition{Time: f.slotStart(k).Add(f.things[i].phase)}
	c.Offline = f.offline(i, c.Time)
	perSlot := f.opts.RebootRate * float64(f.opts.Interval) / float64(day)
	c.Reboot = f.rng(streamReboot, uint64(i), uint64(k)).Float64() < perSlot
	for _, in := range f.eventsOf(i, c.Time) {
		if in.Kind == OutageBurst {
			c.Silent = true
			continue
		}
		c.Incidents = append(c.Incidents, in)
	}
	return c
}

// offline reports whether thing i has lost its network at t. Outages are
// drawn per thing and day and last 15 minutes to 3 hours.
func (f *Fleet) offline(i int, t time.Time) bool {
	if f.opts.OutageRate == 0 {
		return false
	}
	d := dayOf(t)
	for _, dd := range []int64{d - 1, d} {
		r := f.rng(streamOutage, uint64(i), uint64(dd))
		happens := r.Float64() < f.opts.OutageRate
		start := dayStart(dd).Add(between(r, 0, day))
		end := start.Add(between(r, 15*time.Minute, 3*time.Hour))
		if happens && !t.Before(start) && t.Before(end) {
			return true
		}
	}
	return false
}

// ReportAt returns the report thing i makes in the interval that holds t,
// or nil when it is offline. A report held back by an outage burst is
// returned all the same: ReportsAt says when it is sent.
func (f *Fleet) ReportAt(i int, t time.Time) *proto.Report {
	c := f.Condition(i, t)
	if c.Offline {
		return nil
	}
	return f.build(i, c)
}

// ReportsAt returns the reports thing i sends in the interval that holds
// t, in order: none while offline or silent; after an outage burst, the
// reports it kept and then its own; else its own.
func (f *Fleet) ReportsAt(i int, t time.Time) []*proto.Report {
	c := f.Condition(i, t)
	if c.Offline || c.Silent {
		return nil
	}
	var out []*proto.Report
	for _, kept := range f.kept(i, f.slotOf(t)) {
		out = append(out, f.build(i, kept))
	}
	return append(out, f.build(i, c))
}

// maxKept bounds how far back a thing looks for reports kept during an
// outage burst.
const maxKept = 2 * day

// kept returns the conditions of the reports thing i kept in the outage
// burst that ends just before interval k, oldest first.
func (f *Fleet) kept(i int, k int64) []Condition {
	var out []Condition
	limit := int64(maxKept / f.opts.Interval)
	for j := k - 1; j >= k-limit; j-- {
		if !f.silent(i, f.slotStart(j).Add(f.things[i].phase)) {
			break
		}
		if c := f.Condition(i, f.slotStart(j)); !c.Offline {
			out = append(out, c)
		}
	}
	for a, b := 0, len(out)-1; a < b; a, b = a+1, b-1 {
		out[a], out[b] = out[b], out[a]
	}
	return out
}

// sample is a report being built.
type sample struct {
	bytesIn, bytesOut float64
	tcpPorts          []uint16
	conns             []proto.Connection
}

// build makes the report of thing i under condition c.
func (f *Fleet) build(i int, c Condition) *proto.Report {
	r := f.rng(streamTraffic, uint64(i), uint64(f.slotOf(c.Time)))
	s := f.baseline(i, c, r)
	for _, in := range c.Incidents {
		s.apply(in, r)
	}
	return s.report(c.Time.UnixMilli())
}

// baseline is the healthy scanner: traffic on the daily curve of its
// city's local time with noise, its listening ports, and its connections to
// the factory server and, now and then, the update server.
func (f *Fleet) baseline(i int, c Condition, r *rand.Rand) *sample {
	th := f.things[i]
	local := c.Time.Add(Cities[th.city].Offset)
	hour := float64(local.Hour()) + float64(local.Minute())/60 + float64(local.Second())/3600
	s := &sample{tcpPorts: ListeningTCP}
	s.bytesOut = math.Min(DailyCurve(hour)*jitter(r, Noise), MaxBytesOut)
	s.bytesIn = (0.22*s.bytesOut + 300) * jitter(r, Noise)
	if c.Reboot {
		s.bytesOut *= rebootFraction
		s.bytesIn *= rebootFraction
	}
	port := f.ephemeralPort(i, c.Time)
	s.conns = []proto.Connection{{RemoteAddr: f.factoryServer(th.factory), LocalPort: port, LocalInterface: iface}}
	if r.Float64() < 0.25 {
		s.conns = append(s.conns, proto.Connection{RemoteAddr: UpdateServer, LocalPort: port + 1, LocalInterface: iface})
	}
	return s
}

// factoryServer is the address of the server of factory fi, in
// 10.{city}.0.0/16.
func (f *Fleet) factoryServer(fi int) netip.AddrPort {
	fac := f.factories[fi]
	ip := netip.AddrFrom4([4]byte{10, byte(fac.city + 1), byte(fac.number >> 8), byte(fac.number)})
	return netip.AddrPortFrom(ip, 443)
}

// ephemeralPort is the local port of thing i's connections on the day of
// t.
func (f *Fleet) ephemeralPort(i int, t time.Time) uint16 {
	return uint16(32768 + f.rng(streamPorts, uint64(i), uint64(dayOf(t))).IntN(28000))
}

// apply adds an incident's effect to the sample.
func (s *sample) apply(in Incident, r *rand.Rand) {
	switch in.Kind {
	case DDoS, Exfiltration:
		s.bytesOut *= in.Factor
		if in.Kind == DDoS {
			s.bytesIn *= 1 + in.Factor/10
		}
	case SpamRelay:
		s.spam(in.Connections, r)
	case CommandAndControl:
		s.conns = append(s.conns, proto.Connection{RemoteAddr: in.Remote, LocalPort: uint16(49152 + r.IntN(16000)), LocalInterface: iface})
		s.bytesOut += 400
		s.bytesIn += 300
	case Backdoor:
		s.tcpPorts = append(append([]uint16(nil), s.tcpPorts...), in.Port)
	}
}

// spam adds n connections to mail servers at port 25, drawn afresh in
// each interval from two documentation networks, and their traffic.
func (s *sample) spam(n int, r *rand.Rand) {
	for range n {
		ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + r.IntN(254))})
		if r.IntN(2) == 0 {
			ip = netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + r.IntN(254))})
		}
		s.conns = append(s.conns, proto.Connection{RemoteAddr: netip.AddrPortFrom(ip, 25), LocalPort: uint16(49152 + r.IntN(16000)), LocalInterface: iface})
	}
	s.bytesOut += float64(n) * 1800
	s.bytesIn += float64(n) * 600
}

// report encodes the sample as a Device Defender report.
func (s *sample) report(id int64) *proto.Report {
	out, in := frames(s.bytesOut), frames(s.bytesIn)
	return &proto.Report{
		Header: proto.Header{ReportID: id, Version: proto.CurrentVersion},
		Metrics: &proto.Metrics{
			ListeningTCPPorts: ports(s.tcpPorts),
			ListeningUDPPorts: ports(ListeningUDP),
			NetworkStats: &proto.NetworkStats{
				BytesIn: proto.Count(in), BytesOut: proto.Count(out),
				PacketsIn: proto.Count(packets(in, inPacketSize)), PacketsOut: proto.Count(packets(out, outPacketSize)),
			},
			TCPConnections: &proto.TCPConnections{EstablishedConnections: &proto.EstablishedConnections{
				Connections: s.conns, Total: proto.Count(uint64(len(s.conns))),
			}},
		},
	}
}

func ports(list []uint16) *proto.PortList {
	out := make([]proto.Port, len(list))
	for i, p := range list {
		out[i] = proto.Port{Port: p, Interface: iface}
	}
	return &proto.PortList{Ports: out, Total: proto.Count(uint64(len(out)))}
}

// minFrame is the size of the smallest Ethernet frame.
const minFrame = 64

// frames rounds traffic to whole bytes, at least one minimal frame.
func frames(bytes float64) uint64 {
	return max(uint64(math.Round(bytes)), minFrame)
}

// packets is the packet count of bytes at a mean packet size, rounded up.
func packets(bytes, size uint64) uint64 {
	return (bytes + size - 1) / size
}
