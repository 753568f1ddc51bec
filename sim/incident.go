package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// Kind is the kind of an injected event.
type Kind string

// The kinds of injected events. All but OutageBurst are incidents: signs of
// compromise a monitor should flag.
const (
	// DDoS: the scanner floods a target; bytes and packets out surge by
	// Factor (20 to 100).
	DDoS Kind = "ddos"
	// SpamRelay: the scanner relays mail; it holds many connections to new
	// remote addresses on port 25.
	SpamRelay Kind = "spam-relay"
	// CommandAndControl: the scanner keeps a connection to one public
	// address outside the fleet's networks.
	CommandAndControl Kind = "c2"
	// Backdoor: the scanner listens on a new TCP port.
	Backdoor Kind = "backdoor"
	// Exfiltration: the scanner sends Factor (2) times its normal bytes out
	// for many hours.
	Exfiltration Kind = "exfiltration"
	// OutageBurst is not an incident: a group of scanners loses the broker
	// for 10 to 30 minutes, keeps its reports, and sends them all at once
	// when the connection comes back.
	OutageBurst Kind = "outage-burst"
)

// Kinds lists every kind of event.
var Kinds = []Kind{DDoS, SpamRelay, CommandAndControl, Backdoor, Exfiltration, OutageBurst}

// attackKinds are the kinds that are drawn per thing, in the order they
// are drawn; OutageBurst is drawn per factory.
var attackKinds = []Kind{DDoS, SpamRelay, CommandAndControl, Backdoor, Exfiltration}

// IsIncident reports whether events of this kind are signs of compromise.
func (k Kind) IsIncident() bool { return k != OutageBurst }

func (k Kind) valid() bool { return slices.Contains(Kinds, k) }

// spans bounds the duration of the generated events of each kind. None is
// longer than a day, so that the events active at a time were all drawn on
// its day or the day before.
var spans = map[Kind][2]time.Duration{
	DDoS:              {10 * time.Minute, 2 * time.Hour},
	SpamRelay:         {30 * time.Minute, 6 * time.Hour},
	CommandAndControl: {time.Hour, 12 * time.Hour},
	Backdoor:          {2 * time.Hour, day},
	Exfiltration:      {8 * time.Hour, 20 * time.Hour},
	OutageBurst:       {10 * time.Minute, 30 * time.Minute},
}

// Incident is one injected event on one thing: an incident, or an outage
// burst (see Kind). Its effect applies to the reports made at times in
// [Start, End).
type Incident struct {
	Kind  Kind
	Thing string
	// Group is the group the event was given for (a file may name a group
	// instead of a thing), or the factory an outage burst hit.
	Group      string
	Start, End time.Time
	// Factor multiplies the bytes out (DDoS and Exfiltration) and the
	// packets out (DDoS).
	Factor float64
	// Port is the new listening port of a Backdoor.
	Port uint16
	// Remote is the command-and-control server.
	Remote netip.AddrPort
	// Connections is the number of remote mail servers a SpamRelay talks to
	// in each interval.
	Connections int
}

// Active reports whether the event shapes a report made at t.
func (in Incident) Active(t time.Time) bool {
	return !t.Before(in.Start) && t.Before(in.End)
}

// backdoorPorts are the ports a drawn backdoor listens on.
var backdoorPorts = []uint16{31337, 4444, 1337, 6666, 12345}

// c2Ports are the ports of drawn command-and-control servers.
var c2Ports = []uint16{443, 4444, 8443, 6667}

// fill draws the parameters the event does not have yet.
func (in *Incident) fill(r *rand.Rand) {
	switch in.Kind {
	case DDoS:
		if in.Factor == 0 {
			in.Factor = 20 + 80*r.Float64()
		}
	case Exfiltration:
		if in.Factor == 0 {
			in.Factor = 2
		}
	case Backdoor:
		if in.Port == 0 {
			in.Port = backdoorPorts[r.IntN(len(backdoorPorts))]
		}
	case CommandAndControl:
		if !in.Remote.IsValid() {
			in.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + r.IntN(254))}), c2Ports[r.IntN(len(c2Ports))])
		}
	case SpamRelay:
		if in.Connections == 0 {
			in.Connections = 30 + r.IntN(91)
		}
	}
}

// generated returns the incidents drawn for thing i on day d. Every kind
// is drawn, in a fixed order, whether it happens or not, so that the draws
// of one kind do not depend on the rate of another.
func (f *Fleet) generated(i int, d int64) []Incident {
	if f.opts.IncidentRate == 0 {
		return nil
	}
	p := f.opts.IncidentRate / 1000
	r := f.rng(streamIncident, uint64(i), uint64(d))
	var out []Incident
	for k, kind := range attackKinds {
		happens := r.Float64() < p
		start := dayStart(d).Add(between(r, 0, day))
		length := between(r, spans[kind][0], spans[kind][1])
		if !happens {
			continue
		}
		in := Incident{Kind: kind, Thing: f.things[i].Name, Start: start, End: start.Add(length)}
		in.fill(f.rng(streamIncident, mix(uint64(i), uint64(d)), uint64(k)))
		out = append(out, in)
	}
	return out
}

// burst returns the outage burst drawn for factory fi on day d, if any.
// The rate counts device-days, so a factory of n scanners has n times the
// chance of one of them.
func (f *Fleet) burst(fi int, d int64) (Incident, bool) {
	if f.opts.IncidentRate == 0 {
		return Incident{}, false
	}
	fac := f.factories[fi]
	p := f.opts.IncidentRate / 1000 * float64(fac.n)
	r := f.rng(streamBurst, uint64(fi), uint64(d))
	happens := r.Float64() < p
	start := dayStart(d).Add(between(r, 0, day))
	length := between(r, spans[OutageBurst][0], spans[OutageBurst][1])
	return Incident{Kind: OutageBurst, Group: fac.name, Start: start, End: start.Add(length)}, happens
}

// eventsOf returns the events of thing i that are active at t: generated
// incidents and bursts, and given events.
func (f *Fleet) eventsOf(i int, t time.Time) []Incident {
	var out []Incident
	d := dayOf(t)
	for _, dd := range []int64{d - 1, d} {
		for _, in := range f.generated(i, dd) {
			if in.Active(t) {
				out = append(out, in)
			}
		}
		if b, ok := f.burst(f.things[i].factory, dd); ok && b.Active(t) {
			b.Thing = f.things[i].Name
			out = append(out, b)
		}
	}
	for _, in := range f.given[i] {
		if in.Active(t) {
			out = append(out, in)
		}
	}
	return out
}

// silent reports whether an outage burst holds back the report thing i
// makes at t.
func (f *Fleet) silent(i int, t time.Time) bool {
	d := dayOf(t)
	for _, dd := range []int64{d - 1, d} {
		if b, ok := f.burst(f.things[i].factory, dd); ok && b.Active(t) {
			return true
		}
	}
	for _, in := range f.given[i] {
		if in.Kind == OutageBurst && in.Active(t) {
			return true
		}
	}
	return false
}

// index checks the given events, expands those given for a group to each
// of its things, draws their missing parameters and files them by thing.
func (f *Fleet) index(given []Incident) error {
	f.given = map[int][]Incident{}
	for n, in := range given {
		things, err := f.targets(in)
		if err != nil {
			return fmt.Errorf("incident %d (%s): %w", n+1, in.Kind, err)
		}
		in.fill(f.rng(streamGiven, uint64(n), 0))
		for _, i := range things {
			one := in
			one.Thing = f.things[i].Name
			f.given[i] = append(f.given[i], one)
		}
	}
	for i := range f.given {
		slices.SortStableFunc(f.given[i], func(a, b Incident) int { return a.Start.Compare(b.Start) })
	}
	return nil
}

// targets checks a given event and returns the indexes of its things.
func (f *Fleet) targets(in Incident) ([]int, error) {
	switch {
	case !in.Kind.valid():
		return nil, fmt.Errorf("unknown kind %q (want one of %v)", in.Kind, Kinds)
	case in.Start.IsZero() || !in.End.After(in.Start):
		return nil, fmt.Errorf("needs a start before its end")
	case (in.Thing == "") == (in.Group == ""):
		return nil, fmt.Errorf("needs either a thing or a group")
	case in.Thing != "":
		i, ok := f.Index(in.Thing)
		if !ok {
			return nil, fmt.Errorf("no thing %q in the fleet", in.Thing)
		}
		return []int{i}, nil
	}
	var out []int
	for i, s := range f.things {
		if s.City == in.Group || s.Factory == in.Group {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no group %q in the fleet", in.Group)
	}
	return out, nil
}

// Incidents returns every event, incident or outage burst, that is active
// at some time in [from, to), one per thing, ordered by start, thing and
// kind.
func (f *Fleet) Incidents(from, to time.Time) []Incident {
	var out []Incident
	overlaps := func(in Incident) bool { return in.Start.Before(to) && in.End.After(from) }
	for d := dayOf(from) - 1; d <= dayOf(to); d++ {
		out = f.appendDay(out, d, overlaps)
	}
	for _, list := range f.given {
		for _, in := range list {
			if overlaps(in) {
				out = append(out, in)
			}
		}
	}
	slices.SortFunc(out, func(a, b Incident) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Thing, b.Thing), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// appendDay appends the events generated on day d that keep holds.
func (f *Fleet) appendDay(out []Incident, d int64, keep func(Incident) bool) []Incident {
	if f.opts.IncidentRate == 0 {
		return out
	}
	for i := range f.things {
		for _, in := range f.generated(i, d) {
			if keep(in) {
				out = append(out, in)
			}
		}
	}
	for fi, fac := range f.factories {
		b, ok := f.burst(fi, d)
		if !ok || !keep(b) {
			continue
		}
		for i := fac.first; i < fac.first+fac.n; i++ {
			b.Thing = f.things[i].Name
			out = append(out, b)
		}
	}
	return out
}
