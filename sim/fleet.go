package sim

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/vigil-iot/vigil/proto"
)

// Defaults of Options.
const (
	DefaultDevices            = 100
	DefaultCities             = 3
	DefaultScannersPerFactory = 100
	DefaultInterval           = 5 * time.Minute
	// DefaultSpeed runs one 5-minute interval per wall second.
	DefaultSpeed = 300
	// DefaultRebootRate is the chance of a reboot per device-day.
	DefaultRebootRate = 0.2
	// DefaultOutageRate is the chance per device-day that a scanner loses its
	// network for a while (15 minutes to 3 hours) and skips its reports.
	DefaultOutageRate = 0.05
	// DefaultProgressInterval is the wall time between progress lines.
	DefaultProgressInterval = 5 * time.Second
	// DefaultWorkers is the number of goroutines that build and publish
	// reports.
	DefaultWorkers = 4
)

// Options configures a simulated fleet and its run. New(Options{}) gives a
// fleet of DefaultDevices scanners in DefaultCities cities.
type Options struct {
	// Devices is the number of scanners; 0 means DefaultDevices.
	Devices int
	// Cities is the number of cities, at most len(Cities); 0 means
	// DefaultCities.
	Cities int
	// ScannersPerFactory is the number of doors of a factory; a city's last
	// factory may have fewer. 0 means DefaultScannersPerFactory.
	ScannersPerFactory int
	// Seed selects the fleet's random draws: the same seed gives the same
	// reports, incidents and outages.
	Seed uint64
	// Interval is the time between two reports of a scanner; 0 means
	// DefaultInterval.
	Interval time.Duration

	// Start is the simulated time of the first report; zero means the
	// current time minus Replay.
	Start time.Time
	// Replay is the simulated span, from Start, that Run publishes as fast
	// as the publisher takes it, before it paces reports at Speed.
	Replay time.Duration
	// Duration is the simulated span Run covers from Start, replay
	// included; 0 means until its context ends.
	Duration time.Duration
	// Speed is the number of simulated seconds per wall second after the
	// replay; 0 means DefaultSpeed.
	Speed float64

	// Format is the encoding of the reports; 0 means JSON.
	Format proto.Format
	// Root is the topic root, proto.RootAWS or proto.RootVigil; "" means
	// proto.RootAWS.
	Root string

	// Incidents are injected as given, in addition to the generated ones.
	Incidents []Incident
	// IncidentRate is the number of generated incidents of each kind per
	// 1,000 device-days; 0 generates none.
	IncidentRate float64
	// RebootRate is the chance of a reboot per device-day; 0 means
	// DefaultRebootRate, a negative value means no reboots.
	RebootRate float64
	// OutageRate is the chance per device-day of a network outage of one
	// scanner; 0 means DefaultOutageRate, a negative value means none.
	OutageRate float64

	// Workers is the number of goroutines that build and publish reports;
	// 0 means DefaultWorkers.
	Workers int
	// Truth receives the ground truth as JSON lines: every incident and
	// outage burst, as the run reaches it. Nil writes none.
	Truth io.Writer
	// ProgressInterval is the wall time between progress lines; 0 means
	// DefaultProgressInterval, a negative value means no progress lines.
	ProgressInterval time.Duration
	// Logger receives the progress lines.
	Logger zerolog.Logger
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

// City is a city of the fleet: its name, which prefixes its things and
// groups, and its standard-time offset from UTC.
type City struct {
	Name   string
	Offset time.Duration
}

// Cities lists the cities a fleet is spread over, in order: a fleet of n
// cities uses the first n. Offsets are standard time; daylight saving time
// is not modelled.
var Cities = []City{
	{"lyon", 1 * time.Hour},
	{"chicago", -6 * time.Hour},
	{"osaka", 9 * time.Hour},
	{"sao-paulo", -3 * time.Hour},
	{"pune", 5*time.Hour + 30*time.Minute},
	{"stuttgart", 1 * time.Hour},
	{"monterrey", -6 * time.Hour},
	{"shenzhen", 8 * time.Hour},
	{"warsaw", 1 * time.Hour},
	{"sydney", 10 * time.Hour},
	{"johannesburg", 2 * time.Hour},
	{"toronto", -5 * time.Hour},
}

// Thing is one scanner: its thing name and the groups it belongs to.
type Thing struct {
	// Name is the thing name, such as "lyon-f02-door-013".
	Name string
	// City is the city's group name ("lyon"); Factory is the factory's
	// group name ("lyon-f02"), a child group of the city's.
	City    string
	Factory string
}

// Group is a thing group of the fleet's hierarchy.
type Group struct {
	// Name is the group name; Parent the parent group's, or "" for a city.
	Name   string
	Parent string
}

// Fleet is a simulated fleet of ID-card scanners. Its model methods
// (ReportAt, ReportsAt, Condition, Incidents) are pure functions of the
// seed, the thing and the time, and are safe for concurrent use.
type Fleet struct {
	opts   Options
	things []scanner
	groups []Group
	// factories holds the index range of each factory's things.
	factories []factory
	// byName maps thing names to indexes.
	byName map[string]int
	// given holds the incidents of Options.Incidents by thing index.
	given map[int][]Incident
	// stats counts what Run has done.
	stats runStats
}

// scanner is a thing and what the model keeps fixed about it.
type scanner struct {
	Thing
	city    int // index in Cities
	factory int // index in Fleet.factories
	door    int // 1-based within the factory
	// phase is when, within each interval, the scanner reports.
	phase time.Duration
	// topic is the report topic.
	topic string
}

// factory is one factory group and the things in it, [first, first+n).
type factory struct {
	name     string
	city     int
	number   int // 1-based within the city
	first, n int
}

// New builds a fleet from opts, filling in the defaults.
func New(opts Options) (*Fleet, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	f := &Fleet{opts: opts, byName: make(map[string]int, opts.Devices)}
	f.layout()
	if err := f.index(opts.Incidents); err != nil {
		return nil, err
	}
	return f, nil
}

func withDefaults(o Options) (Options, error) {
	o.Devices = orDefault(o.Devices, DefaultDevices)
	o.Cities = orDefault(o.Cities, DefaultCities)
	o.ScannersPerFactory = orDefault(o.ScannersPerFactory, DefaultScannersPerFactory)
	o.Workers = orDefault(o.Workers, DefaultWorkers)
	o.Interval = orDefault(o.Interval, DefaultInterval)
	o.Speed = orDefault(o.Speed, DefaultSpeed)
	o.RebootRate = rateOrDefault(o.RebootRate, DefaultRebootRate)
	o.OutageRate = rateOrDefault(o.OutageRate, DefaultOutageRate)
	o.ProgressInterval = orDefault(o.ProgressInterval, DefaultProgressInterval)
	o.Format = orDefault(o.Format, proto.JSON)
	if o.Root == "" {
		o.Root = proto.RootAWS
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Start.IsZero() {
		o.Start = o.Now().Add(-o.Replay)
	}
	o.Start = o.Start.UTC()
	return o, validate(o)
}

func orDefault[T int | float64 | time.Duration | proto.Format](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// rateOrDefault maps 0 to the default and a negative rate to none.
func rateOrDefault(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func validate(o Options) error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.Devices > 0, "devices: %d is not positive", o.Devices)
	check(o.Cities > 0 && o.Cities <= len(Cities), "cities: %d is not within 1..%d", o.Cities, len(Cities))
	check(o.ScannersPerFactory > 0, "scanners per factory: %d is not positive", o.ScannersPerFactory)
	check(o.Interval >= time.Second, "interval: %v is shorter than a second", o.Interval)
	check(o.Speed > 0, "speed: %v is not positive", o.Speed)
	check(o.Replay >= 0 && o.Duration >= 0, "replay and duration must not be negative")
	check(o.IncidentRate >= 0, "incident rate: %v is negative", o.IncidentRate)
	check(o.Workers > 0, "workers: %d is not positive", o.Workers)
	check(o.Root == proto.RootAWS || o.Root == proto.RootVigil, "topic root %q is neither %s nor %s", o.Root, proto.RootAWS, proto.RootVigil)
	_, err := proto.ParseFormat(o.Format.String())
	check(err == nil, "format: %v", err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulator options: %w", err)
	}
	return nil
}

// layout spreads the devices over the cities in equal blocks, and each
// city's block over factories of ScannersPerFactory doors.
func (f *Fleet) layout() {
	o := f.opts
	f.things = make([]scanner, 0, o.Devices)
	for c := range o.Cities {
		first, last := c*o.Devices/o.Cities, (c+1)*o.Devices/o.Cities
		if last == first {
			continue
		}
		city := Cities[c].Name
		f.groups = append(f.groups, Group{Name: city})
		perFactory := o.ScannersPerFactory
		nFactories := (last - first + perFactory - 1) / perFactory
		for n := range nFactories {
			size := min(perFactory, last-first-n*perFactory)
			f.addFactory(c, n+1, nFactories, size)
		}
	}
}

// addFactory adds a factory group and its scanners.
func (f *Fleet) addFactory(city, number, count, size int) {
	cityName := Cities[city].Name
	name := fmt.Sprintf("%s-f%0*d", cityName, width(count, 2), number)
	f.groups = append(f.groups, Group{Name: name, Parent: cityName})
	fi := len(f.factories)
	f.factories = append(f.factories, factory{name: name, city: city, number: number, first: len(f.things), n: size})
	for door := 1; door <= size; door++ {
		s := scanner{
			Thing: Thing{Name: fmt.Sprintf("%s-door-%0*d", name, width(f.opts.ScannersPerFactory, 3), door), City: cityName, Factory: name},
			city:  city, factory: fi, door: door,
		}
		s.phase = time.Duration(f.rng(streamThing, uint64(len(f.things)), 0).Int64N(int64(f.opts.Interval/time.Millisecond))) * time.Millisecond
		s.topic = proto.ReportTopic{Root: f.opts.Root, Thing: s.Name, Format: f.opts.Format}.String()
		f.byName[s.Name] = len(f.things)
		f.things = append(f.things, s)
	}
}

// width is the number of digits of n, at least least.
func width(n, least int) int {
	return max(len(fmt.Sprint(n)), least)
}

// Len is the number of things.
func (f *Fleet) Len() int { return len(f.things) }

// Things lists the fleet's things, in index order: the index of a thing in
// this list is the one the model methods take.
func (f *Fleet) Things() []Thing {
	out := make([]Thing, len(f.things))
	for i, s := range f.things {
		out[i] = s.Thing
	}
	return out
}

// Groups lists the thing groups, each parent before its children: a
// caller that creates them in this order always finds the parent there.
func (f *Fleet) Groups() []Group { return append([]Group(nil), f.groups...) }

// Index returns the index of the thing of that name.
func (f *Fleet) Index(name string) (int, bool) {
	i, ok := f.byName[name]
	return i, ok
}

// Topic returns the report topic of thing i.
func (f *Fleet) Topic(i int) string { return f.things[i].topic }

// Options returns the options the fleet runs with, defaults filled in.
func (f *Fleet) Options() Options { return f.opts }

// End is the simulated time at which Run stops, or the zero time when it
// runs until its context ends.
func (f *Fleet) End() time.Time {
	if f.opts.Duration == 0 {
		return time.Time{}
	}
	return f.opts.Start.Add(f.opts.Duration)
}
