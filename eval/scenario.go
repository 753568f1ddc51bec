package eval

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vigil-iot/vigil/sim"
)

// Defaults of Scenario.
const (
	DefaultDevices = 2000
	DefaultCities  = 3
	DefaultDays    = 7
	// DefaultPerKind is the number of incidents of each kind.
	DefaultPerKind = 40
	// DefaultBursts is the number of outage bursts, each of one factory.
	DefaultBursts = 40
	// DefaultSeed selects the fleet and the events of the reference run.
	DefaultSeed = 20250303
)

// DefaultStart is the simulated time of the first report of the reference
// run: a Monday, midnight UTC.
var DefaultStart = time.Date(2025, time.March, 3, 0, 0, 0, 0, time.UTC)

// Scenario is a simulated fleet and the events injected into it. The same
// Scenario gives the same reports and the same events.
type Scenario struct {
	// Seed selects the fleet's draws (traffic, reboots, outages) and the
	// events' times, things and parameters; 0 means DefaultSeed.
	Seed uint64
	// Devices and Cities shape the fleet; 0 means DefaultDevices and
	// DefaultCities.
	Devices, Cities int
	// Days is the simulated span; 0 means DefaultDays. The first day has
	// no event.
	Days int
	// PerKind is the number of incidents of each kind; 0 means
	// DefaultPerKind, a negative value none.
	PerKind int
	// Bursts is the number of outage bursts; 0 means DefaultBursts, a
	// negative value none.
	Bursts int
	// Start is the time of the first report; zero means DefaultStart.
	Start time.Time
}

func (s Scenario) withDefaults() Scenario {
	s.Seed = orDefault(s.Seed, DefaultSeed)
	s.Devices = orDefault(s.Devices, DefaultDevices)
	s.Cities = orDefault(s.Cities, DefaultCities)
	s.Days = orDefault(s.Days, DefaultDays)
	s.PerKind = max(orDefault(s.PerKind, DefaultPerKind), 0)
	s.Bursts = max(orDefault(s.Bursts, DefaultBursts), 0)
	if s.Start.IsZero() {
		s.Start = DefaultStart
	}
	s.Start = s.Start.UTC()
	return s
}

func orDefault[T int | uint64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// End is the time at which the scenario stops.
func (s Scenario) End() time.Time {
	s = s.withDefaults()
	return s.Start.Add(time.Duration(s.Days) * day)
}

// DeviceDays is the scenario's exposure: devices times days.
func (s Scenario) DeviceDays() float64 {
	s = s.withDefaults()
	return float64(s.Devices * s.Days)
}

const day = 24 * time.Hour

// lengths bounds the duration of the incidents of each kind; a backdoor
// lasts until the end of its UTC day instead.
var lengths = map[sim.Kind][2]time.Duration{
	sim.DDoS:              {30 * time.Minute, 4 * time.Hour},
	sim.SpamRelay:         {time.Hour, 6 * time.Hour},
	sim.CommandAndControl: {time.Hour, 12 * time.Hour},
	sim.Exfiltration:      {6 * time.Hour, 24 * time.Hour},
	sim.OutageBurst:       {10 * time.Minute, 30 * time.Minute},
}

// incidentKinds are the kinds of incidents injected, in the order they
// are drawn.
var incidentKinds = []sim.Kind{sim.DDoS, sim.SpamRelay, sim.CommandAndControl, sim.Backdoor, sim.Exfiltration}

// Fleet builds the scenario's fleet, with its events given explicitly and
// no generated ones.
func (s Scenario) Fleet() (*sim.Fleet, error) {
	s = s.withDefaults()
	if s.Days < 2 {
		return nil, fmt.Errorf("scenario: %d days leave no day for events after the first", s.Days)
	}
	layout, err := sim.New(sim.Options{Devices: s.Devices, Cities: s.Cities, Seed: s.Seed, Start: s.Start})
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	events, err := s.events(layout)
	if err != nil {
		return nil, err
	}
	f, err := sim.New(sim.Options{Devices: s.Devices, Cities: s.Cities, Seed: s.Seed, Start: s.Start,
		Duration: s.End().Sub(s.Start), Incidents: events, ProgressInterval: -1})
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return f, nil
}

// events draws the incidents, each on its own thing, and the outage
// bursts, each on one factory, at times after the first day.
func (s Scenario) events(f *sim.Fleet) ([]sim.Incident, error) {
	n := s.PerKind * len(incidentKinds)
	if n > f.Len() {
		return nil, fmt.Errorf("scenario: %d incidents need as many things, the fleet has %d", n, f.Len())
	}
	r := rand.New(rand.NewPCG(s.Seed, 0x6576616c)) // "eval"
	things := f.Things()
	order := r.Perm(len(things))
	var out []sim.Incident
	for k, kind := range incidentKinds {
		for j := range s.PerKind {
			start, end := s.span(r, kind)
			out = append(out, sim.Incident{Kind: kind, Thing: things[order[k*s.PerKind+j]].Name, Start: start, End: end})
		}
	}
	factories := factoriesOf(f)
	for range s.Bursts {
		start, end := s.span(r, sim.OutageBurst)
		out = append(out, sim.Incident{Kind: sim.OutageBurst, Group: factories[r.IntN(len(factories))], Start: start, End: end})
	}
	return out, nil
}

// span draws when an event of the kind starts and ends: within the days
// after the first, whole minutes, ending by the end of the scenario.
func (s Scenario) span(r *rand.Rand, kind sim.Kind) (start, end time.Time) {
	from := s.Start.Add(day)
	if kind == sim.Backdoor {
		d := time.Duration(r.IntN(s.Days-1)) * day
		start = from.Add(d).Add(minutes(r, 0, day-time.Hour))
		return start, from.Add(d + day)
	}
	lo, hi := lengths[kind][0], lengths[kind][1]
	length := minutes(r, lo, hi)
	start = from.Add(minutes(r, 0, s.End().Sub(from)-length))
	return start, start.Add(length)
}

// minutes draws a duration in [lo, hi), in whole minutes.
func minutes(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64((hi-lo)/time.Minute)))*time.Minute
}

// factoriesOf lists the fleet's factory groups.
func factoriesOf(f *sim.Fleet) []string {
	var out []string
	for _, g := range f.Groups() {
		if g.Parent != "" {
			out = append(out, g.Name)
		}
	}
	return slices.Clip(out)
}
