package eval

import (
	"slices"
	"time"

	"github.com/vigil-iot/vigil/sim"
)

// Tolerance is how long after an incident's end an alarm on its thing
// still counts as raised by it.
const Tolerance = 30 * time.Minute

// Score is how a setting did against the ground truth.
type Score struct {
	Setting string
	// Kinds holds one line per incident kind, in the order of sim.Kinds.
	Kinds []KindScore
	// Alarms is the number of in-alarm events.
	Alarms int
	// FalseAlarms counts the in-alarm events that no incident of their
	// thing explains: raised outside [start, end+Tolerance] of each.
	FalseAlarms int
	// BurstAlarms counts the false alarms raised on a thing during an
	// outage burst of its factory or within Tolerance after it.
	BurstAlarms int
	// FalseByBehavior counts the false alarms per behavior name.
	FalseByBehavior map[string]int
	// DeviceDays is the exposure the false alarms are counted over.
	DeviceDays float64
}

// FalsePer1000 is the number of false alarms per 1,000 device-days.
func (s Score) FalsePer1000() float64 {
	if s.DeviceDays == 0 {
		return 0
	}
	return float64(s.FalseAlarms) / s.DeviceDays * 1000
}

// KindScore is the detection of the incidents of one kind.
type KindScore struct {
	Kind      sim.Kind
	Incidents int
	Detected  int
	// Delays holds the time to detect of each detected incident, in
	// increasing order: from its start to the first in-alarm event of its
	// thing in [start, end+Tolerance].
	Delays []time.Duration
	// Missed lists the incidents no alarm detected.
	Missed []sim.Incident
}

// Median is the median time to detect, nearest rank; 0 when none was
// detected.
func (k KindScore) Median() time.Duration { return rank(k.Delays, 50) }

// P95 is the 95th percentile of the time to detect, nearest rank; 0 when
// none was detected.
func (k KindScore) P95() time.Duration { return rank(k.Delays, 95) }

// rank returns the value of rank ceil(p/100 x n) of sorted values.
func rank(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	r := (p*len(sorted) + 99) / 100
	return sorted[max(r, 1)-1]
}

// Judge scores the alarms of a setting against the ground truth: events
// lists every incident and outage burst, one per thing, as
// sim.Fleet.Incidents gives them.
func Judge(setting string, events []sim.Incident, alarms []Alarm, deviceDays float64) Score {
	byThing := map[string][]Alarm{}
	for _, a := range alarms {
		byThing[a.Thing] = append(byThing[a.Thing], a)
	}
	for _, list := range byThing {
		slices.SortFunc(list, func(a, b Alarm) int { return a.Time.Compare(b.Time) })
	}
	s := Score{Setting: setting, Alarms: len(alarms), DeviceDays: deviceDays}
	s.Kinds = judgeIncidents(events, byThing)
	s.FalseByBehavior = map[string]int{}
	for _, a := range falseAlarms(events, byThing, false) {
		s.FalseAlarms++
		s.FalseByBehavior[a.Behavior]++
	}
	s.BurstAlarms = len(falseAlarms(events, byThing, true))
	return s
}

// judgeIncidents finds, for each incident, the first alarm of its thing
// within its span.
func judgeIncidents(events []sim.Incident, byThing map[string][]Alarm) []KindScore {
	var out []KindScore
	for _, kind := range sim.Kinds {
		if !kind.IsIncident() {
			continue
		}
		k := KindScore{Kind: kind}
		for _, in := range events {
			if in.Kind != kind {
				continue
			}
			k.Incidents++
			if a, ok := firstWithin(byThing[in.Thing], in); ok {
				k.Detected++
				k.Delays = append(k.Delays, a.Time.Sub(in.Start))
			} else {
				k.Missed = append(k.Missed, in)
			}
		}
		slices.Sort(k.Delays)
		out = append(out, k)
	}
	return out
}

// firstWithin returns the first of the sorted alarms within the event's
// span and tolerance.
func firstWithin(alarms []Alarm, in sim.Incident) (Alarm, bool) {
	for _, a := range alarms {
		if within(a.Time, in) {
			return a, true
		}
	}
	return Alarm{}, false
}

// within reports whether t is in [start, end+Tolerance] of the event.
func within(t time.Time, in sim.Incident) bool {
	return !t.Before(in.Start) && !t.After(in.End.Add(Tolerance))
}

// falseAlarms returns the alarms that no incident of their thing
// explains; with inBursts, only those raised in or just after an outage
// burst of their thing.
func falseAlarms(events []sim.Incident, byThing map[string][]Alarm, inBursts bool) []Alarm {
	incidents, outages := map[string][]sim.Incident{}, map[string][]sim.Incident{}
	for _, in := range events {
		if in.Kind.IsIncident() {
			incidents[in.Thing] = append(incidents[in.Thing], in)
		} else {
			outages[in.Thing] = append(outages[in.Thing], in)
		}
	}
	var out []Alarm
	for thing, alarms := range byThing {
		for _, a := range alarms {
			if !explained(a.Time, incidents[thing]) && (!inBursts || explained(a.Time, outages[thing])) {
				out = append(out, a)
			}
		}
	}
	return out
}

// explained reports whether t falls within the span of one of the events.
func explained(t time.Time, events []sim.Incident) bool {
	return slices.ContainsFunc(events, func(in sim.Incident) bool { return within(t, in) })
}
