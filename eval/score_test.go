package eval

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/sim"
)

// at is a time on the test day.
func at(hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return DefaultStart.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
}

func event(kind sim.Kind, thing, from, to string) sim.Incident {
	return sim.Incident{Kind: kind, Thing: thing, Start: at(from), End: at(to)}
}

func alarm(thing, hhmm string) Alarm { return Alarm{Thing: thing, Behavior: "b", Time: at(hhmm)} }

// TestJudge checks each rule of the scoring on one event and one alarm.
func TestJudge(t *testing.T) {
	ddos := event(sim.DDoS, "a", "10:00", "11:00")
	burst := event(sim.OutageBurst, "c", "12:00", "12:20")
	tests := []struct {
		name                     string
		alarms                   []Alarm
		detected                 int
		delay                    time.Duration
		falseAlarms, burstAlarms int
	}{
		{name: "during the incident", alarms: []Alarm{alarm("a", "10:07")}, detected: 1, delay: 7 * time.Minute},
		{name: "at its start", alarms: []Alarm{alarm("a", "10:00")}, detected: 1},
		// The tolerance covers windows that end after the incident and
		// alarms that need a few datapoints.
		{name: "at its end plus the tolerance", alarms: []Alarm{alarm("a", "11:30")}, detected: 1, delay: 90 * time.Minute},
		{name: "after the tolerance", alarms: []Alarm{alarm("a", "11:31")}, falseAlarms: 1},
		{name: "before its start", alarms: []Alarm{alarm("a", "09:59")}, falseAlarms: 1},
		{name: "on another thing", alarms: []Alarm{alarm("b", "10:07")}, falseAlarms: 1},
		{name: "the first alarm counts", alarms: []Alarm{alarm("a", "10:40"), alarm("a", "10:20")}, detected: 1, delay: 20 * time.Minute},
		{name: "during a burst", alarms: []Alarm{alarm("c", "12:10")}, falseAlarms: 1, burstAlarms: 1},
		{name: "just after a burst", alarms: []Alarm{alarm("c", "12:50")}, falseAlarms: 1, burstAlarms: 1},
		{name: "long after a burst", alarms: []Alarm{alarm("c", "12:51")}, falseAlarms: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Judge("x", []sim.Incident{ddos, burst}, tt.alarms, 2000)
			k := s.Kinds[slices.IndexFunc(s.Kinds, func(k KindScore) bool { return k.Kind == sim.DDoS })]
			if k.Incidents != 1 || k.Detected != tt.detected || k.Median() != tt.delay {
				t.Errorf("ddos: %d/%d detected after %v, want %d/1 after %v", k.Detected, k.Incidents, k.Median(), tt.detected, tt.delay)
			}
			if len(k.Missed) != 1-tt.detected {
				t.Errorf("missed %v", k.Missed)
			}
			if s.FalseAlarms != tt.falseAlarms || s.BurstAlarms != tt.burstAlarms {
				t.Errorf("false alarms %d, on bursts %d; want %d and %d", s.FalseAlarms, s.BurstAlarms, tt.falseAlarms, tt.burstAlarms)
			}
			if want := float64(tt.falseAlarms) / 2; s.FalsePer1000() != want {
				t.Errorf("false alarms per 1,000 device-days %v, want %v", s.FalsePer1000(), want)
			}
		})
	}
}

// TestJudgeKinds checks that every incident kind has its line, in the
// order of sim.Kinds, and that outage bursts have none.
func TestJudgeKinds(t *testing.T) {
	s := Judge("x", nil, nil, 1)
	var kinds []sim.Kind
	for _, k := range s.Kinds {
		kinds = append(kinds, k.Kind)
	}
	if want := []sim.Kind{sim.DDoS, sim.SpamRelay, sim.CommandAndControl, sim.Backdoor, sim.Exfiltration}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
}

// TestRank checks the nearest-rank percentiles against values small
// enough to count by hand.
func TestRank(t *testing.T) {
	var delays []time.Duration
	for i := 1; i <= 20; i++ {
		delays = append(delays, time.Duration(i)*time.Minute)
	}
	tests := []struct {
		name   string
		values []time.Duration
		p      int
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		// One value is every percentile.
		{"one", delays[:1], 95, time.Minute},
		{"median of 20 is rank 10", delays, 50, 10 * time.Minute},
		{"p95 of 20 is rank 19", delays, 95, 19 * time.Minute},
		// ceil(0.95 x 3) = 3: with few values, p95 is the largest.
		{"p95 of 3 is the largest", delays[:3], 95, 3 * time.Minute},
		{"median of 3 is the middle", delays[:3], 50, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rank(tt.values, tt.p); got != tt.want {
				t.Errorf("rank(%d) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}
