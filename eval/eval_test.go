package eval

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/sim"
)

// tiny is the scenario of the tests: small enough to replay in a second.
var tiny = Scenario{Devices: 200, Days: 2, PerKind: 2, Bursts: 3}

// TestScenarioEvents checks the injected events: their numbers, one thing
// per incident, their spans, and that the seed alone decides them.
func TestScenarioEvents(t *testing.T) {
	f, err := tiny.Fleet()
	if err != nil {
		t.Fatal(err)
	}
	events := f.Options().Incidents
	again, _ := tiny.Fleet()
	if !slices.EqualFunc(events, again.Options().Incidents, func(a, b sim.Incident) bool { return a.Thing == b.Thing && a.Start.Equal(b.Start) }) {
		t.Error("the same scenario gave other events")
	}
	sc := tiny.withDefaults()
	things, counts := map[string]bool{}, map[sim.Kind]int{}
	for _, in := range events {
		counts[in.Kind]++
		if in.Kind.IsIncident() && things[in.Thing] {
			t.Errorf("%s: a second incident on %s", in.Kind, in.Thing)
		}
		things[in.Thing] = true
		if in.Start.Before(sc.Start.Add(day)) || in.End.After(sc.End()) {
			t.Errorf("%s %v..%v is not within the days after the first", in.Kind, in.Start, in.End)
		}
		checkLength(t, in)
	}
	for _, k := range incidentKinds {
		if counts[k] != 2 {
			t.Errorf("%d incidents of %s, want 2", counts[k], k)
		}
	}
	if counts[sim.OutageBurst] != 3 {
		t.Errorf("%d outage bursts, want 3", counts[sim.OutageBurst])
	}
}

func checkLength(t *testing.T, in sim.Incident) {
	t.Helper()
	length := in.End.Sub(in.Start)
	if in.Kind == sim.Backdoor {
		if !in.End.Equal(in.End.Truncate(day)) || length > day || length < time.Hour {
			t.Errorf("backdoor %v..%v does not last until the end of its day", in.Start, in.End)
		}
		return
	}
	if b := lengths[in.Kind]; length < b[0] || length >= b[1] {
		t.Errorf("%s lasts %v, not within %v", in.Kind, length, b)
	}
}

// TestTinyScenario replays the tiny scenario through the recommended
// profile and checks what any reasonable profile gives there: the set
// behaviors catch spam relays, command-and-control peers and backdoors,
// the ceiling catches floods, and neither normal traffic nor outage
// bursts raise an alarm.
func TestTinyScenario(t *testing.T) {
	rec, err := LoadProfile("../cmd/vigil/demo_profile.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), tiny, []Setting{rec}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 200 * 2 * 288; res.Reports < want*98/100 || res.Reports > want {
		t.Errorf("%d reports, want about %d (a few lost to outages of single scanners)", res.Reports, want)
	}
	if res.Late == 0 {
		t.Error("no report was sent late: the outage bursts did not hold any back")
	}
	s := res.Scores[0]
	for _, k := range s.Kinds {
		if k.Kind != sim.Exfiltration && k.Detected != k.Incidents {
			t.Errorf("%s: %d/%d detected; missed %v", k.Kind, k.Detected, k.Incidents, k.Missed)
		}
	}
	if s.FalseAlarms != 0 || s.BurstAlarms != 0 {
		t.Errorf("%d false alarms (%v), %d on outage bursts", s.FalseAlarms, s.FalseByBehavior, s.BurstAlarms)
	}
	var out strings.Builder
	if err := WriteScore(&out, s, rec.About); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## scanner-recommended", "ddos", "2/2", "false alarms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestGridValid checks that every setting of the grid is a valid profile.
func TestGridValid(t *testing.T) {
	f, err := tiny.Fleet()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newDrivers(f, Grid(), DefaultTickInterval); err != nil {
		t.Fatal(err)
	}
}
