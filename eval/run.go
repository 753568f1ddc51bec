package eval

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/proto"
	"github.com/vigil-iot/vigil/sim"
)

// Defaults of Options.
const (
	// DefaultTickInterval is the simulated time between two ticks of an
	// engine.
	DefaultTickInterval = 30 * time.Second
	// reportInterval is the fleet's report interval.
	reportInterval = sim.DefaultInterval
)

// Options configures a replay.
type Options struct {
	// Workers is the number of goroutines that build reports; 0 means
	// GOMAXPROCS.
	Workers int
	// TickInterval is the simulated time between ticks; 0 means
	// DefaultTickInterval.
	TickInterval time.Duration
	// Progress, when set, is called with the simulated time at the start
	// of each day.
	Progress func(time.Time)
}

// Alarm is an in-alarm event of a replay.
type Alarm struct {
	Thing    string
	Behavior string
	// Time is the event's time: the report's, or the end of the window
	// the datapoint stands for.
	Time time.Time
}

// Replayed is what a replay observed and raised.
type Replayed struct {
	// Alarms holds the in-alarm events of each setting, in the order of
	// the settings.
	Alarms [][]Alarm
	// Reports is the number of reports observed; Late the number of
	// those that were kept during an outage burst and sent after it.
	Reports, Late int
}

// Replay drives one engine per setting with the reports of every thing of
// the fleet, interval after interval in the order the things send them, as
// `vigil serve --time-source report` does without the broker: each report
// is observed at its own time, and the engine ticks every TickInterval of
// the latest report time.
func Replay(ctx context.Context, f *sim.Fleet, settings []Setting, o Options) (Replayed, error) {
	o.Workers = cmp.Or(o.Workers, runtime.GOMAXPROCS(0))
	o.TickInterval = cmp.Or(o.TickInterval, DefaultTickInterval)
	var out Replayed
	drivers, err := newDrivers(f, settings, o.TickInterval)
	if err != nil {
		return out, err
	}
	batches := make(chan []sent, 4)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go produce(ctx, f, o, batches)
	for b := range batches {
		feedAll(drivers, b)
		out.count(b)
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	for _, d := range drivers {
		d.finish(f.End())
		out.Alarms = append(out.Alarms, d.alarms)
	}
	return out, nil
}

// count adds a batch to the report counts.
func (r *Replayed) count(b []sent) {
	r.Reports += len(b)
	for _, s := range b {
		if s.send.Sub(s.at) >= reportInterval {
			r.Late++
		}
	}
}

// sent is a report as its thing sends it: when it goes out, the time it
// carries, and its datapoints.
type sent struct {
	thing int
	send  time.Time
	at    time.Time
	dps   []detector.Datapoint
}

// produce builds the reports of each interval, the things split among the
// workers, and sends them in send order, one batch per interval.
func produce(ctx context.Context, f *sim.Fleet, o Options, out chan<- []sent) {
	defer close(out)
	start, end := f.Options().Start, f.End()
	for t := start; t.Before(end); t = t.Add(reportInterval) {
		if o.Progress != nil && t.Sub(start)%day == 0 {
			o.Progress(t)
		}
		select {
		case out <- interval(f, t, end, o.Workers):
		case <-ctx.Done():
			return
		}
	}
}

// interval builds the reports the things send in the interval that begins
// at t, in send order.
func interval(f *sim.Fleet, t, end time.Time, workers int) []sent {
	parts := make([][]sent, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < f.Len(); i += workers {
				parts[w] = appendReports(parts[w], f, i, t, end)
			}
		})
	}
	wg.Wait()
	all := slices.Concat(parts...)
	slices.SortStableFunc(all, func(a, b sent) int {
		return cmp.Or(a.send.Compare(b.send), cmp.Compare(a.thing, b.thing), a.at.Compare(b.at))
	})
	return all
}

// appendReports appends the reports thing i sends in the interval that
// holds t and that were made before end. All go out with the thing's own
// report, the last one.
func appendReports(out []sent, f *sim.Fleet, i int, t, end time.Time) []sent {
	reports := f.ReportsAt(i, t)
	if len(reports) == 0 {
		return out
	}
	send := reportTime(reports[len(reports)-1])
	for _, r := range reports {
		if at := reportTime(r); at.Before(end) {
			out = append(out, sent{thing: i, send: send, at: at, dps: detector.Datapoints(r)})
		}
	}
	return out
}

func reportTime(r *proto.Report) time.Time { return time.UnixMilli(r.Header.ReportID).UTC() }

// feedAll hands a batch to every driver, each engine in its own goroutine.
// The datapoints are shared and only read.
func feedAll(drivers []*driver, b []sent) {
	var wg sync.WaitGroup
	for _, d := range drivers {
		wg.Go(func() { d.feed(b) })
	}
	wg.Wait()
}

// driver owns the engine of one setting and plays the server's part.
type driver struct {
	eng      *detector.Engine
	names    []string   // thing names, by index
	profiles [][]string // the profiles that cover each thing
	tick     time.Duration
	clock    time.Time // the latest report time
	nextTick time.Time
	alarms   []Alarm
}

// newDrivers makes one engine per setting, with its profiles set.
func newDrivers(f *sim.Fleet, settings []Setting, tick time.Duration) ([]*driver, error) {
	things, cities := f.Things(), citiesOf(f)
	start := f.Options().Start
	out := make([]*driver, len(settings))
	for n, s := range settings {
		d := &driver{eng: detector.New(detector.Options{Lookup: detector.DeviceMetricsOnly, NewViolationID: counter()}),
			tick: tick, nextTick: start.Add(tick)}
		for _, p := range s.profiles(cities) {
			if _, err := d.eng.SetProfile(start, p); err != nil {
				return nil, fmt.Errorf("setting %s: %w", s.Name, err)
			}
		}
		for _, th := range things {
			d.names = append(d.names, th.Name)
			d.profiles = append(d.profiles, coverage(s, th))
		}
		out[n] = d
	}
	return out, nil
}

// coverage returns the profiles of setting s that cover thing th.
func coverage(s Setting, th sim.Thing) []string {
	if s.PerCity {
		return []string{s.Name + "-" + th.City}
	}
	return []string{s.Name}
}

// citiesOf lists the fleet's city groups.
func citiesOf(f *sim.Fleet) []string {
	var out []string
	for _, g := range f.Groups() {
		if g.Parent == "" {
			out = append(out, g.Name)
		}
	}
	return out
}

// counter returns a maker of short, unique violation ids.
func counter() func() string {
	n := 0
	return func() string { n++; return strconv.Itoa(n) }
}

// feed observes a batch of reports, ticking as the send time passes each
// tick.
func (d *driver) feed(b []sent) {
	for _, s := range b {
		if !s.send.Before(d.nextTick) && !d.clock.IsZero() {
			d.record(d.eng.Tick(d.clock))
			d.nextTick = s.send.Truncate(d.tick).Add(d.tick)
		}
		if s.at.After(d.clock) {
			d.clock = s.at
		}
		d.record(d.eng.Observe(s.at, d.names[s.thing], d.profiles[s.thing], s.dps))
	}
}

// finish ticks past the end, so that the last windows are evaluated.
func (d *driver) finish(end time.Time) {
	d.record(d.eng.Tick(end.Add(reportInterval)))
}

func (d *driver) record(events []detector.Event) {
	for _, ev := range events {
		if ev.Type == proto.InAlarm {
			d.alarms = append(d.alarms, Alarm{Thing: ev.Thing, Behavior: ev.Behavior.Name, Time: ev.Time})
		}
	}
}
